"""The EvalTask state machine, pure: what the task's children look like in, what to do out.

``next_step(observed)`` decides the state, the message and at most one action (create the next
phase Job, or delete the running ones); ``status_patch(...)`` turns a decision into the
operator-owned part of the status (state, message, conditions, times, observedGeneration).
The handler (:mod:`modeleval.handlers.evaltask`) observes, calls these, and applies them.

States::

    Queued ──► Running (infer | perf Job) ──► RunningWithMetricsCalculating ([judge Job,] score Job)
       ▲                 │                                  │
       │                 ▼                                  ▼
       │              Failed ◄──────────────────────── RunningWithManualBegin ──► Succeeded
       │                                                    │ (console: pending false)
       │                                                    ▼
       │                      RunningWithMetricsCalculating (manual Job) ──► Succeeded
       │
    spec.suspend: any non-terminal state ──► Stopping (Jobs deleted, pods exit) ──► Stopped
    suspend false again: Stopped ──► the next unfinished phase (the runner skips finished items)

Manual mode with a console configured ends with the ``manual`` phase: it waits in
RunningWithManualBegin until ``status.manual.pending`` is false (the console sets it when an
allowed user completes the annotation), then a Job scores the annotations. Without a console
there is no such phase: ``pending: false`` (set by hand) goes straight to Succeeded.

Once every phase Job is complete, the judged metrics' failed items that the scoring Job wrote
(``status.scores.failures``, :mod:`modeleval.reconcile.evaltask_scores`) decide the end: one
over its error budget → Failed (``MetricFailed``); failed items within it → Succeeded with the
``Degraded`` condition (and a Warning Event, posted by the handler). A metric over its budget
fails the task before anyone is asked to annotate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from modeleval.api import TERMINAL_STATES, EvalTaskSpec, TaskState, TaskType
from modeleval.api.scoring import ScoringMode
from modeleval.builders.evaltask import job_name
from modeleval.reconcile.evaltask_scores import (
    DEGRADED_PREFIX,
    MetricFailuresView,
    degraded_message,
    failed_message,
)

WAIT_SECONDS = 2.0
"""Re-check delay while something the operator does not watch (pods exiting) settles."""

WAITING_FOR_TARGET = "waiting for service group(s) to be Running: "
"""Message prefix of a task Queued for its target groups (a timer polls those tasks)."""


class Phase(StrEnum):
    """Runner phases; each runs as one Job ``<task>-<phase>``."""

    INFER = "infer"
    JUDGE = "judge"
    SCORE = "score"
    PERF = "perf"
    MANUAL = "manual"


NOUN = {
    Phase.INFER: "inference",
    Phase.JUDGE: "judging",
    Phase.SCORE: "scoring",
    Phase.PERF: "performance test",
    Phase.MANUAL: "manual scoring",
}
RUNNING_STATE = {
    Phase.INFER: TaskState.RUNNING,
    Phase.JUDGE: TaskState.RUNNING_WITH_METRICS_CALCULATING,
    Phase.SCORE: TaskState.RUNNING_WITH_METRICS_CALCULATING,
    Phase.PERF: TaskState.RUNNING,
    Phase.MANUAL: TaskState.RUNNING_WITH_METRICS_CALCULATING,
}
ACTIVE_STATES = frozenset(
    {
        TaskState.RUNNING,
        TaskState.RUNNING_WITH_METRICS_CALCULATING,
        TaskState.RUNNING_WITH_MANUAL_BEGIN,
    }
)


def plan(spec: EvalTaskSpec, *, console: bool = False) -> tuple[Phase, ...]:
    """The phases a task runs, in order; ``console``: a console is configured (manual phase)."""
    if spec.type == TaskType.PERFORMANCE:
        return (Phase.PERF,)
    manual = (Phase.MANUAL,) if console and has_manual(spec) else ()
    if spec.existing_results:
        return (Phase.SCORE, *manual)
    modes = spec.scoring.modes if spec.scoring else [ScoringMode.RULE]
    if all(mode == ScoringMode.MANUAL for mode in modes):
        return (Phase.INFER, *manual)
    judge = (Phase.JUDGE,) if sharded_judging(spec) else ()
    return (Phase.INFER, *judge, Phase.SCORE, *manual)


def sharded_judging(spec: EvalTaskSpec) -> bool:
    """A sharded task (``runner.shards`` > 1) whose scoring asks a judge: its judge calls run
    as a judge phase of as many shards before the scoring Job merges them."""
    shards = (spec.runner.shards if spec.runner else None) or 1
    scoring = spec.scoring
    if shards <= 1 or scoring is None:
        return False
    return ScoringMode.MODEL in scoring.modes or bool(scoring.pairwise and scoring.pairwise.enabled)


def has_manual(spec: EvalTaskSpec) -> bool:
    return bool(spec.scoring and ScoringMode.MANUAL in spec.scoring.modes)


@dataclass(frozen=True)
class GroupView:
    """A ModelEvalServiceGroup the task needs; ``role`` is ``model`` or ``judge``."""

    name: str
    role: str = "model"
    found: bool = True
    phase: str | None = None
    url: str | None = None
    message: str | None = None

    @property
    def ready(self) -> bool:
        return self.found and self.phase == "Running" and bool(self.url)

    def describe(self) -> str:
        if not self.found:
            return f"{self.name} (not found)"
        if self.phase == "Running":
            return f"{self.name} (no url yet)"
        return f"{self.name} ({self.phase or 'Pending'})"


@dataclass(frozen=True)
class JobView:
    """What the operator needs to know about one phase Job."""

    name: str
    started: bool = True
    suspended: bool = False
    deleting: bool = False
    complete: bool = False
    failed: bool = False
    reason: str | None = None
    detail: str | None = None
    pod_failure: str | None = None
    generation: int | None = None
    """The task generation the Job was created for (its ``task-generation`` annotation)."""
    shards: int = 1
    """Pods of an Indexed Job (``spec.runner.shards``); 1 for a plain Job."""
    shards_done: int = 0
    """Shards that completed (``status.completedIndexes``)."""

    @property
    def live(self) -> bool:
        return not (self.complete or self.failed or self.deleting)

    def shard_note(self) -> str:
        """``: 4 shards, 1 done`` for a sharded Job; "" otherwise."""
        if self.shards <= 1:
            return ""
        return f": {self.shards} shards, {self.shards_done} done"


@dataclass(frozen=True)
class Observed:
    """The task and its children as read from the API."""

    task: str
    state: TaskState | None
    phases: tuple[Phase, ...]
    suspend: bool = False
    jobs: Mapping[Phase, JobView] = field(default_factory=dict)
    groups: tuple[GroupView, ...] = ()
    stray_pods: int = 0
    queue_name: str | None = None
    manual: bool = False
    manual_pending: bool | None = None
    score_failures: tuple[MetricFailuresView, ...] = ()
    """What the scoring Job reported about failed judge items (``status.scores.failures``)."""


@dataclass(frozen=True)
class Decision:
    """The state to be in and what to do; ``message=None`` keeps the current message.

    ``degraded``: the failed items of a task that finished within its error budget (the
    ``Degraded`` condition's message), or None.
    """

    state: TaskState
    reason: str
    message: str | None
    create: Phase | None = None
    delete: tuple[str, ...] = ()
    retry_after: float | None = None
    degraded: str | None = None


def _unchanged(state: TaskState) -> Decision:
    return Decision(state=state, reason="", message=None)


def _stop(o: Observed) -> Decision:
    live = tuple(job.name for job in o.jobs.values() if job.live)
    if live:
        return Decision(
            TaskState.STOPPING,
            "Stopping",
            f"stopping: deleting Job {', '.join(live)}; finished items are kept",
            delete=live,
            retry_after=WAIT_SECONDS,
        )
    exiting = o.stray_pods + sum(1 for job in o.jobs.values() if job.deleting)
    if exiting:
        return Decision(
            TaskState.STOPPING,
            "Stopping",
            f"stopping: waiting for {exiting} runner pod(s) to exit",
            retry_after=WAIT_SECONDS,
        )
    if o.state == TaskState.STOPPED:
        return _unchanged(TaskState.STOPPED)
    return Decision(
        TaskState.STOPPED,
        "Stopped",
        "stopped by spec.suspend; partial results are kept; set suspend: false to resume",
    )


def _groups_block(o: Observed, phase: Phase) -> Decision | None:
    role = "judge" if phase in (Phase.JUDGE, Phase.SCORE) else "model"
    needed = [g for g in o.groups if g.role == role]
    failed = [g for g in needed if g.found and g.phase == "Failed"]
    if failed:
        group = failed[0]
        detail = f": {group.message}" if group.message else ""
        return Decision(
            TaskState.FAILED,
            "TargetFailed",
            f"target service group {group.name} failed{detail}",
        )
    waiting = [g for g in needed if not g.ready]
    if not waiting:
        return None
    return Decision(
        TaskState.QUEUED,
        "WaitingForTarget",
        WAITING_FOR_TARGET + ", ".join(g.describe() for g in waiting),
    )


def _pending_state(o: Observed, phase: Phase) -> TaskState:
    """Queued until the first phase's pod starts; later phases keep their running state."""
    return TaskState.QUEUED if phase == o.phases[0] else RUNNING_STATE[phase]


def _running(o: Observed, phase: Phase, job: JobView) -> Decision:
    if job.suspended:
        where = f" in queue {o.queue_name}" if o.queue_name else ""
        return Decision(
            TaskState.QUEUED,
            "WaitingForAdmission",
            f"{NOUN[phase]} Job {job.name} waiting for Kueue admission{where}",
        )
    if not job.started:
        return Decision(
            _pending_state(o, phase),
            "WaitingForPod",
            f"{NOUN[phase]} Job {job.name} created; waiting for its pod to start",
        )
    return Decision(
        RUNNING_STATE[phase],
        f"{phase.name.capitalize()}Running",
        f"{NOUN[phase]} running (Job {job.name}{job.shard_note()})",
    )


def _create(o: Observed, phase: Phase) -> Decision:
    for other, job in o.jobs.items():
        if other != phase and job.live:  # never two phase Jobs at once
            return _running(o, other, job)
    exiting = o.stray_pods + sum(1 for job in o.jobs.values() if job.deleting)
    if exiting:
        state = TaskState.STOPPING if o.state == TaskState.STOPPING else TaskState.QUEUED
        return Decision(
            state,
            "WaitingForPods",
            f"waiting for {exiting} runner pod(s) of the stopped run to exit before resuming",
            retry_after=WAIT_SECONDS,
        )
    blocked = _groups_block(o, phase)
    if blocked is not None:
        return blocked
    name = job_name(o.task, phase)
    if o.queue_name:
        return Decision(
            TaskState.QUEUED,
            "WaitingForAdmission",
            f"{NOUN[phase]} Job {name} created; waiting for Kueue admission in queue "
            f"{o.queue_name}",
            create=phase,
        )
    return Decision(
        _pending_state(o, phase),
        "JobCreated",
        f"{NOUN[phase]} Job {name} created; waiting for its pod to start",
        create=phase,
    )


def _failed(phase: Phase, job: JobView) -> Decision:
    reason = job.reason or "JobFailed"
    why = f" ({reason}: {job.detail})" if job.detail else f" ({reason})"
    pod = f"; {job.pod_failure}" if job.pod_failure else ""
    return Decision(
        TaskState.FAILED,
        reason if reason[:1].isupper() else "JobFailed",
        f"{NOUN[phase]} Job {job.name} failed{why}{pod}",
    )


def name_taken(message: str) -> Decision:
    """A child's name is held by an object the task does not control: never used, so the
    task cannot run (``message`` names the object)."""
    return Decision(TaskState.FAILED, "NameTaken", message)


def not_allowed(message: str) -> Decision:
    """The administrator's policy or an unlabelled Secret / PVC / ServiceAccount forbids
    running the task (``message`` names the field and the object)."""
    return Decision(TaskState.FAILED, "NotAllowed", message)


def next_step(o: Observed) -> Decision:
    """The state the task should be in and the one action that gets it there."""
    if o.state == TaskState.FAILED:
        return _unchanged(o.state)
    if o.state == TaskState.SUCCEEDED:
        return Decision(o.state, "", None, degraded=degraded_message(o.score_failures))
    if o.suspend:
        return _stop(o)
    for phase in o.phases:
        job = o.jobs.get(phase)
        if phase == Phase.MANUAL and job is None:
            failed = failed_message(o.score_failures)
            if failed is not None:  # automatic scoring failed: nobody is asked to annotate
                return Decision(TaskState.FAILED, "MetricFailed", failed)
            if o.manual_pending is not False:
                return _manual_wait(o, console=True, degraded=degraded_message(o.score_failures))
        if job is None or job.deleting:
            return _create(o, phase)
        if job.failed:
            return _failed(phase, job)
        if job.complete:
            continue
        return _running(o, phase, job)
    failed = failed_message(o.score_failures)
    if failed is not None:
        return Decision(TaskState.FAILED, "MetricFailed", failed)
    degraded = degraded_message(o.score_failures)
    if o.manual and o.manual_pending is not False and Phase.MANUAL not in o.phases:
        return _manual_wait(o, console=False, degraded=degraded)
    message = DEGRADED_PREFIX + degraded if degraded else "evaluation finished"
    return Decision(TaskState.SUCCEEDED, "Succeeded", message, degraded=degraded)


def _manual_wait(o: Observed, *, console: bool, degraded: str | None = None) -> Decision:
    done = "automatic scoring" if Phase.SCORE in o.phases else "inference"
    how = (
        "annotate it in the console, then mark the annotation complete"
        if console
        else "set status.manual.pending to false when done"
    )
    return Decision(
        TaskState.RUNNING_WITH_MANUAL_BEGIN,
        "ManualAnnotation",
        f"{done} finished; waiting for manual annotation ({how})",
        degraded=degraded,
    )


# Conditions: one per outcome a user (or `kubectl wait --for=condition=…`) waits for.
CONDITIONS: dict[str, frozenset[TaskState]] = {
    "Running": ACTIVE_STATES,
    "Succeeded": frozenset({TaskState.SUCCEEDED}),
    "Failed": frozenset({TaskState.FAILED}),
    "Suspended": frozenset({TaskState.STOPPING, TaskState.STOPPED}),
}


DEGRADED = "Degraded"
"""Condition type (and Warning Event reason): finished, but some judged items failed."""
ITEMS_FAILED = "ItemsFailed"
"""Reason of a True ``Degraded`` condition."""


def build_conditions(
    current: list[dict[str, Any]] | None,
    state: TaskState,
    reason: str,
    message: str,
    *,
    generation: int | None,
    now: str,
    degraded: str | None = None,
) -> list[dict[str, Any]]:
    """The task's conditions for ``state``; ``lastTransitionTime`` moves only on a flip.

    ``Degraded`` is True with ``degraded`` as its message when judged items failed within the
    error budget (see :mod:`modeleval.reconcile.evaltask_scores`).
    """
    previous = {cond.get("type"): cond for cond in current or []}
    result = []
    kinds = [(kind, state in states, reason, message) for kind, states in CONDITIONS.items()]
    kinds.append((DEGRADED, degraded is not None, ITEMS_FAILED, degraded or message))
    for kind, true, true_reason, text in kinds:
        status = "True" if true else "False"
        old = previous.get(kind) or {}
        since = old.get("lastTransitionTime") if old.get("status") == status else None
        cond = {
            "type": kind,
            "status": status,
            "reason": true_reason if true else str(state),
            "message": text,
            "lastTransitionTime": since or now,
        }
        if generation is not None:
            cond["observedGeneration"] = generation
        result.append(cond)
    return result


def status_patch(
    current: Mapping[str, Any],
    decision: Decision,
    *,
    generation: int | None,
    now: str,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The merge patch of the operator-owned status keys; empty when nothing changed.

    ``extra`` holds other operator-owned keys (target, jobs, resultsLocation, evalType).
    Runner-owned keys are never written, except ``percentage: 100`` at Succeeded.
    """
    patch: dict[str, Any] = {}
    state = decision.state
    changed = current.get("state") != state
    message = decision.message if decision.message is not None else current.get("message")
    if changed:
        patch["state"] = str(state)
    if message != current.get("message"):
        patch["message"] = message
    for key, value in (extra or {}).items():
        if current.get(key) != value:
            patch[key] = value
    reason = decision.reason or _current_reason(current, state)
    conditions = build_conditions(
        current.get("conditions"),
        state,
        reason,
        message or "",
        generation=generation,
        now=now,
        degraded=decision.degraded,
    )
    if conditions != current.get("conditions"):
        patch["conditions"] = conditions
    if generation is not None and current.get("observedGeneration") != generation:
        patch["observedGeneration"] = generation
    if state in ACTIVE_STATES and not current.get("startTime"):
        patch["startTime"] = now
    if state in TERMINAL_STATES and (changed or not current.get("endTime")):
        patch["endTime"] = now
    if state not in TERMINAL_STATES and current.get("endTime"):
        patch["endTime"] = None
    if state == TaskState.SUCCEEDED and current.get("percentage") != 100:
        patch["percentage"] = 100
    if patch:
        patch["lastUpdateTime"] = now
    return patch


def degraded_event(current: Mapping[str, Any], decision: Decision) -> str | None:
    """The Warning Event to post when the task just became degraded (its message), or None."""
    if decision.degraded is None:
        return None
    for cond in current.get("conditions") or []:
        if cond.get("type") == DEGRADED and cond.get("status") == "True":
            return None
    return decision.degraded


def _current_reason(current: Mapping[str, Any], state: TaskState) -> str:
    for cond in current.get("conditions") or []:
        if cond.get("type") in CONDITIONS and cond.get("status") == "True" and cond.get("reason"):
            return str(cond["reason"])
    return str(state)


def deferred_spec_change(
    observed: Observed, generation: int | None, observed_generation: int | None
) -> str | None:
    """Why a spec change just seen does not reach the running Job, or None.

    The operator writes task.json when it creates a phase Job, never while the Job exists: a
    spec edited meanwhile applies from the next phase Job. Said once, when the operator first
    sees the new generation (``status.observedGeneration`` still holds the previous one).
    """
    if generation is None or observed_generation is None or generation == observed_generation:
        return None
    if observed.suspend:  # a stop request: the Job is being stopped, nothing is deferred
        return None
    for phase, job in sorted(observed.jobs.items(), key=lambda kv: kv[0].value):
        if job.live and job.generation is not None and job.generation != generation:
            return (
                f"spec generation {generation} is not used by the running {phase.value} Job "
                f"{job.name} (created for generation {job.generation}); it applies from the "
                "next phase Job"
            )
    return None
