"""``reconcile`` against the API emulator, with no operator process: idempotence and failures.

The tests play the Job controller themselves (patching Job status, creating a failed pod), so
each step of the task is observed exactly; reconciling again after any step is a restart.
"""

from __future__ import annotations

from typing import Any

import kopf
import pytest
from kubernetes.client import BatchV1Api, CoreV1Api, CustomObjectsApi
from pydantic import ValidationError

from modeleval import kube
from modeleval.api import EvalTask
from modeleval.handlers.evaltask import fail_invalid, job_has_news, reconcile, referenced_groups
from modeleval.handlers.evaltask_observe import pod_failure
from modeleval.reconcile.evaltask_state import Phase
from modeleval_testkit.cluster import LocalCluster

pytestmark = pytest.mark.slow

TASKS = "/apis/modeleval.io/v1alpha1/namespaces/default/evaltasks"


def create_task(api: Any, name: str, **spec: Any) -> dict[str, Any]:
    body = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "models": [{"name": "m", "endpoint": {"url": "http://mock:8000/v1"}}],
            "dataset": {"inline": [{"input": "x"}]},
            **spec,
        },
    }
    return dict(api.create(TASKS, body))


def task_status(api: Any, name: str) -> dict[str, Any]:
    return dict((api.get(f"{TASKS}/{name}") or {}).get("status") or {})


def job_names(name: str) -> list[str]:
    jobs = BatchV1Api(kube.api_client()).list_namespaced_job(
        "default", label_selector=f"modeleval.io/eval-task={name}"
    )
    return sorted(job.metadata.name for job in jobs.items)


def set_job_status(name: str, status: dict[str, Any]) -> None:
    BatchV1Api(kube.api_client()).patch_namespaced_job_status(name, "default", {"status": status})


def test_reconcile_creates_children_once_and_is_safe_to_repeat(api: Any) -> None:
    create_task(api, "idem")
    first = reconcile("default", "idem")
    assert first is not None and first.create == Phase.INFER
    for _ in range(3):  # a restarted operator reconciles again: nothing new
        again = reconcile("default", "idem")
        assert again is not None and again.create is None
    assert job_names("idem") == ["idem-infer"]
    core = CoreV1Api(kube.api_client())
    assert core.read_namespaced_config_map("idem-config", "default").data["task.json"]
    assert core.read_namespaced_persistent_volume_claim("idem-results", "default")
    assert core.read_namespaced_service_account("idem-runner", "default")
    status = task_status(api, "idem")
    assert status["state"] == "Queued"
    assert status["message"] == "inference Job idem-infer created; waiting for its pod to start"
    assert status["jobs"] == {"inference": "idem-infer"}
    assert status["target"] == "mock:8000"
    assert status["observedGeneration"] == 1


def test_job_progress_drives_the_state_to_the_next_phase(api: Any) -> None:
    create_task(api, "phases")
    reconcile("default", "phases")
    set_job_status("phases-infer", {"active": 1, "startTime": "2026-11-22T20:00:00Z"})
    reconcile("default", "phases")
    assert task_status(api, "phases")["state"] == "Running"
    set_job_status(
        "phases-infer",
        {"active": 0, "succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]},
    )
    decision = reconcile("default", "phases")
    assert decision is not None and decision.create == Phase.SCORE
    assert job_names("phases") == ["phases-infer", "phases-score"]
    status = task_status(api, "phases")
    assert status["state"] == "RunningWithMetricsCalculating"
    assert status["jobs"] == {"inference": "phases-infer", "scoring": "phases-score"}
    set_job_status(
        "phases-score",
        {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]},
    )
    reconcile("default", "phases")
    status = task_status(api, "phases")
    assert status["state"] == "Succeeded" and status["percentage"] == 100
    assert status["endTime"]
    assert reconcile("default", "phases") is None  # finished: nothing read, nothing written


def test_failed_job_names_the_pod_exit_code_and_its_message(api: Any) -> None:
    create_task(api, "broken")
    reconcile("default", "broken")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "broken-infer-abcde",
            "labels": {"batch.kubernetes.io/job-name": "broken-infer"},
        },
        "spec": {"containers": [{"name": "runner", "image": "runner"}]},
    }
    core = CoreV1Api(kube.api_client())
    core.create_namespaced_pod("default", pod)
    terminated = {
        "exitCode": 1,
        "reason": "Error",
        "message": "loading items\nbad dataset: qa.jsonl:7: invalid JSON\n",
        "finishedAt": "2026-11-22T20:00:00Z",
    }
    core.patch_namespaced_pod_status(
        "broken-infer-abcde",
        "default",
        {
            "status": {
                "phase": "Failed",
                "containerStatuses": [
                    {
                        "name": "runner",
                        "image": "runner",
                        "imageID": "",
                        "ready": False,
                        "restartCount": 0,
                        "state": {"terminated": terminated},
                    }
                ],
            }
        },
    )
    failed = {
        "type": "Failed",
        "status": "True",
        "reason": "BackoffLimitExceeded",
        "message": "Job has reached the specified backoff limit",
    }
    set_job_status("broken-infer", {"failed": 4, "conditions": [failed]})
    reconcile("default", "broken")
    status = task_status(api, "broken")
    assert status["state"] == "Failed"
    assert status["message"] == (
        "inference Job broken-infer failed (BackoffLimitExceeded: Job has reached the specified "
        "backoff limit); pod broken-infer-abcde exited with code 1: "
        "bad dataset: qa.jsonl:7: invalid JSON"
    )
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Failed"]["status"] == "True"
    assert conditions["Failed"]["reason"] == "BackoffLimitExceeded"


def test_suspend_deletes_the_running_job_then_stops(api: Any) -> None:
    create_task(api, "pause")
    reconcile("default", "pause")
    api.patch(f"{TASKS}/pause", {"spec": {"suspend": True}})
    decision = reconcile("default", "pause")
    assert decision is not None and decision.delete == ("pause-infer",)
    assert decision.retry_after is not None
    assert job_names("pause") == []
    reconcile("default", "pause")
    status = task_status(api, "pause")
    assert status["state"] == "Stopped"
    api.patch(f"{TASKS}/pause", {"spec": {"suspend": False}})
    resumed = reconcile("default", "pause")
    assert resumed is not None and resumed.create == Phase.INFER
    assert job_names("pause") == ["pause-infer"]
    assert task_status(api, "pause")["observedGeneration"] == 3


def task_events(name: str) -> list[tuple[str, str, str]]:
    """(type, reason, message) of the Events posted about task ``name``."""
    listed = CoreV1Api(kube.api_client()).list_namespaced_event("default").items
    return [(e.type, e.reason, e.message) for e in listed if e.involved_object.name == name]


def test_a_spec_edit_during_a_running_job_is_announced_once_and_deferred(api: Any) -> None:
    create_task(api, "edited")
    reconcile("default", "edited")
    set_job_status("edited-infer", {"active": 1, "startTime": "2026-11-22T20:00:00Z"})
    reconcile("default", "edited")
    config = CoreV1Api(kube.api_client()).read_namespaced_config_map("edited-config", "default")
    before = config.data["task.json"]
    api.patch(f"{TASKS}/edited", {"spec": {"inference": {"client": {"parallel": 3}}}})
    reconcile("default", "edited")
    reconcile("default", "edited")  # said once
    deferred = [e for e in task_events("edited") if e[1] == "SpecChangeDeferred"]
    assert deferred == [
        (
            "Normal",
            "SpecChangeDeferred",
            "spec generation 2 is not used by the running infer Job edited-infer (created for "
            "generation 1); it applies from the next phase Job",
        )
    ]
    # The running Job keeps the task.json it started with.
    config = CoreV1Api(kube.api_client()).read_namespaced_config_map("edited-config", "default")
    assert config.data["task.json"] == before
    assert task_status(api, "edited")["observedGeneration"] == 2


def test_a_stop_request_is_not_announced_as_a_deferred_edit(api: Any) -> None:
    create_task(api, "halted")
    reconcile("default", "halted")
    api.patch(f"{TASKS}/halted", {"spec": {"suspend": True}})
    reconcile("default", "halted")
    assert "SpecChangeDeferred" not in [reason for _, reason, _ in task_events("halted")]


def test_kueue_job_is_created_suspended_and_the_task_waits_for_admission(api: Any) -> None:
    create_task(api, "queued", runner={"queueName": "team-queue"})
    reconcile("default", "queued")
    job = BatchV1Api(kube.api_client()).read_namespaced_job("queued-infer", "default")
    assert job.spec.suspend is True
    assert job.metadata.labels["kueue.x-k8s.io/queue-name"] == "team-queue"
    reconcile("default", "queued")
    status = task_status(api, "queued")
    assert status["state"] == "Queued"
    assert "waiting for Kueue admission in queue team-queue" in status["message"]


def test_waiting_for_a_group_names_it(api: Any) -> None:
    create_task(api, "grouped", models=[{"name": "m", "serviceGroupRef": {"name": "qwen"}}])
    reconcile("default", "grouped")
    status = task_status(api, "grouped")
    assert status["state"] == "Queued"
    assert status["message"] == "waiting for service group(s) to be Running: qwen (not found)"
    assert job_names("grouped") == []


def test_reconcile_of_a_missing_task_does_nothing(api: Any) -> None:
    assert reconcile("default", "never-created") is None


def test_invalid_spec_fails_the_task_naming_the_field(api: Any) -> None:
    """A spec the model rejects (say, a stale object from an older CRD) ends Failed."""
    create_task(api, "invalid")
    raw = api.get(f"{TASKS}/invalid")
    raw["spec"]["limits"] = 0
    with pytest.raises(ValidationError) as caught:
        EvalTask.model_validate(raw)
    with pytest.raises(kopf.PermanentError, match=r"invalid spec: spec\.limits"):
        fail_invalid(raw, caught.value)
    status = task_status(api, "invalid")
    assert status["state"] == "Failed"
    assert status["message"].startswith("invalid spec: spec.limits: ")


def test_job_news_and_group_references() -> None:
    assert not job_has_news({"metadata": {}, "spec": {}})
    assert job_has_news({"status": {"active": 1}})
    assert job_has_news({"status": {"conditions": [{"type": "Complete"}]}})
    assert job_has_news({"metadata": {"deletionTimestamp": "t"}})
    spec = {
        "models": [{"serviceGroupRef": {"name": "a"}}, {"endpoint": {"url": "http://x"}}],
        "scoring": {"judge": {"serviceGroupRef": {"name": "j"}}},
    }
    assert referenced_groups(spec) == {"a", "j"}
    assert referenced_groups({}) == set()


def test_failure_falls_back_to_the_last_log_line(cluster: LocalCluster, api: Any) -> None:
    """No termination message: the last line of the pod's log says what went wrong."""
    core = CoreV1Api(kube.api_client())
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "quiet-abcde", "labels": {"batch.kubernetes.io/job-name": "quiet"}},
        "spec": {"containers": [{"name": "runner", "image": "runner"}]},
    }
    core.create_namespaced_pod("default", pod)
    status = {
        "phase": "Failed",
        "containerStatuses": [
            {
                "name": "runner",
                "image": "runner",
                "imageID": "",
                "ready": False,
                "restartCount": 0,
                "state": {"terminated": {"exitCode": 1, "reason": "Error"}},
            }
        ],
    }
    core.patch_namespaced_pod_status("quiet-abcde", "default", {"status": status})
    assert pod_failure("default", "quiet") == (
        "pod quiet-abcde exited with code 1; see kubectl logs quiet-abcde"
    )
    cluster.apiserver.set_pod_log(
        "default",
        "quiet-abcde",
        "2026-11-22 20:00:00,001 INFO modeleval.runner: loading\n"
        "2026-11-22 20:00:01,002 ERROR modeleval.runner: inference failed: 2/2 items failed "
        "(connection refused: http://127.0.0.1:9/v1)\n",
    )
    assert pod_failure("default", "quiet") == (
        "pod quiet-abcde exited with code 1: inference failed: 2/2 items failed "
        "(connection refused: http://127.0.0.1:9/v1)"
    )


def test_runner_owned_status_keys_survive_a_reconcile(api: Any) -> None:
    create_task(api, "odd-status")
    reconcile("default", "odd-status")
    CustomObjectsApi(kube.api_client()).patch_namespaced_custom_object_status(
        "modeleval.io",
        "v1alpha1",
        "default",
        "evaltasks",
        "odd-status",
        {"status": {"percentage": 40, "progress": {"phase": "inference", "processed": 4}}},
    )
    decision = reconcile("default", "odd-status")
    assert decision is not None and decision.state == "Queued"
    status = task_status(api, "odd-status")
    assert status["percentage"] == 40
    assert status["progress"] == {"phase": "inference", "processed": 4}


def test_a_job_deleted_by_hand_is_recreated_only_after_its_pod_is_gone(api: Any) -> None:
    create_task(api, "by-hand")
    reconcile("default", "by-hand")
    batch = BatchV1Api(kube.api_client())
    old = batch.read_namespaced_job("by-hand-infer", "default")
    set_job_status("by-hand-infer", {"active": 1, "startTime": "2026-11-22T20:00:00Z"})
    reconcile("default", "by-hand")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "by-hand-infer-xyz12",
            "labels": {"modeleval.io/eval-task": "by-hand"},
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": "by-hand-infer",
                    "uid": old.metadata.uid,
                }
            ],
        },
        "spec": {"containers": [{"name": "runner", "image": "runner"}]},
    }
    core = CoreV1Api(kube.api_client())
    core.create_namespaced_pod("default", pod)
    core.patch_namespaced_pod_status(
        "by-hand-infer-xyz12", "default", {"status": {"phase": "Running"}}
    )
    batch.delete_namespaced_job("by-hand-infer", "default", propagation_policy="Orphan")
    waiting = reconcile("default", "by-hand")
    assert waiting is not None and waiting.create is None and waiting.retry_after
    assert waiting.message is not None and "1 runner pod(s)" in waiting.message
    assert job_names("by-hand") == []
    core.delete_namespaced_pod("by-hand-infer-xyz12", "default")
    again = reconcile("default", "by-hand")
    assert again is not None and again.create == Phase.INFER
    assert job_names("by-hand") == ["by-hand-infer"]


def finish_both_phases(api: Any, name: str, failures: list[dict[str, Any]]) -> None:
    """Inference and scoring complete; the scoring Job wrote ``scores.failures`` first."""
    done = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
    reconcile("default", name)
    set_job_status(f"{name}-infer", done)
    reconcile("default", name)
    CustomObjectsApi(kube.api_client()).patch_namespaced_custom_object_status(
        "modeleval.io", "v1alpha1", "default", "evaltasks", name,
        {"status": {"totalScore": None, "scores": {"failures": failures}}},
    )  # fmt: skip
    set_job_status(f"{name}-score", done)
    reconcile("default", name)


def judge_failures(failed: int, total: int, ratio: float) -> dict[str, Any]:
    return {
        "metric": "judge", "total": total, "failed": failed, "maxErrorRatio": ratio,
        "overBudget": failed > ratio * total, "cause": "the judge's reply is empty",
        "causeItems": failed,
    }  # fmt: skip


def test_judge_items_over_the_budget_fail_the_task(api: Any) -> None:
    create_task(api, "judged-badly", scoring={"modes": ["model"], "judge": JUDGE})
    finish_both_phases(api, "judged-badly", [judge_failures(16, 16, 0.1)])
    status = task_status(api, "judged-badly")
    message = (
        "scoring failed: too many failed items: judge failed on 16 of 16 items (100.0%, "
        "allowed 10.0%), most common cause (16 items): the judge's reply is empty"
    )
    assert (status["state"], status["message"]) == ("Failed", message)
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Failed"]["reason"] == "MetricFailed"
    assert conditions["Degraded"]["status"] == "False"
    assert ("Warning", "MetricFailed", message) in task_events("judged-badly")


def test_judge_items_failed_within_the_budget_mark_the_task_degraded(api: Any) -> None:
    create_task(api, "judged-mostly", scoring={"modes": ["model"], "judge": JUDGE})
    finish_both_phases(api, "judged-mostly", [judge_failures(2, 20, 0.15)])
    detail = (
        "judge failed on 2 of 20 items (10.0%, allowed 15.0%), most common cause (2 items): "
        "the judge's reply is empty"
    )
    status = task_status(api, "judged-mostly")
    assert status["state"] == "Succeeded"
    assert status["message"] == f"evaluation finished with failed items: {detail}"
    degraded = {c["type"]: c for c in status["conditions"]}["Degraded"]
    assert (degraded["status"], degraded["reason"], degraded["message"]) == (
        "True", "ItemsFailed", detail)  # fmt: skip
    events = task_events("judged-mostly")
    assert events.count(("Warning", "Degraded", detail)) == 1
    reconcile("default", "judged-mostly")  # finished: no second Event
    assert task_events("judged-mostly").count(("Warning", "Degraded", detail)) == 1


JUDGE = {"endpoint": {"url": "http://judge:8000/v1", "model": "judge"}}


def test_dropped_parameters_the_runner_reports_become_one_warning_event_each(api: Any) -> None:
    from modeleval.handlers import evaltask as handlers

    create_task(api, "dropped")
    reason = "the server rejected them (HTTP 422: Unexpected fields in the request: {'top_k'})"
    CustomObjectsApi(kube.api_client()).patch_namespaced_custom_object_status(
        "modeleval.io", "v1alpha1", "default", "evaltasks", "dropped",
        {"status": {"droppedParameters": [{"model": "m", "parameters": ["top_k"],
                                           "reason": reason}]}},
    )  # fmt: skip
    for _ in range(2):
        reconcile("default", "dropped")
    handlers.POSTED_EVENTS.clear()  # a restarted operator: the Event exists, nothing new
    reconcile("default", "dropped")
    events = CoreV1Api(kube.api_client()).list_namespaced_event(
        "default", field_selector="involvedObject.name=dropped"
    )
    found = [e for e in events.items if e.reason == "ParametersDropped"]
    assert len(found) == 1
    assert found[0].type == "Warning"
    assert found[0].message == f"model m: top_k not sent: {reason}"
    assert task_status(api, "dropped")["droppedParameters"][0]["parameters"] == ["top_k"]
