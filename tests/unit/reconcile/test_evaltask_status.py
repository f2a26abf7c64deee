"""Operator-owned status of an EvalTask: patches, conditions and times from a decision."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from modeleval.api import EvalTask, TaskState
from modeleval.reconcile.evaltask_state import (
    Decision,
    GroupView,
    JobView,
    Observed,
    Phase,
    build_conditions,
    status_patch,
)
from modeleval.reconcile.evaltask_status import operator_keys

S = TaskState
READY = GroupView("g", phase="Running", url="http://g/v1")

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
    assert set(conditions) == {"Running", "Succeeded", "Failed", "Suspended", "Degraded"}
    assert conditions["Degraded"]["status"] == "False"
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


def keyed_task(owners: list[dict[str, Any]] | None = None) -> EvalTask:
    metadata: dict[str, Any] = {"name": "llama-ceval", "namespace": "evals"}
    if owners is not None:
        metadata["ownerReferences"] = owners
    return EvalTask.model_validate(
        {
            "metadata": metadata,
            "spec": {
                "models": [{"name": "m", "endpoint": {"url": "http://m/v1"}}],
                "dataset": {"inline": [{"input": "x"}]},
            },
        }
    )


def test_status_names_the_group_that_created_the_task() -> None:
    """status.serviceGroup (ZStack modelServiceGroupUuid) is the controlling group owner."""
    decision = Decision(S.QUEUED, "JobCreated", "created")
    observed = Observed(task="llama-ceval", state=None, phases=(Phase.INFER,))
    group = {"apiVersion": "modeleval.io/v1alpha1", "kind": "ModelEvalServiceGroup",
             "name": "llama", "uid": "u1", "controller": True}  # fmt: skip
    other = {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "u2"}
    assert operator_keys(keyed_task([other, group]), observed, decision)["serviceGroup"] == "llama"
    assert "serviceGroup" not in operator_keys(keyed_task([other]), observed, decision)
    assert "serviceGroup" not in operator_keys(keyed_task(), observed, decision)


def spec_task(**spec: Any) -> EvalTask:
    base: dict[str, Any] = {
        "models": [{"name": "m", "endpoint": {"url": "http://llm.example:8000/v1"}}],
        "dataset": {"inline": [{"input": "x"}]},
    }
    return EvalTask.model_validate(
        {"metadata": {"name": "qa", "namespace": "evals"}, "spec": {**base, **spec}}
    )


def test_operator_keys_name_target_results_type_and_jobs() -> None:
    """status.target, resultsLocation, evalType and jobs.{inference,scoring,performance,
    manual}: what the operator writes besides state and conditions."""
    scoring = Decision(S.RUNNING, "ScoreRunning", "scoring")
    done = JobView("qa-infer", complete=True)
    observed = Observed(task="qa", state=S.RUNNING, phases=(Phase.INFER, Phase.SCORE),
                        jobs={Phase.INFER: done})  # fmt: skip
    keys = operator_keys(spec_task(), observed, replace(scoring, create=Phase.SCORE))
    assert keys["target"] == "llm.example:8000"
    assert keys["resultsLocation"] == "pvc://qa-results"
    assert keys["evalType"] == "auto"
    assert keys["jobs"] == {"inference": "qa-infer", "scoring": "qa-score"}
    s3 = spec_task(results={"type": "S3", "s3": {"url": "s3://bucket/runs"}})
    assert operator_keys(s3, observed, scoring)["resultsLocation"] == "s3://bucket/runs"
    manual = spec_task(scoring={"modes": ["manual"]})
    assert operator_keys(manual, observed, scoring)["evalType"] == "manual"
    perf = Observed(task="qa", state=S.RUNNING, phases=(Phase.PERF,),
                    jobs={Phase.PERF: JobView("qa-perf")})  # fmt: skip
    assert operator_keys(spec_task(type="Performance"), perf, scoring)["jobs"] == {
        "performance": "qa-perf"
    }
    annotated = Observed(task="qa", state=S.RUNNING, phases=(Phase.INFER, Phase.MANUAL),
                         jobs={Phase.INFER: done, Phase.MANUAL: JobView("qa-manual")})  # fmt: skip
    assert operator_keys(manual, annotated, scoring)["jobs"] == {
        "inference": "qa-infer",
        "manual": "qa-manual",
    }


def test_a_sharded_tasks_judge_job_is_named_under_judging() -> None:
    """status.jobs.judging: the judge Job of a sharded task that asks a judge, once created,
    beside the inference Job; later phases keep it."""
    judged = spec_task(
        runner={"shards": 3},
        scoring={"modes": ["rule", "model"], "judge": {"serviceGroupRef": {"name": "judge"}}},
    )
    judging = Decision(S.RUNNING, "JudgeRunning", "judging", create=Phase.JUDGE)
    done = JobView("qa-infer", complete=True)
    phases = (Phase.INFER, Phase.JUDGE, Phase.SCORE)
    observed = Observed(task="qa", state=S.RUNNING, phases=phases, jobs={Phase.INFER: done})
    assert operator_keys(judged, observed, judging)["jobs"] == {
        "inference": "qa-infer",
        "judging": "qa-judge",
    }
    judged_jobs = {Phase.INFER: done, Phase.JUDGE: JobView("qa-judge", complete=True)}
    scored = Observed(task="qa", state=S.RUNNING, phases=phases, jobs=judged_jobs)
    scoring = Decision(S.RUNNING, "ScoreRunning", "scoring", create=Phase.SCORE)
    assert operator_keys(judged, scored, scoring)["jobs"] == {
        "inference": "qa-infer",
        "judging": "qa-judge",
        "scoring": "qa-score",
    }


def test_a_manual_task_opens_its_dimensions() -> None:
    """status.manual.dimensions (satisfaction first, then spec.scoring.manual.evalDimension)
    and pending: true, once the task waits for annotation."""
    dims = {"modes": ["manual"], "manual": {"evalDimension": [{"dimension": "fluency"}]}}
    waiting = Decision(S.RUNNING_WITH_MANUAL_BEGIN, "WaitingForAnnotation", "annotate")
    observed = Observed(task="qa", state=S.RUNNING, phases=(Phase.INFER,), manual=True)
    keys = operator_keys(spec_task(scoring=dims), observed, waiting)
    assert keys["manual"] == {"dimensions": ["satisfaction", "fluency"], "pending": True}
    answered = replace(observed, manual_pending=False)
    assert "manual" not in operator_keys(spec_task(scoring=dims), answered, waiting)
