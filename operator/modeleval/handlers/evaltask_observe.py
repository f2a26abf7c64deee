"""Reading an EvalTask's world from the API into the state machine's views.

Jobs and pods are found by the task label and checked by owner uid, so an operator that
restarted finds exactly the children it made before, whatever it remembers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException

from modeleval import constants as c
from modeleval import kube
from modeleval.api import EvalTask, ModelEvalServiceGroup, TaskState
from modeleval.builders.evaltask import group_names, short_name
from modeleval.builders.runner import GENERATION_ANNOTATION
from modeleval.handlers.evaltask_state import GroupView, JobView, Observed, Phase, has_manual, plan

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
POD_DONE = ("Succeeded", "Failed")
LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d[ T][\d:,.]+\s+[A-Z]+\s+[\w.]+:\s*")


@dataclass(frozen=True)
class World:
    """The state machine's input plus the raw objects the handler needs to act."""

    observed: Observed
    groups: Mapping[str, ModelEvalServiceGroup]


def _owned_by(obj: Any, uid: str) -> bool:
    refs = obj.metadata.owner_references or []
    return any(ref.uid == uid for ref in refs)


def _group_view(name: str, role: str, raw: Mapping[str, Any] | None) -> GroupView:
    if raw is None:
        return GroupView(name=name, role=role, found=False)
    status = raw.get("status") or {}
    return GroupView(
        name=name,
        role=role,
        phase=status.get("phase"),
        url=status.get("url"),
        message=status.get("message"),
    )


def observe_groups(
    task: EvalTask,
) -> tuple[tuple[GroupView, ...], dict[str, ModelEvalServiceGroup]]:
    namespace = task.metadata.namespace or ""
    spec = task.spec
    judge_ref = (
        spec.scoring.judge.service_group_ref if spec.scoring and spec.scoring.judge else None
    )
    model_groups = {m.service_group_ref.name for m in spec.models or [] if m.service_group_ref}
    views: list[GroupView] = []
    parsed: dict[str, ModelEvalServiceGroup] = {}
    for name in group_names(spec):
        raw = kube.get_custom(c.SERVICE_GROUP_PLURAL, namespace, name)
        if raw is not None:
            try:
                parsed[name] = ModelEvalServiceGroup.model_validate(raw)
            except ValueError:
                raw = {"status": {"phase": "Failed", "message": "its spec does not validate"}}
        if name in model_groups:
            views.append(_group_view(name, "model", raw))
        if judge_ref is not None and judge_ref.name == name:
            views.append(_group_view(name, "judge", raw))
    return tuple(views), parsed


def _terminated(pod: Any) -> tuple[str, Any] | None:
    """(finishedAt, terminated state) of the pod's runner container, when it has ended."""
    for status in (pod.status.container_statuses or []) if pod.status else []:
        for state in (status.state, status.last_state):
            term = state.terminated if state else None
            if term is not None:
                return (str(term.finished_at or ""), term)
    return None


def pod_failure(namespace: str, job: str) -> str | None:
    """``pod X exited with code N (Reason): <last line of the termination message>``."""
    pods = kube.core().list_namespaced_pod(namespace, label_selector=f"{JOB_NAME_LABEL}={job}")
    items: list[Any] = list(pods.items)
    ended = [(t, pod) for pod in items if (t := _terminated(pod)) is not None]
    if not ended:
        return None
    (_, term), pod = max(ended, key=lambda pair: pair[0][0])
    name = str(pod.metadata.name)
    line = last_line(term.message or "") or last_line(_log_tail(namespace, name))
    reason = f" ({term.reason})" if term.reason and term.reason != "Error" else ""
    last = f": {line}" if line else f"; see kubectl logs {name}"
    return f"pod {name} exited with code {term.exit_code}{reason}{last}"


def last_line(text: str) -> str:
    """The last non-empty line, without a ``<date> <time> LEVEL logger:`` log prefix."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    return LOG_PREFIX.sub("", lines[-1])[:500]


def _log_tail(namespace: str, pod: str) -> str:
    """The pod's last log lines when there is no termination message; "" when not allowed."""
    try:
        return str(kube.core().read_namespaced_pod_log(pod, namespace, tail_lines=5) or "")
    except ApiException:
        return ""


def job_view(job: Any, *, explain: bool = True) -> JobView:
    listed: list[Any] = list(job.status.conditions or []) if job.status else []
    conditions = {cond.type: cond for cond in listed}
    failed: Any = conditions.get("Failed")
    complete: Any = conditions.get("Complete")
    is_failed = failed is not None and failed.status == "True"
    counts = job.status
    started = bool(counts and (counts.active or counts.succeeded or counts.failed or counts.ready))
    return JobView(
        name=job.metadata.name,
        started=started,
        suspended=bool(job.spec.suspend),
        deleting=job.metadata.deletion_timestamp is not None,
        complete=complete is not None and complete.status == "True",
        failed=is_failed,
        reason=failed.reason if is_failed else None,
        detail=failed.message if is_failed else None,
        pod_failure=pod_failure(job.metadata.namespace, job.metadata.name)
        if is_failed and explain
        else None,
        generation=_generation(job),
    )


def _generation(job: Any) -> int | None:
    value = (job.metadata.annotations or {}).get(GENERATION_ANNOTATION)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def observe_jobs(task: EvalTask, uid: str) -> tuple[dict[Phase, JobView], set[str]]:
    """The task's phase Jobs by phase, and the uids of those Jobs."""
    namespace = task.metadata.namespace or ""
    selector = f"{c.LABEL_EVAL_TASK}={short_name(task.metadata.name or '')}"
    listed = kube.batch().list_namespaced_job(namespace, label_selector=selector)
    views: dict[Phase, JobView] = {}
    uids: set[str] = set()
    jobs: list[Any] = list(listed.items)
    for job in jobs:
        phase = (job.metadata.labels or {}).get(c.LABEL_PHASE)
        if phase not in set(Phase) or not _owned_by(job, uid):
            continue
        views[Phase(phase)] = job_view(job)
        if job.metadata.deletion_timestamp is None:
            uids.add(job.metadata.uid)
    return views, uids


def count_stray_pods(task: EvalTask, live_job_uids: set[str]) -> int:
    """Runner pods of the task still running although their Job is gone or going."""
    namespace = task.metadata.namespace or ""
    selector = f"{c.LABEL_EVAL_TASK}={short_name(task.metadata.name or '')}"
    listed = kube.core().list_namespaced_pod(namespace, label_selector=selector)
    pods: list[Any] = list(listed.items)
    stray = 0
    for pod in pods:
        if pod.status is not None and pod.status.phase in POD_DONE:
            continue
        owners = {ref.uid for ref in pod.metadata.owner_references or []}
        if not owners & live_job_uids:
            stray += 1
    return stray


def observe(task: EvalTask, raw: Mapping[str, Any]) -> World:
    """Everything ``next_step`` needs, read from the API."""
    meta = raw.get("metadata") or {}
    status = raw.get("status") or {}
    state = TaskState(status["state"]) if status.get("state") else None
    jobs, live_uids = observe_jobs(task, meta.get("uid", ""))
    groups, parsed = observe_groups(task)
    suspend = task.spec.suspend
    phases = plan(task.spec)
    # Pods of a deleted Job may still run: look before a stop completes and before any Job is
    # (re)created once the task has started, so two runners never share a checkpoint.
    settling = suspend or state in (TaskState.STOPPING, TaskState.STOPPED)
    settling = settling or any(job.deleting for job in jobs.values())
    settling = settling or (state is not None and any(p not in jobs for p in phases))
    stray = count_stray_pods(task, live_uids) if settling else 0
    runner = task.spec.runner
    manual = status.get("manual") or {}
    observed = Observed(
        task=task.metadata.name or "",
        state=state,
        phases=phases,
        suspend=suspend,
        jobs=jobs,
        groups=groups,
        stray_pods=stray,
        queue_name=runner.queue_name if runner else None,
        manual=has_manual(task.spec),
        manual_pending=manual.get("pending"),
    )
    return World(observed=observed, groups=parsed)
