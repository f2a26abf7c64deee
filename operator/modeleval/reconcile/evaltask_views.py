"""The EvalTask state machine's views of its world, built from what the API returned.

Pure: Jobs and pods (official-client models) and service groups (dicts) in, the views of
:mod:`modeleval.reconcile.evaltask_state` out. :mod:`modeleval.handlers.evaltask_observe`
reads the objects and calls these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from modeleval.api import TaskState
from modeleval.builders.jobs import GENERATION_ANNOTATION
from modeleval.reconcile.evaltask_state import GroupView, JobView, Phase

POD_DONE = ("Succeeded", "Failed")
LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d[ T][\d:,.]+\s+[A-Z]+\s+[\w.]+:\s*")


def owned_by_uid(obj: Any, uid: str) -> bool:
    """An official-client object has an owner reference to ``uid``."""
    refs = obj.metadata.owner_references or []
    return any(ref.uid == uid for ref in refs)


def group_view(name: str, role: str, raw: Mapping[str, Any] | None) -> GroupView:
    """A target service group (``role`` model or judge) as the state machine sees it."""
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


def terminated(pod: Any) -> tuple[str, Any] | None:
    """(finishedAt, terminated state) of the pod's runner container, when it has ended."""
    for status in (pod.status.container_statuses or []) if pod.status else []:
        for state in (status.state, status.last_state):
            term = state.terminated if state else None
            if term is not None:
                return (str(term.finished_at or ""), term)
    return None


def last_ended_pod(pods: Iterable[Any]) -> tuple[Any, Any] | None:
    """(pod, terminated state) of the pod whose runner container ended last, if any."""
    ended = [(t, pod) for pod in pods if (t := terminated(pod)) is not None]
    if not ended:
        return None
    (_, term), pod = max(ended, key=lambda pair: pair[0][0])
    return pod, term


def pod_failure_message(pod_name: str, term: Any, log_tail: str = "") -> str:
    """``pod X exited with code N (Reason): <last line of the termination message or log>``."""
    line = last_line(term.message or "") or last_line(log_tail)
    reason = f" ({term.reason})" if term.reason and term.reason != "Error" else ""
    last = f": {line}" if line else f"; see kubectl logs {pod_name}"
    return f"pod {pod_name} exited with code {term.exit_code}{reason}{last}"


def last_line(text: str) -> str:
    """The last non-empty line, without a ``<date> <time> LEVEL logger:`` log prefix."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    return LOG_PREFIX.sub("", lines[-1])[:500]


def job_failed(job: Any) -> bool:
    conditions = {cond.type: cond for cond in (job.status.conditions or [])} if job.status else {}
    failed = conditions.get("Failed")
    return failed is not None and failed.status == "True"


def job_view(job: Any, *, pod_failure: str | None = None) -> JobView:
    """A phase Job as the state machine sees it; ``pod_failure``: why its pod failed."""
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
        pod_failure=pod_failure if is_failed else None,
        generation=job_generation(job),
    )


def job_generation(job: Any) -> int | None:
    """The task generation a Job was created for (its annotation), if readable."""
    value = (job.metadata.annotations or {}).get(GENERATION_ANNOTATION)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def stray_pods(pods: Iterable[Any], live_job_uids: set[str]) -> int:
    """Runner pods still running although their Job is gone or going."""
    stray = 0
    for pod in pods:
        if pod.status is not None and pod.status.phase in POD_DONE:
            continue
        owners = {ref.uid for ref in pod.metadata.owner_references or []}
        if not owners & live_job_uids:
            stray += 1
    return stray


def settling(
    *,
    suspend: bool,
    state: TaskState | None,
    jobs: Mapping[Phase, JobView],
    phases: tuple[Phase, ...],
) -> bool:
    """Whether pods of deleted Jobs must be counted before acting.

    Pods of a deleted Job may still run: look before a stop completes and before any Job is
    (re)created once the task has started, so two runners never share a checkpoint."""
    if suspend or state in (TaskState.STOPPING, TaskState.STOPPED):
        return True
    if any(job.deleting for job in jobs.values()):
        return True
    return state is not None and any(p not in jobs for p in phases)
