"""Sharded phases, pure: index sets, the shards' entries folded into the task's progress, the
task's error budget over all shards, which shard failed, and the Indexed Job built for them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes.client import (
    V1ContainerState,
    V1ContainerStateTerminated,
    V1ContainerStatus,
    V1Job,
    V1JobCondition,
    V1JobSpec,
    V1JobStatus,
    V1ObjectMeta,
    V1Pod,
    V1PodStatus,
    V1PodTemplateSpec,
)

from modeleval.api import EvalTask
from modeleval.builders.jobs import build_job
from modeleval.handlers.evaltask_shards import fold_patch
from modeleval.handlers.once import OnceEvents
from modeleval.reconcile.evaltask_state import JobView, Observed, Phase, next_step
from modeleval.reconcile.evaltask_views import (
    error_budget,
    failed_shards,
    job_view,
    shard_failure,
    with_shard_budget,
)
from modeleval.reconcile.shards import budget_failure, changed, fold, parse_indexes
from modeleval.settings import OperatorSettings


def entry(processed: int, total: int = 10, failed: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "shards": 4,
        "phase": "inference",
        "total": total,
        "processed": processed,
        "succeeded": processed - failed,
        "failed": failed,
        "itemsPerSecond": 2.0,
        "updatedAt": f"2026-12-01T10:00:0{processed % 10}Z",
        **extra,
    }


def test_index_sets() -> None:
    assert parse_indexes("0-2,5, 7-8") == [0, 1, 2, 5, 7, 8]
    assert parse_indexes(None) == parse_indexes("") == []
    assert parse_indexes("x,3") == [3]


def test_a_fold_extrapolates_until_every_shard_reported() -> None:
    status = {"percentage": 0, "shards": {"0": entry(10), "1": entry(5)}}
    patch = fold(status, 4)
    assert patch["progress"]["total"] == 40  # two of four shards reported 10 each
    assert patch["progress"]["processed"] == 15
    assert patch["progress"]["itemsPerSecond"] == 4.0
    assert patch["percentage"] == 37
    everything = {"shards": {str(k): entry(10) for k in range(4)}}
    assert fold(everything, 4)["percentage"] == 100
    almost = {"shards": {**everything["shards"], "3": entry(9)}}
    assert fold(almost, 4)["percentage"] == 97


def test_percentage_never_goes_down_and_99_until_all_is_done() -> None:
    status = {"percentage": 60, "shards": {"0": entry(10), "1": entry(1)}}
    assert fold(status, 4)["percentage"] == 60
    lopsided = {"shards": {"0": entry(10, total=10)}}
    assert fold(lopsided, 4)["percentage"] == 25  # one shard done of four is not the task done
    done = {"shards": {str(k): entry(10) for k in range(4)}}
    done["shards"]["2"] = entry(10, total=11)
    assert fold(done, 4)["percentage"] == 97  # every shard reported, not every item finished


def test_entries_of_another_layout_or_phase_are_left_out() -> None:
    old = {**entry(10), "shards": 2}
    status = {"shards": {"0": entry(4), "1": old, "7": entry(10), "x": entry(1)}}
    assert fold(status, 4)["progress"]["processed"] == 4
    judging = {"shards": {"0": {**entry(3), "phase": "judging"}}}
    patch = fold(judging, 4)
    assert patch["progress"]["phase"] == "judging"
    assert "percentage" not in patch  # percentage is the inference's
    assert fold({"shards": {}}, 4) == {} == fold({}, 4)


def test_results_and_dropped_parameters_add_up_per_model() -> None:
    a = {"model": "a", "location": "/r/predictions/a.shards", "items": 5, "failed": 1}
    results = [{**a, "truncated": 0}, {"model": "b", "items": 5, "failed": 0, "truncated": 2}]
    dropped = [{"model": "a", "parameters": ["top_k"], "reason": "flavour"}]
    status = {
        "shards": {
            "0": entry(5, inferenceResults=results, droppedParameters=dropped),
            "1": entry(5, inferenceResults=results, droppedParameters=dropped),
        }
    }
    patch = fold(status, 4)
    assert patch["inferenceResults"] == [
        {"model": "a", "location": "/r/predictions/a.shards", "items": 10, "failed": 2,
         "truncated": 0},
        {"model": "b", "location": None, "items": 10, "failed": 0, "truncated": 4},
    ]  # fmt: skip
    assert patch["droppedParameters"] == dropped


def test_only_what_changed_is_written() -> None:
    status = {"shards": {"0": entry(10)}, "percentage": 99}
    patch = fold(status, 4)
    current = {**status, **patch, "progress": {**patch["progress"], "updatedAt": "later"}}
    assert changed(current, patch) == {}
    body = {"spec": {"runner": {"shards": 4}}, "status": status}
    assert set(fold_patch(body)) == {"progress"}
    assert fold_patch({"spec": {}, "status": status}) == {}  # no longer sharded: 1 shard


def test_the_task_budget_is_held_to_every_shard_together() -> None:
    # Two failures per shard: each within the task's limit of 4, together 8 of 40 = 20 %.
    entries = {str(k): entry(10, failed=2, error=f"HTTP 500 ({k})") for k in range(4)}
    message = budget_failure({"shards": entries}, 4, 0.1)
    assert message == (
        "8 of 40 items failed after retries in 4 shards (20.0% > allowed 10.0%); "
        "most common error: HTTP 500 (0)"
    )
    assert budget_failure({"shards": entries}, 4, 0.2) is None
    three = {k: v for k, v in entries.items() if k != "3"}
    assert budget_failure({"shards": three}, 4, 0.1) is None  # not every shard reported
    view = with_shard_budget(
        JobView(name="t-infer", complete=True, shards=4), {"shards": entries}, 0.1
    )
    assert (view.failed, view.complete, view.reason) == (True, False, "ErrorBudgetExceeded")
    observed = Observed(task="t", state=None, phases=(Phase.INFER, Phase.SCORE),
                        jobs={Phase.INFER: view})  # fmt: skip
    decision = next_step(observed)
    assert decision.reason == "ErrorBudgetExceeded"
    assert decision.message == f"inference Job t-infer failed (ErrorBudgetExceeded: {message})"


def test_error_budget_comes_from_the_inference_client() -> None:
    assert error_budget(task({})) == 0.1
    assert error_budget(task({}, inference={"client": {"maxErrorRatio": 0.3}})) == 0.3


def indexed_job(status: V1JobStatus) -> V1Job:
    spec = V1JobSpec(template=V1PodTemplateSpec(), completion_mode="Indexed", completions=4)
    return V1Job(metadata=V1ObjectMeta(name="t-infer"), spec=spec, status=status)


def test_an_indexed_jobs_view_counts_its_shards() -> None:
    running = job_view(indexed_job(V1JobStatus(active=3, completed_indexes="0")))
    assert (running.shards, running.shards_done) == (4, 1)
    assert running.shard_note() == ": 4 shards, 1 done"
    observed = Observed(task="t", state=None, phases=(Phase.INFER,), jobs={Phase.INFER: running})
    assert next_step(observed).message == "inference running (Job t-infer: 4 shards, 1 done)"
    failed = indexed_job(
        V1JobStatus(
            failed_indexes="2",
            conditions=[
                V1JobCondition(type="Failed", status="True", reason="MaxFailedIndexesExceeded")
            ],
        )
    )
    assert failed_shards(failed) == [2]
    assert JobView(name="x").shard_note() == ""


def pod(name: str, index: int, code: int, hour: int) -> V1Pod:
    term = V1ContainerStateTerminated(
        exit_code=code,
        reason="Error" if code else "Completed",
        message=f"failure of {name}" if code else None,
        finished_at=datetime(2026, 12, 1, hour, tzinfo=UTC),
    )
    status = V1ContainerStatus(
        name="runner", image="r", image_id="", ready=False, restart_count=0,
        state=V1ContainerState(terminated=term),
    )  # fmt: skip
    annotations = {"batch.kubernetes.io/job-completion-index": str(index)}
    return V1Pod(
        metadata=V1ObjectMeta(name=name, annotations=annotations),
        status=V1PodStatus(phase="Failed" if code else "Succeeded", container_statuses=[status]),
    )


def test_the_failed_shards_pod_is_the_one_named() -> None:
    pods = [
        pod("t-infer-2-a", 2, 1, 10),
        pod("t-infer-0-b", 0, 1, 12),
        pod("t-infer-2-c", 2, 1, 11),
    ]
    found = shard_failure(pods, 4, [2])
    assert found is not None
    failure, index = found
    assert (failure.pod, index) == ("t-infer-2-c", 2)  # the last failure of the failed shard
    found = shard_failure(pods, 4, [])  # no per-index limits: the last failure of any shard
    assert found is not None and (found[0].pod, found[1]) == ("t-infer-0-b", 0)
    assert shard_failure([pod("t-infer-1-d", 1, 0, 9)], 4, []) is None


def task(runner: dict[str, Any], **spec: Any) -> EvalTask:
    return EvalTask.model_validate(
        {
            "metadata": {"name": "t", "namespace": "ns", "uid": "u"},
            "spec": {
                "models": [{"name": "m", "endpoint": {"url": "http://m/v1"}}],
                "dataset": {"inline": [{"input": "q"}]},
                "runner": runner,
                **spec,
            },
        }
    )


def test_spec_runner_shards_makes_inference_an_indexed_job() -> None:
    settings = OperatorSettings()
    job = build_job(task({"shards": 4, "backoffLimit": 2}), "infer", settings)
    spec = job["spec"]
    assert {k: spec[k] for k in spec if k != "template"} == {
        "completionMode": "Indexed",
        "completions": 4,
        "parallelism": 4,
        "backoffLimitPerIndex": 2,
        "maxFailedIndexes": 0,
        "backoffLimit": 12,
    }
    env = {e["name"]: e.get("value") for e in spec["template"]["spec"]["containers"][0]["env"]}
    assert env["MODELEVAL_SHARDS"] == "4"
    score = build_job(task({"shards": 4}), "score", settings)["spec"]
    assert "completionMode" not in score and score["backoffLimit"] == 3  # scoring: one pod
    single = build_job(task({"shards": 1}), "infer", settings)["spec"]
    assert "completionMode" not in single
    queued = build_job(task({"shards": 4, "queueName": "q"}), "infer", settings)
    assert queued["spec"]["suspend"] is True  # Kueue admits the whole Indexed Job
    assert queued["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "q"


@pytest.mark.parametrize("shards", [0, 257])
def test_shards_out_of_range_are_refused(shards: int) -> None:
    with pytest.raises(ValueError, match="shards"):
        task({"shards": shards})


def test_once_only_events_are_forgotten_with_their_task() -> None:
    posted = OnceEvents()
    posted.add("ns", "a", "e1")
    posted.add("ns", "b", "e2")
    assert posted.seen("ns", "a", "e1") and not posted.seen("ns", "a", "e2")
    posted.forget("ns", "a")
    assert not posted.seen("ns", "a", "e1") and len(posted) == 1


def test_a_sharded_task_asking_a_judge_runs_a_judge_phase() -> None:
    from modeleval.reconcile.evaltask_state import GroupView, plan

    judge = {"serviceGroupRef": {"name": "judge"}}
    model_mode = {"modes": ["rule", "model"], "judge": judge}
    gsb = {"modes": ["rule"], "judge": judge, "pairwise": {"enabled": True}}
    two = [
        {"name": "a", "endpoint": {"url": "http://a/v1"}},
        {"name": "b", "endpoint": {"url": "http://b/v1"}, "isBaseline": True},
    ]
    assert plan(task({"shards": 3}, scoring=model_mode).spec) == (
        Phase.INFER, Phase.JUDGE, Phase.SCORE)  # fmt: skip
    assert plan(task({"shards": 3}, scoring=gsb, models=two).spec) == (
        Phase.INFER, Phase.JUDGE, Phase.SCORE)  # fmt: skip
    assert plan(task({}, scoring=model_mode).spec) == (Phase.INFER, Phase.SCORE)
    assert plan(task({"shards": 3}).spec) == (Phase.INFER, Phase.SCORE)  # rule only: no judge
    judge_job = build_job(task({"shards": 3}, scoring=model_mode), "judge", OperatorSettings())
    assert judge_job["spec"]["completionMode"] == "Indexed"
    assert judge_job["spec"]["template"]["spec"]["containers"][0]["command"][-1] == "judge"
    # The judge phase waits for the judge's service group, like scoring.
    observed = Observed(
        task="t",
        state=None,
        phases=(Phase.INFER, Phase.JUDGE, Phase.SCORE),
        jobs={Phase.INFER: JobView("t-infer", complete=True)},
        groups=(GroupView("judge", role="judge", phase="Pending"),),
    )
    assert next_step(observed).reason == "WaitingForTarget"
    ready = Observed(
        task="t",
        state=None,
        phases=observed.phases,
        jobs=observed.jobs,
        groups=(GroupView("judge", role="judge", phase="Running", url="http://j/v1"),),
    )
    decision = next_step(ready)
    assert (decision.create, decision.state) == (Phase.JUDGE, "RunningWithMetricsCalculating")
