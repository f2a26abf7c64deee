"""Reading an EvalTask's world from the API into the state machine's views.

Jobs and pods are found by the task label and checked by owner uid, so an operator that
restarted finds exactly the children it made before, whatever it remembers. The views
themselves are built by the pure :mod:`modeleval.reconcile.evaltask_views`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from kubernetes.client.exceptions import ApiException

from modeleval import constants as c
from modeleval import kube
from modeleval.api import EvalTask, ModelEvalServiceGroup, TaskState
from modeleval.builders.evaltask import group_names, short_name
from modeleval.reconcile.evaltask_scores import failures_in_status
from modeleval.reconcile.evaltask_state import GroupView, JobView, Observed, Phase, has_manual, plan
from modeleval.reconcile.evaltask_views import (
    error_budget,
    failed_shards,
    group_view,
    job_view,
    last_pod_failure,
    owned_by_uid,
    settling,
    shard_failure,
    shard_label,
    stray_pods,
    with_shard_budget,
)
from modeleval.settings import SETTINGS

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


@dataclass(frozen=True)
class World:
    """The state machine's input plus the raw objects the handler needs to act."""

    observed: Observed
    groups: Mapping[str, ModelEvalServiceGroup]


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
            views.append(group_view(name, "model", raw))
        if judge_ref is not None and judge_ref.name == name:
            views.append(group_view(name, "judge", raw))
    return tuple(views), parsed


def pod_failure(
    namespace: str, job: str, shards: int = 1, failed: list[int] | None = None
) -> str | None:
    """Why the Job's last pod failed: the pod's own reason (evicted, node shutdown…), or its
    exit code with the termination message, else with its log's last line. For a sharded Job,
    the pod of a shard that exhausted its retries, named ``shard k of n: …``."""
    pods = kube.core().list_namespaced_pod(namespace, label_selector=f"{JOB_NAME_LABEL}={job}")
    prefix = ""
    if shards > 1:
        found = shard_failure(pods.items, shards, failed or [])
        if found is None:
            return None
        failure, index = found
        prefix = shard_label(index, shards)
    else:
        last = last_pod_failure(pods.items)
        if last is None:
            return None
        failure = last
    tail = _log_tail(namespace, failure.pod) if failure.wants_log else ""
    return prefix + failure.message(tail)


def _log_tail(namespace: str, pod: str) -> str:
    """The pod's last log lines when there is no termination message; "" when not allowed."""
    try:
        return str(kube.core().read_namespaced_pod_log(pod, namespace, tail_lines=5) or "")
    except ApiException:
        return ""


def observe_jobs(
    task: EvalTask, uid: str, status: Mapping[str, Any] | None = None
) -> tuple[dict[Phase, JobView], set[str]]:
    """The task's phase Jobs by phase, and the uids of those Jobs. A complete sharded inference
    Job whose shards together failed more items than the task allows is seen as failed."""
    namespace = task.metadata.namespace or ""
    selector = f"{c.LABEL_EVAL_TASK}={short_name(task.metadata.name or '')}"
    listed = kube.batch().list_namespaced_job(namespace, label_selector=selector)
    views: dict[Phase, JobView] = {}
    uids: set[str] = set()
    jobs: list[Any] = list(listed.items)
    for job in jobs:
        phase = (job.metadata.labels or {}).get(c.LABEL_PHASE)
        if phase not in set(Phase) or not owned_by_uid(job, uid):
            continue
        view = job_view(job)
        if view.failed:
            failure = pod_failure(
                job.metadata.namespace, job.metadata.name, view.shards, failed_shards(job)
            )
            view = replace(view, pod_failure=failure)
        elif view.complete and view.shards > 1 and phase == Phase.INFER:
            view = with_shard_budget(view, status or {}, error_budget(task))
        views[Phase(phase)] = view
        if job.metadata.deletion_timestamp is None:
            uids.add(job.metadata.uid)
    return views, uids


def count_stray_pods(task: EvalTask, live_job_uids: set[str]) -> int:
    """Runner pods of the task still running although their Job is gone or going."""
    namespace = task.metadata.namespace or ""
    selector = f"{c.LABEL_EVAL_TASK}={short_name(task.metadata.name or '')}"
    listed = kube.core().list_namespaced_pod(namespace, label_selector=selector)
    return stray_pods(listed.items, live_job_uids)


def observe(task: EvalTask, raw: Mapping[str, Any]) -> World:
    """Everything ``next_step`` needs, read from the API."""
    meta = raw.get("metadata") or {}
    status = raw.get("status") or {}
    state = TaskState(status["state"]) if status.get("state") else None
    jobs, live_uids = observe_jobs(task, meta.get("uid", ""), status)
    groups, parsed = observe_groups(task)
    phases = plan(task.spec, console=SETTINGS.console_url is not None)
    must_count = settling(suspend=task.spec.suspend, state=state, jobs=jobs, phases=phases)
    stray = count_stray_pods(task, live_uids) if must_count else 0
    runner = task.spec.runner
    manual = status.get("manual") or {}
    observed = Observed(
        task=task.metadata.name or "",
        state=state,
        phases=phases,
        suspend=task.spec.suspend,
        jobs=jobs,
        groups=groups,
        stray_pods=stray,
        queue_name=runner.queue_name if runner else None,
        manual=has_manual(task.spec),
        manual_pending=manual.get("pending"),
        score_failures=failures_in_status(status),
    )
    return World(observed=observed, groups=parsed)
