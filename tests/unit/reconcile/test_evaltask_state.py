"""The EvalTask state machine, table-driven: observed world in, decision out."""

from __future__ import annotations

from typing import Any

import pytest

from modeleval.api import EvalTaskSpec, TaskState
from modeleval.reconcile.evaltask_state import (
    Decision,
    GroupView,
    JobView,
    Observed,
    Phase,
    has_manual,
    next_step,
    plan,
)

S = TaskState
INFER_SCORE = (Phase.INFER, Phase.SCORE)
RUNNING_JOB = JobView("t-infer")
DONE = JobView("t-infer", complete=True)
SCORE_RUNNING = JobView("t-score")
SCORE_DONE = JobView("t-score", complete=True)
READY = GroupView("g", phase="Running", url="http://g/v1")


def obs(**kw: Any) -> Observed:
    base: dict[str, Any] = {"task": "t", "state": None, "phases": INFER_SCORE}
    base.update(kw)
    return Observed(**base)


# (id, observed, state, reason, create, delete, message fragment)
CASES: list[tuple[str, Observed, TaskState, str, Phase | None, tuple[str, ...], str]] = [
    (
        "new endpoint task starts inference",
        obs(),
        S.QUEUED,
        "JobCreated",
        Phase.INFER,
        (),
        "inference Job t-infer created; waiting for its pod to start",
    ),
    (
        "new task waits for a deploying group",
        obs(groups=(GroupView("g", phase="Deploying"),)),
        S.QUEUED,
        "WaitingForTarget",
        None,
        (),
        "g (Deploying)",
    ),
    (
        "missing group is named",
        obs(groups=(GroupView("g", found=False),)),
        S.QUEUED,
        "WaitingForTarget",
        None,
        (),
        "g (not found)",
    ),
    (
        "running group without url waits",
        obs(groups=(GroupView("g", phase="Running"),)),
        S.QUEUED,
        "WaitingForTarget",
        None,
        (),
        "g (no url yet)",
    ),
    (
        "every waiting group is named",
        obs(groups=(READY, GroupView("h", phase="Pending"), GroupView("k", found=False))),
        S.QUEUED,
        "WaitingForTarget",
        None,
        (),
        "h (Pending), k (not found)",
    ),
    (
        "ready group starts inference",
        obs(state=S.QUEUED, groups=(READY,)),
        S.QUEUED,
        "JobCreated",
        Phase.INFER,
        (),
        "t-infer",
    ),
    (
        "failed group fails the task",
        obs(state=S.QUEUED, groups=(GroupView("g", phase="Failed", message="ImagePullBackOff"),)),
        S.FAILED,
        "TargetFailed",
        None,
        (),
        "target service group g failed: ImagePullBackOff",
    ),
    (
        "judge group does not block inference",
        obs(groups=(GroupView("j", role="judge", phase="Deploying"),)),
        S.QUEUED,
        "JobCreated",
        Phase.INFER,
        (),
        "t-infer",
    ),
    (
        "judge group blocks scoring",
        obs(
            state=S.RUNNING,
            jobs={Phase.INFER: DONE},
            groups=(GroupView("j", role="judge", phase="Deploying"),),
        ),
        S.QUEUED,
        "WaitingForTarget",
        None,
        (),
        "j (Deploying)",
    ),
    (
        "queue creates a suspended job and stays queued",
        obs(queue_name="gpu"),
        S.QUEUED,
        "WaitingForAdmission",
        Phase.INFER,
        (),
        "Kueue admission in queue gpu",
    ),
    (
        "suspended job waits for admission",
        obs(
            state=S.QUEUED, queue_name="gpu", jobs={Phase.INFER: JobView("t-infer", suspended=True)}
        ),
        S.QUEUED,
        "WaitingForAdmission",
        None,
        (),
        "t-infer waiting for Kueue admission in queue gpu",
    ),
    (
        "admitted job runs",
        obs(state=S.QUEUED, queue_name="gpu", jobs={Phase.INFER: RUNNING_JOB}),
        S.RUNNING,
        "InferRunning",
        None,
        (),
        "inference running",
    ),
    (
        "running inference stays running",
        obs(state=S.RUNNING, jobs={Phase.INFER: RUNNING_JOB}),
        S.RUNNING,
        "InferRunning",
        None,
        (),
        "t-infer",
    ),
    (
        "finished inference starts scoring",
        obs(state=S.RUNNING, jobs={Phase.INFER: DONE}),
        S.RUNNING_WITH_METRICS_CALCULATING,
        "JobCreated",
        Phase.SCORE,
        (),
        "scoring Job t-score created",
    ),
    (
        "scoring job running",
        obs(
            state=S.RUNNING_WITH_METRICS_CALCULATING,
            jobs={Phase.INFER: DONE, Phase.SCORE: SCORE_RUNNING},
        ),
        S.RUNNING_WITH_METRICS_CALCULATING,
        "ScoreRunning",
        None,
        (),
        "t-score",
    ),
    (
        "a running later job is never doubled by a missing earlier one",
        obs(state=S.RUNNING_WITH_METRICS_CALCULATING, jobs={Phase.SCORE: SCORE_RUNNING}),
        S.RUNNING_WITH_METRICS_CALCULATING,
        "ScoreRunning",
        None,
        (),
        "t-score",
    ),
    (
        "both done: succeeded",
        obs(
            state=S.RUNNING_WITH_METRICS_CALCULATING,
            jobs={Phase.INFER: DONE, Phase.SCORE: SCORE_DONE},
        ),
        S.SUCCEEDED,
        "Succeeded",
        None,
        (),
        "evaluation finished",
    ),
    (
        "manual after automatic scoring waits for annotation",
        obs(
            state=S.RUNNING_WITH_METRICS_CALCULATING,
            manual=True,
            jobs={Phase.INFER: DONE, Phase.SCORE: SCORE_DONE},
        ),
        S.RUNNING_WITH_MANUAL_BEGIN,
        "ManualAnnotation",
        None,
        (),
        "manual annotation",
    ),
    (
        "manual annotation done: succeeded",
        obs(
            state=S.RUNNING_WITH_MANUAL_BEGIN,
            manual=True,
            manual_pending=False,
            jobs={Phase.INFER: DONE, Phase.SCORE: SCORE_DONE},
        ),
        S.SUCCEEDED,
        "Succeeded",
        None,
        (),
        "evaluation finished",
    ),
    (
        "inference job failed: backoff limit with the pod's exit",
        obs(
            state=S.RUNNING,
            jobs={
                Phase.INFER: JobView(
                    "t-infer",
                    failed=True,
                    reason="BackoffLimitExceeded",
                    detail="Job has reached the specified backoff limit",
                    pod_failure="pod t-infer-x exited with code 1: "
                    "bad dataset: qa.jsonl:7: invalid JSON",
                )
            },
        ),
        S.FAILED,
        "BackoffLimitExceeded",
        None,
        (),
        "inference Job t-infer failed (BackoffLimitExceeded: Job has reached the specified backoff "
        "limit); pod t-infer-x exited with code 1: bad dataset: qa.jsonl:7: invalid JSON",
    ),
    (
        "scoring job past its deadline",
        obs(
            state=S.RUNNING_WITH_METRICS_CALCULATING,
            jobs={
                Phase.INFER: DONE,
                Phase.SCORE: JobView(
                    "t-score",
                    failed=True,
                    reason="DeadlineExceeded",
                    detail="Job was active longer than specified deadline",
                ),
            },
        ),
        S.FAILED,
        "DeadlineExceeded",
        None,
        (),
        "scoring Job t-score failed (DeadlineExceeded",
    ),
    (
        "failed job without a reason",
        obs(state=S.RUNNING, jobs={Phase.INFER: JobView("t-infer", failed=True)}),
        S.FAILED,
        "JobFailed",
        None,
        (),
        "inference Job t-infer failed (JobFailed)",
    ),
    (
        "performance task runs a perf job",
        obs(phases=(Phase.PERF,)),
        S.QUEUED,
        "JobCreated",
        Phase.PERF,
        (),
        "performance test Job t-perf created",
    ),
    (
        "performance done",
        obs(
            phases=(Phase.PERF,),
            state=S.RUNNING,
            jobs={Phase.PERF: JobView("t-perf", complete=True)},
        ),
        S.SUCCEEDED,
        "Succeeded",
        None,
        (),
        "evaluation finished",
    ),
    (
        "existing results skip inference",
        obs(phases=(Phase.SCORE,)),
        S.QUEUED,
        "JobCreated",
        Phase.SCORE,
        (),
        "t-score",
    ),
]

CASES += [
    (
        "inference pod not started yet: queued",
        obs(state=S.QUEUED, jobs={Phase.INFER: JobView("t-infer", started=False)}),
        S.QUEUED,
        "WaitingForPod",
        None,
        (),
        "inference Job t-infer created; waiting for its pod to start",
    ),
    (
        "scoring pod not started yet keeps the scoring state",
        obs(
            state=S.RUNNING,
            jobs={Phase.INFER: DONE, Phase.SCORE: JobView("t-score", started=False)},
        ),
        S.RUNNING_WITH_METRICS_CALCULATING,
        "WaitingForPod",
        None,
        (),
        "scoring Job t-score created; waiting for its pod",
    ),
]


@pytest.mark.parametrize(
    ("observed", "state", "reason", "create", "delete", "fragment"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_next_step(
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


@pytest.mark.parametrize("state", [S.SUCCEEDED, S.FAILED])
@pytest.mark.parametrize("suspend", [False, True])
def test_finished_tasks_never_change(state: TaskState, suspend: bool) -> None:
    decision = next_step(obs(state=state, suspend=suspend, jobs={Phase.INFER: RUNNING_JOB}))
    assert decision == Decision(state, "", None)


def test_a_job_is_never_created_while_another_of_the_task_runs() -> None:
    """Over every combination of phase job states, at most one unfinished Job exists."""
    views = [
        None,
        JobView("x"),
        JobView("x", complete=True),
        JobView("x", deleting=True),
        JobView("x", failed=True),
    ]
    for infer in views:
        for score in views:
            jobs = {p: v for p, v in ((Phase.INFER, infer), (Phase.SCORE, score)) if v}
            for stray in (0, 1):
                decision = next_step(obs(state=S.RUNNING, jobs=jobs, stray_pods=stray))
                if decision.create is None:
                    continue
                others = [v for v in jobs.values() if not (v.complete or v.failed)]
                assert not others and stray == 0, (jobs, stray, decision)


def spec(**kw: Any) -> EvalTaskSpec:
    base: dict[str, Any] = {
        "models": [{"name": "m", "endpoint": {"url": "http://m/v1"}}],
        "dataset": {"inline": [{"input": "x"}]},
    }
    base.update(kw)
    return EvalTaskSpec.model_validate(base)


@pytest.mark.parametrize(
    ("kw", "phases", "manual"),
    [
        ({}, INFER_SCORE, False),
        ({"scoring": {"modes": ["rule", "manual"]}}, INFER_SCORE, True),
        ({"scoring": {"modes": ["manual"]}}, (Phase.INFER,), True),
        ({"type": "Performance"}, (Phase.PERF,), False),
        (
            {
                "models": None,
                "dataset": None,
                "existingResults": [{"name": "r", "source": {"inline": [{"input": "x"}]}}],
            },
            (Phase.SCORE,),
            False,
        ),
    ],
)
def test_plan(kw: dict[str, Any], phases: tuple[Phase, ...], manual: bool) -> None:
    s = spec(**kw)
    assert plan(s) == phases
    assert has_manual(s) is manual
