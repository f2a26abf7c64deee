"""The EvalTask state machine on stop and resume: spec.suspend true, then false again."""

from __future__ import annotations

from typing import Any

import pytest

from modeleval.api import TaskState
from modeleval.reconcile.evaltask_state import GroupView, JobView, Observed, Phase, next_step

S = TaskState
RUNNING_JOB = JobView("t-infer")
DONE = JobView("t-infer", complete=True)
SCORE_RUNNING = JobView("t-score")


def obs(**kw: Any) -> Observed:
    base: dict[str, Any] = {"task": "t", "state": None, "phases": (Phase.INFER, Phase.SCORE)}
    base.update(kw)
    return Observed(**base)


# (id, observed, state, reason, create, delete, message fragment)
CASES: list[tuple[str, Observed, TaskState, str, Phase | None, tuple[str, ...], str]] = [
    (
        "suspend deletes the running job",
        obs(state=S.RUNNING, suspend=True, jobs={Phase.INFER: RUNNING_JOB}),
        S.STOPPING,
        "Stopping",
        None,
        ("t-infer",),
        "deleting Job t-infer",
    ),
    (
        "suspend keeps finished jobs",
        obs(
            state=S.RUNNING_WITH_METRICS_CALCULATING,
            suspend=True,
            jobs={Phase.INFER: DONE, Phase.SCORE: SCORE_RUNNING},
        ),
        S.STOPPING,
        "Stopping",
        None,
        ("t-score",),
        "t-score",
    ),
    (
        "stopping waits for pods to exit",
        obs(state=S.STOPPING, suspend=True, stray_pods=1),
        S.STOPPING,
        "Stopping",
        None,
        (),
        "waiting for 1 runner pod(s) to exit",
    ),
    (
        "stopping waits for a job being deleted",
        obs(state=S.STOPPING, suspend=True, jobs={Phase.INFER: JobView("t-infer", deleting=True)}),
        S.STOPPING,
        "Stopping",
        None,
        (),
        "waiting for 1 runner pod(s)",
    ),
    (
        "pods gone: stopped",
        obs(state=S.STOPPING, suspend=True),
        S.STOPPED,
        "Stopped",
        None,
        (),
        "partial results are kept",
    ),
    (
        "suspended before anything ran",
        obs(suspend=True),
        S.STOPPED,
        "Stopped",
        None,
        (),
        "stopped by spec.suspend",
    ),
    (
        "suspended queued task",
        obs(state=S.QUEUED, suspend=True, groups=(GroupView("g"),)),
        S.STOPPED,
        "Stopped",
        None,
        (),
        "stopped",
    ),
    (
        "resume recreates the unfinished job",
        obs(state=S.STOPPED),
        S.QUEUED,
        "JobCreated",
        Phase.INFER,
        (),
        "t-infer",
    ),
    (
        "resume after inference went on to scoring",
        obs(state=S.STOPPED, jobs={Phase.INFER: DONE}),
        S.RUNNING_WITH_METRICS_CALCULATING,
        "JobCreated",
        Phase.SCORE,
        (),
        "t-score",
    ),
    (
        "resume waits for the old pods",
        obs(state=S.STOPPED, stray_pods=2),
        S.QUEUED,
        "WaitingForPods",
        None,
        (),
        "waiting for 2 runner pod(s) of the stopped run",
    ),
    (
        "resume during stopping waits in stopping",
        obs(state=S.STOPPING, stray_pods=1),
        S.STOPPING,
        "WaitingForPods",
        None,
        (),
        "before resuming",
    ),
    (
        "resume waits while the old job is deleted",
        obs(state=S.STOPPING, jobs={Phase.INFER: JobView("t-infer", deleting=True)}),
        S.STOPPING,
        "WaitingForPods",
        None,
        (),
        "waiting for 1 runner pod(s)",
    ),
]


@pytest.mark.parametrize(
    ("observed", "state", "reason", "create", "delete", "fragment"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_stop_and_resume(
    observed: Observed,
    state: TaskState,
    reason: str,
    create: Phase | None,
    delete: tuple[str, ...],
    fragment: str,
) -> None:
    decision = next_step(observed)
    assert decision.state == state
    assert decision.reason == reason
    assert decision.create == create
    assert decision.delete == delete
    assert decision.message is not None and fragment in decision.message


def test_stopped_and_still_suspended_is_unchanged() -> None:
    decision = next_step(obs(state=S.STOPPED, suspend=True))
    assert (decision.state, decision.message, decision.create, decision.delete) == (
        S.STOPPED,
        None,
        None,
        (),
    )


def test_waits_ask_to_be_checked_again() -> None:
    assert next_step(obs(state=S.STOPPING, suspend=True, stray_pods=1)).retry_after
    suspended = obs(state=S.RUNNING, suspend=True, jobs={Phase.INFER: RUNNING_JOB})
    assert next_step(suspended).retry_after
    assert next_step(obs(state=S.STOPPED, stray_pods=1)).retry_after
    assert next_step(obs(state=S.RUNNING, jobs={Phase.INFER: RUNNING_JOB})).retry_after is None
