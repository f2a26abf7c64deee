"""The EvalTask state machine, table-driven: observed world in, decision out."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from modeleval.api import EvalTaskSpec, TaskState
from modeleval.handlers.evaltask_state import (
    Decision,
    GroupView,
    JobView,
    Observed,
    Phase,
    build_conditions,
    has_manual,
    next_step,
    plan,
    status_patch,
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


def test_stopped_and_still_suspended_is_unchanged() -> None:
    assert next_step(obs(state=S.STOPPED, suspend=True)) == Decision(S.STOPPED, "", None)


def test_waits_ask_to_be_checked_again() -> None:
    assert next_step(obs(state=S.STOPPING, suspend=True, stray_pods=1)).retry_after
    assert next_step(
        obs(state=S.RUNNING, suspend=True, jobs={Phase.INFER: RUNNING_JOB})
    ).retry_after
    assert next_step(obs(state=S.STOPPED, stray_pods=1)).retry_after
    assert next_step(obs(state=S.RUNNING, jobs={Phase.INFER: RUNNING_JOB})).retry_after is None


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


NOW = "2026-11-22T20:00:00Z"
LATER = "2026-11-22T21:00:00Z"


def test_status_patch_of_the_first_transition() -> None:
    decision = Decision(S.RUNNING, "InferRunning", "inference running (Job t-infer)")
    patch = status_patch({}, decision, generation=1, now=NOW, extra={"target": "m"})
    assert patch["state"] == "Running"
    assert patch["message"] == "inference running (Job t-infer)"
    assert patch["target"] == "m"
    assert patch["observedGeneration"] == 1
    assert patch["startTime"] == NOW and patch["lastUpdateTime"] == NOW
    assert "endTime" not in patch and "percentage" not in patch
    conditions = {cond["type"]: cond for cond in patch["conditions"]}
    assert set(conditions) == {"Running", "Succeeded", "Failed", "Suspended"}
    assert conditions["Running"] == {
        "type": "Running",
        "status": "True",
        "reason": "InferRunning",
        "message": "inference running (Job t-infer)",
        "lastTransitionTime": NOW,
        "observedGeneration": 1,
    }
    assert conditions["Succeeded"]["status"] == "False"
    assert conditions["Succeeded"]["reason"] == "Running"


def test_status_patch_is_empty_when_nothing_changed() -> None:
    decision = Decision(S.RUNNING, "InferRunning", "inference running (Job t-infer)")
    first = status_patch({}, decision, generation=1, now=NOW, extra={"target": "m"})
    current = dict(first)
    assert status_patch(current, decision, generation=1, now=LATER, extra={"target": "m"}) == {}
    assert status_patch(current, Decision(S.RUNNING, "", None), generation=1, now=LATER) == {}


def test_status_patch_at_succeeded_sets_end_time_and_percentage_only() -> None:
    running = status_patch({}, Decision(S.RUNNING, "InferRunning", "m"), generation=1, now=NOW)
    current = {**running, "percentage": 97, "totalScore": 81.5, "progress": {"processed": 9}}
    patch = status_patch(
        current, Decision(S.SUCCEEDED, "Succeeded", "done"), generation=1, now=LATER
    )
    assert patch["state"] == "Succeeded" and patch["endTime"] == LATER
    assert patch["percentage"] == 100
    assert "startTime" not in patch
    assert not {"totalScore", "progress", "scores", "inferenceResults", "gsb", "performance"} & set(
        patch
    )
    conditions = {cond["type"]: cond for cond in patch["conditions"]}
    assert conditions["Succeeded"]["status"] == "True"
    assert conditions["Succeeded"]["lastTransitionTime"] == LATER
    assert conditions["Running"]["status"] == "False"
    assert conditions["Running"]["lastTransitionTime"] == LATER
    assert conditions["Failed"]["lastTransitionTime"] == NOW  # no flip, time kept


def test_status_patch_never_lowers_runner_progress_outside_success() -> None:
    current = {"state": "Running", "percentage": 40}
    patch = status_patch(current, Decision(S.FAILED, "JobFailed", "x"), generation=1, now=NOW)
    assert "percentage" not in patch and patch["endTime"] == NOW


def test_resume_clears_end_time() -> None:
    stopped = status_patch({}, Decision(S.STOPPED, "Stopped", "s"), generation=1, now=NOW)
    assert stopped["endTime"] == NOW
    resumed = status_patch(
        stopped, Decision(S.RUNNING, "InferRunning", "r"), generation=2, now=LATER
    )
    assert resumed["endTime"] is None and resumed["observedGeneration"] == 2


def test_unchanged_decision_keeps_message_and_reason() -> None:
    failed = status_patch({}, Decision(S.FAILED, "JobFailed", "boom"), generation=1, now=NOW)
    patch = status_patch(failed, Decision(S.FAILED, "", None), generation=2, now=LATER)
    assert "message" not in patch and "state" not in patch
    conditions = {cond["type"]: cond for cond in patch["conditions"]}
    assert conditions["Failed"]["reason"] == "JobFailed"
    assert conditions["Failed"]["observedGeneration"] == 2


def test_build_conditions_without_generation() -> None:
    conditions = build_conditions(None, S.STOPPING, "Stopping", "m", generation=None, now=NOW)
    suspended = next(cond for cond in conditions if cond["type"] == "Suspended")
    assert suspended["status"] == "True" and "observedGeneration" not in suspended


def test_replace_keeps_views_frozen() -> None:
    view = replace(READY, phase="Degraded")
    assert not view.ready and READY.ready
