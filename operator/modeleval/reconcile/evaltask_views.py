"""The EvalTask state machine's views of its world, built from what the API returned.

Pure: Jobs and pods (official-client models) and service groups (dicts) in, the views of
:mod:`modeleval.reconcile.evaltask_state` out. :mod:`modeleval.handlers.evaltask_observe`
reads the objects and calls these. A failed runner pod is read as the API's JSON
(:func:`wire`) with the same kubelet readings as model-server pods
(:mod:`modeleval.reconcile.pod_failures`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from modeleval.api import EvalTask, TaskState
from modeleval.api.common import ClientSettings
from modeleval.builders.jobs import GENERATION_ANNOTATION
from modeleval.reconcile.evaltask_state import GroupView, JobView, Phase
from modeleval.reconcile.pod_failures import (
    CONFIG_REASONS,
    IMAGE_PULL_REASONS,
    PLACEHOLDER,
    as_int,
    clean,
    condition,
    containers,
    memory_limit,
    parse_time,
    pod_end,
    telling_line,
)
from modeleval.reconcile.shards import BUDGET_REASON, budget_failure, parse_indexes, pod_index

POD_DONE = ("Succeeded", "Failed")
RUNNER_LINE_LIMIT = 500
EARLIEST = datetime.min.replace(tzinfo=UTC)


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


def wire(obj: Any) -> Any:
    """An official-client object (V1Pod, V1ContainerStateTerminated, …) as the API's JSON:
    camelCase keys, unset fields left out, times as ISO strings; dicts pass through."""
    if isinstance(obj, dict):
        return {key: wire(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [wire(value) for value in obj]
    if isinstance(obj, datetime):
        return obj.isoformat()
    names = getattr(type(obj), "attribute_map", None)
    if isinstance(names, dict):
        out = {}
        for attribute, key in names.items():
            value = getattr(obj, attribute, None)
            if value is not None:
                out[key] = wire(value)
        return out
    return obj


@dataclass(frozen=True)
class RunnerFailure:
    """Why a runner pod failed, as the task's message shows it after its Job's failure."""

    pod: str
    head: str
    """``pod P exited with code 1 (OOMKilled)``, ``pod P was evicted: …``."""
    detail: str = ""
    """What the termination message says (``: <line>``), if it says anything."""
    exit_code: int | None = None
    wants_log: bool = False
    """A container exit without termination message: the log's last line may tell why."""
    at: datetime = EARLIEST
    """When it failed (for picking the last failed pod of a Job)."""

    def message(self, log_tail: str = "") -> str:
        if not self.wants_log:
            return self.head + self.detail
        line = last_line(log_tail)
        return f"{self.head}: {line}" if line else f"{self.head}; see kubectl logs {self.pod}"


def pod_failure_message(pod_name: str, term: Any, log_tail: str = "") -> str:
    """``pod X exited with code N (Reason): <what the termination message or log says>``."""
    return _exit_failure(pod_name, wire(term), None).message(log_tail)


def _exit_failure(pod_name: str, term: dict[str, Any], limit: str | None) -> RunnerFailure:
    code = as_int(term.get("exitCode"))
    reason = str(term.get("reason") or "")
    if reason == "OOMKilled":
        reason += f": over its memory limit of {limit}" if limit else ": out of memory"
    shown = f" ({reason})" if reason and reason != "Error" else ""
    head = f"pod {pod_name} exited with code {'?' if code is None else code}{shown}"
    message = str(term.get("message") or "")
    line = last_line(message)
    if line:
        return RunnerFailure(pod_name, head, f": {line}", code)
    if message.strip():
        stack = f": its termination message is only a stack trace; see kubectl logs {pod_name}"
        return RunnerFailure(pod_name, head, stack, code)
    return RunnerFailure(pod_name, head, exit_code=code, wants_log=True)


def runner_failure(pod: Any) -> RunnerFailure | None:
    """Why a runner pod failed, if it did: the pod itself (evicted, node shutdown, rejected at
    admission), a container that cannot start, was OOMKilled or exited non-zero (the real exit,
    not a ``ContainerStatusUnknown`` placeholder), or no node for it."""
    raw = wire(pod)
    meta = raw.get("metadata") or {}
    name = str(meta.get("name") or "?")
    at = _failure_time(raw)
    end = pod_end(raw)
    if end is not None:
        exited = _real_exit(raw)
        code = as_int(exited.get("exitCode"))
        also = f" (the runner exited with code {code})" if code else ""
        return RunnerFailure(name, end.describe(name) + also, exit_code=code, at=at)
    for view in containers(raw):
        who = f"init container {view.name} of pod {name}" if view.init else f"pod {name}"
        waiting = view.waiting
        reason = str(waiting.get("reason") or "")
        if reason in IMAGE_PULL_REASONS or reason in CONFIG_REASONS:
            said = clean(waiting.get("message"))
            text = f"{who} cannot start ({reason})"
            if reason in IMAGE_PULL_REASONS:
                text = f"{who} cannot start: image {view.raw.get('image') or '?'} cannot be pulled"
                text += f" ({reason})"
            return RunnerFailure(name, text + (f": {said}" if said else ""), at=at)
        info = view.latest_exit()
        code = as_int(info.get("exitCode"))
        if info and (code != 0 or info.get("reason") == "OOMKilled"):
            failure = _exit_failure(name, info, memory_limit(raw, view))
            if view.init:
                failure = replace(failure, head=failure.head.replace(f"pod {name}", who, 1))
            return replace(failure, at=at)
        placeholder = view.placeholder
        if placeholder and not info:
            said = clean(placeholder.get("message"))
            text = (
                f"the state of the container of pod {name} is unknown ({PLACEHOLDER}, "
                f"placeholder exit code {placeholder.get('exitCode', '?')})"
            )
            return RunnerFailure(name, text + (f": {said}" if said else ""), at=at)
    scheduled = condition(raw, "PodScheduled")
    if scheduled.get("reason") == "Unschedulable" and str(scheduled.get("status")) == "False":
        said = clean(scheduled.get("message")) or "no node fits"
        return RunnerFailure(name, f"pod {name} cannot be scheduled: {said}", at=at)
    return None


def _real_exit(pod: dict[str, Any]) -> dict[str, Any]:
    for view in containers(pod):
        if not view.init and (info := view.latest_exit()):
            return info
    return {}


def _failure_time(pod: dict[str, Any]) -> datetime:
    """When the pod failed, as well as its status tells (latest termination, disruption, last
    Ready change, start, creation)."""
    ends = [
        parse_time(info.get("finishedAt"))
        for view in containers(pod)
        for info in (view.terminated, view.last)
    ]
    candidates = [
        max((end for end in ends if end is not None), default=None),
        parse_time(condition(pod, "DisruptionTarget").get("lastTransitionTime")),
        parse_time(condition(pod, "Ready").get("lastTransitionTime")),
        parse_time((pod.get("status") or {}).get("startTime")),
        parse_time((pod.get("metadata") or {}).get("creationTimestamp")),
    ]
    return next((when for when in candidates if when is not None), EARLIEST)


def last_pod_failure(pods: Iterable[Any]) -> RunnerFailure | None:
    """The failure of the pod that failed last (a Job retries in new pods), if any."""
    failures = [failure for pod in pods if (failure := runner_failure(pod)) is not None]
    return max(failures, key=lambda failure: failure.at) if failures else None


def last_line(text: str) -> str:
    """The line of a termination message or log that says what went wrong: the last one,
    without a ``<date> <time> LEVEL logger:`` prefix, skipping stack frames."""
    return telling_line(text, RUNNER_LINE_LIMIT)


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
    indexed = getattr(job.spec, "completion_mode", None) == "Indexed"
    done = parse_indexes(getattr(counts, "completed_indexes", None)) if counts else []
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
        shards=int(job.spec.completions or 1) if indexed else 1,
        shards_done=len(done),
    )


def failed_shards(job: Any) -> list[int]:
    """The shards of an Indexed Job that exhausted their retries (``status.failedIndexes``)."""
    return parse_indexes(getattr(job.status, "failed_indexes", None)) if job.status else []


def shard_failure(
    pods: Iterable[Any], shards: int, failed: Iterable[int]
) -> tuple[RunnerFailure, int | None] | None:
    """Why a sharded Job failed: the last failure among the pods of its failed shards (all its
    pods when the cluster does not say which shards failed), and that pod's shard."""
    listed = [(pod, pod_index(wire(pod))) for pod in pods]
    wanted = set(failed)
    candidates = [(pod, index) for pod, index in listed if index in wanted] or listed
    found = [
        (failure, index)
        for pod, index in candidates
        if (failure := runner_failure(pod)) is not None
    ]
    if not found:
        return None
    return max(found, key=lambda pair: pair[0].at)


def shard_label(index: int | None, shards: int) -> str:
    return f"shard {index} of {shards}: " if index is not None else ""


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


def error_budget(task: EvalTask) -> float:
    """The share of items the task's inference may fail (``inference.client.maxErrorRatio``)."""
    inference = task.spec.inference
    client = (inference.client if inference else None) or ClientSettings()
    return client.max_error_ratio


def with_shard_budget(view: JobView, status: Mapping[str, Any], max_ratio: float) -> JobView:
    """A complete sharded inference Job, failed when its shards' final counts together exceed
    the task's error budget (each shard alone could not tell)."""
    message = budget_failure(status, view.shards, max_ratio)
    if message is None:
        return view
    return replace(view, complete=False, failed=True, reason=BUDGET_REASON, detail=message)
