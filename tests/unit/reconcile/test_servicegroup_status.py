"""compute_status: phase, ready count, instances, conditions and a message naming the cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from modeleval.api import GroupPhase, ModelEvalServiceGroup
from modeleval.reconcile.servicegroup_status import (
    compute_status,
    status_changed,
    status_to_wire,
)

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


def stamp(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def group(spec: dict[str, Any] | None = None, status: dict[str, Any] | None = None):
    body: dict[str, Any] = {
        "metadata": {"name": "llama", "namespace": "evals", "uid": "u", "generation": 2},
        "spec": {"image": "vllm/vllm-openai:v0.6", "instances": 2, **(spec or {})},
    }
    if status is not None:
        body["status"] = status
    return ModelEvalServiceGroup.model_validate(body)


def deployment(replicas: int = 2, updated: int | None = None, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "llama", "generation": 1},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": 1,
            "replicas": replicas,
            "updatedReplicas": replicas if updated is None else updated,
            **status,
        },
    }


def pod(
    name: str,
    *,
    ready: bool = False,
    started: bool | None = None,
    restarts: int = 0,
    state: dict[str, Any] | None = None,
    last: dict[str, Any] | None = None,
    age: float = 30,
    unready_since: float | None = None,
    scheduled: bool = True,
    unschedulable: str = "",
    node: str | None = "gpu-node-1",
    **extra: Any,
) -> dict[str, Any]:
    conditions = [
        {
            "type": "PodScheduled",
            "status": "True" if scheduled else "False",
            **({} if scheduled else {"reason": "Unschedulable", "message": unschedulable}),
        },
    ]
    status: dict[str, Any] = {
        "phase": "Pending" if not scheduled else "Running",
        "conditions": conditions,
        **extra,
    }
    spec: dict[str, Any] = {}
    if scheduled:
        spec["nodeName"] = node
        status["startTime"] = stamp(age)
        conditions.append(
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "lastTransitionTime": stamp(age if unready_since is None else unready_since),
            }
        )
        status["containerStatuses"] = [
            {
                "name": "model-server",
                "ready": ready,
                "started": ready if started is None else started,
                "restartCount": restarts,
                "state": state or {"running": {"startedAt": stamp(age)}},
                "lastState": {"terminated": last} if last else {},
            }
        ]
    return {"metadata": {"name": name, "namespace": "evals"}, "spec": spec, "status": status}


def waiting(reason: str, message: str = "") -> dict[str, Any]:
    return {"waiting": {"reason": reason, **({"message": message} if message else {})}}


def conditions(status) -> dict[str, tuple[str, str | None]]:
    return {c.type: (c.status, c.reason) for c in status.conditions}


def test_no_deployment_is_pending() -> None:
    status = compute_status(group(), None, [], NOW)
    assert status.phase == GroupPhase.PENDING
    assert status.url is None
    assert status.ready == "0/2"
    assert conditions(status)["Progressing"] == ("True", "Deploying")


def test_all_ready_is_running_with_url_and_instances() -> None:
    pods = [
        pod("llama-b", ready=True, restarts=1, last={"exitCode": 1, "reason": "Error"}),
        pod("llama-a", ready=True),
    ]
    status = compute_status(group(), deployment(), pods, NOW)
    assert status.phase == GroupPhase.RUNNING
    assert status.url == "http://llama.evals.svc.cluster.local:8000/v1"
    assert status.ready == "2/2" and status.ready_replicas == 2 and status.desired_replicas == 2
    assert [i.name for i in status.instances] == ["llama-a", "llama-b"]
    first, second = status.instances
    assert first.node == "gpu-node-1" and first.ready and first.restarts == 0
    assert second.restarts == 1 and second.last_failure_reason == "Error"
    assert second.last_failure_message == "exit code 1"
    assert conditions(status) == {
        "Ready": ("True", "AllInstancesReady"),
        "Progressing": ("False", "Complete"),
        "Degraded": ("False", "AsExpected"),
    }
    assert status.deployment_name == "llama" and status.service_name == "llama"
    assert "2/2 instances ready" in status.message


def test_booting_pods_are_deploying() -> None:
    pods = [pod("llama-a", started=False, age=60), pod("llama-b", started=False, age=60)]
    status = compute_status(group(), deployment(), pods, NOW)
    assert status.phase == GroupPhase.DEPLOYING
    assert status.url is None
    assert "booting" in status.message
    assert conditions(status)["Ready"][0] == "False"
    assert conditions(status)["Progressing"] == ("True", "Deploying")


@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff"])
def test_image_pull_failure_is_failed(reason: str) -> None:
    pods = [pod("llama-a", state=waiting(reason, "manifest unknown"))]
    status = compute_status(group({"instances": 1}), deployment(1), pods, NOW)
    assert status.phase == GroupPhase.FAILED
    assert "image vllm/vllm-openai:v0.6 cannot be pulled" in status.message
    assert reason in status.message and "manifest unknown" in status.message
    assert conditions(status)["Degraded"] == ("True", "ImagePullFailed")
    assert conditions(status)["Ready"] == ("False", "ImagePullFailed")
    assert status.instances[0].last_failure_reason == "ImagePullFailed"


def test_oom_killed_names_the_memory_limit() -> None:
    spec = {"instances": 1, "resources": {"limits": {"memory": "16Gi"}}}
    pods = [
        pod(
            "llama-a",
            restarts=3,
            state=waiting("CrashLoopBackOff", "back-off 40s"),
            last={"exitCode": 137, "reason": "OOMKilled"},
        )
    ]
    status = compute_status(group(spec), deployment(1), pods, NOW)
    assert status.phase == GroupPhase.FAILED
    assert "OOMKilled" in status.message and "16Gi" in status.message
    assert conditions(status)["Degraded"] == ("True", "OOMKilled")


def test_crash_loop_names_the_exit_code() -> None:
    pods = [
        pod(
            "llama-a",
            restarts=4,
            state=waiting("CrashLoopBackOff", "back-off 1m20s"),
            last={"exitCode": 3, "reason": "Error"},
        )
    ]
    status = compute_status(group({"instances": 1}), deployment(1), pods, NOW)
    assert status.phase == GroupPhase.FAILED
    assert "CrashLoopBackOff" in status.message and "exit code 3" in status.message
    assert "4 restarts" in status.message
    assert status.instances[0].last_failure_reason == "CrashLoopBackOff"


def test_unschedulable_names_the_missing_gpu_and_stays_pending() -> None:
    message = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
    pods = [pod("llama-a", scheduled=False, unschedulable=message)]
    status = compute_status(group({"instances": 1}), deployment(1), pods, NOW)
    assert status.phase == GroupPhase.PENDING
    assert "insufficient nvidia.com/gpu" in status.message and message in status.message
    assert conditions(status)["Ready"] == ("False", "Unschedulable")
    assert conditions(status)["Progressing"] == ("False", "Unschedulable")
    assert status.instances[0].node is None


def test_never_ready_after_the_boot_time_is_a_boot_timeout() -> None:
    spec = {"instances": 1, "health": {"bootTimeSeconds": 120, "periodSeconds": 10}}
    young = [pod("llama-a", started=True, age=100)]
    assert compute_status(group(spec), deployment(1), young, NOW).phase == GroupPhase.DEPLOYING
    old = [pod("llama-a", started=True, age=200)]
    status = compute_status(group(spec), deployment(1), old, NOW)
    assert status.phase == GroupPhase.FAILED
    assert "boot timeout" in status.message and "120s" in status.message
    assert "GET /health" in status.message
    assert conditions(status)["Degraded"] == ("True", "BootTimeout")


def test_startup_probe_kills_are_a_boot_timeout() -> None:
    spec = {"instances": 1, "health": {"bootTimeSeconds": 600}}
    pods = [
        pod(
            "llama-a",
            started=False,
            restarts=2,
            age=20,
            state=waiting("CrashLoopBackOff"),
            last={"exitCode": 143, "reason": "Error"},
        )
    ]
    status = compute_status(group(spec), deployment(1), pods, NOW)
    assert status.phase == GroupPhase.FAILED
    assert conditions(status)["Degraded"] == ("True", "BootTimeout")


def test_a_pod_that_was_ready_before_is_not_a_boot_timeout() -> None:
    spec = {"instances": 1, "health": {"bootTimeSeconds": 60}}
    pods = [pod("llama-a", started=True, age=3600, unready_since=30)]
    status = compute_status(group(spec), deployment(1), pods, NOW)
    assert status.phase == GroupPhase.DEPLOYING
    assert conditions(status)["Degraded"] == ("False", "AsExpected")


def test_some_ready_and_one_failing_is_degraded_with_url() -> None:
    pods = [
        pod("llama-a", ready=True),
        pod(
            "llama-b",
            restarts=5,
            state=waiting("CrashLoopBackOff"),
            last={"exitCode": 1, "reason": "Error"},
        ),
    ]
    status = compute_status(group(), deployment(), pods, NOW)
    assert status.phase == GroupPhase.DEGRADED
    assert status.url is not None
    assert status.message.startswith("1/2 instances ready")
    assert "llama-b" in status.message and "exit code 1" in status.message
    assert conditions(status)["Ready"] == ("True", "SomeInstancesReady")
    assert conditions(status)["Degraded"] == ("True", "CrashLoopBackOff")


def test_stuck_rollout_is_degraded() -> None:
    """The new image cannot be pulled while the old pods still serve."""
    pods = [
        pod("old-a", ready=True),
        pod("old-b", ready=True),
        pod("new-a", state=waiting("ImagePullBackOff")),
    ]
    status = compute_status(group(), deployment(2, updated=1), pods, NOW)
    assert status.phase == GroupPhase.DEGRADED
    assert "rollout blocked" in status.message


def test_rolling_out_healthy_is_running_and_progressing() -> None:
    pods = [pod("a", ready=True), pod("b", ready=True), pod("c", started=False, age=5)]
    status = compute_status(group(), deployment(2, updated=1), pods, NOW)
    assert status.phase == GroupPhase.RUNNING
    assert conditions(status)["Progressing"] == ("True", "RollingOut")


def test_progress_deadline_exceeded_is_reported() -> None:
    stalled = deployment(
        1,
        conditions=[
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": 'ReplicaSet "llama-1" has timed out progressing.',
            }
        ],
    )
    pods = [pod("llama-a", started=False, age=30)]
    status = compute_status(group({"instances": 1}), stalled, pods, NOW)
    assert status.phase == GroupPhase.FAILED
    assert "timed out progressing" in status.message


def test_terminating_pods_are_ignored() -> None:
    leaving = pod("old", state=waiting("CrashLoopBackOff"), restarts=3)
    leaving["metadata"]["deletionTimestamp"] = stamp(1)
    status = compute_status(
        group({"instances": 1}), deployment(1), [pod("new", ready=True), leaving], NOW
    )
    assert status.phase == GroupPhase.RUNNING
    assert [i.name for i in status.instances] == ["new"]


def test_scaled_to_zero() -> None:
    status = compute_status(group({"instances": 0}), deployment(0), [], NOW)
    assert status.phase == GroupPhase.PENDING
    assert status.ready == "0/0" and "zero" in status.message


def test_evicted_pod_is_a_failure() -> None:
    evicted = pod("llama-a", reason="Evicted", message="The node was low on memory.")
    status = compute_status(group({"instances": 1}), deployment(1), [evicted], NOW)
    assert status.phase == GroupPhase.FAILED
    assert "evicted" in status.message and "low on memory" in status.message


def test_an_evicted_pod_replaced_by_a_ready_one_is_history() -> None:
    # Real evicted pods stay (phase Failed) until garbage-collected; the ReplicaSet replaced it.
    evicted = pod("llama-a", reason="Evicted", message="The node was low on resource: memory.")
    evicted["status"]["phase"] = "Failed"
    replaced = compute_status(
        group({"instances": 1}), deployment(1), [evicted, pod("llama-b", ready=True)], NOW
    )
    assert replaced.phase == GroupPhase.RUNNING
    entry = {i.name: i for i in replaced.instances}["llama-a"]
    assert entry.last_failure_reason == "Evicted"
    booting = compute_status(
        group({"instances": 1}), deployment(1), [evicted, pod("llama-b", age=1)], NOW
    )
    assert booting.phase == GroupPhase.FAILED and "was evicted" in booting.message


def test_config_error_names_the_missing_secret() -> None:
    pods = [pod("llama-a", state=waiting("CreateContainerConfigError", 'secret "hf" not found'))]
    status = compute_status(group({"instances": 1}), deployment(1), pods, NOW)
    assert status.phase == GroupPhase.FAILED
    assert 'secret "hf" not found' in status.message


def test_transition_times_and_carried_fields() -> None:
    earlier = "2026-11-22T11:00:00Z"
    previous = {
        "observedGeneration": 2,
        "tasks": [{"name": "llama-0", "state": "Running"}],
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "AllInstancesReady",
                "lastTransitionTime": earlier,
            },
            {
                "type": "Degraded",
                "status": "True",
                "reason": "OOMKilled",
                "lastTransitionTime": earlier,
            },
        ],
    }
    pods = [pod("a", ready=True), pod("b", ready=True)]
    status = compute_status(group(status=previous), deployment(), pods, NOW)
    times = {c.type: c.last_transition_time for c in status.conditions}
    assert times["Ready"] == datetime(2026, 11, 22, 11, 0, tzinfo=UTC)  # unchanged status
    assert times["Degraded"] == NOW  # True -> False
    assert status.observed_generation == 2
    assert [t.name for t in status.tasks] == ["llama-0"]
    assert all(c.observed_generation == 2 for c in status.conditions)


def test_wire_form_clears_url_and_skips_nested_nulls() -> None:
    status = compute_status(group(), None, [], NOW)
    wire = status_to_wire(status)
    assert wire["url"] is None  # a merge patch removes a stale URL
    assert all(None not in c.values() for c in wire["conditions"])
    assert wire["phase"] == "Pending"


def test_status_changed_ignores_update_time_and_nulls() -> None:
    pods = [pod("a", ready=True), pod("b", ready=True)]
    new = status_to_wire(compute_status(group(), deployment(), pods, NOW))
    stored = {k: v for k, v in new.items() if v is not None}
    stored["lastUpdateTime"] = "2026-11-22T10:00:00Z"
    assert not status_changed(stored, new)
    assert status_changed({**stored, "phase": "Deploying"}, new)
    assert status_changed(None, new)


def test_running_again_between_crashes_is_still_a_crash_loop() -> None:
    """The kubelet restarts the container after the back-off: no flapping to Deploying."""
    pods = [pod("llama-a", started=True, restarts=3, last={"exitCode": 1, "reason": "Error"})]
    status = compute_status(group({"instances": 1}), deployment(1), pods, NOW)
    assert status.phase == GroupPhase.FAILED
    assert conditions(status)["Degraded"] == ("True", "CrashLoopBackOff")
    recovered = [pod("llama-a", ready=True, restarts=3, last={"exitCode": 1, "reason": "Error"})]
    assert compute_status(group({"instances": 1}), deployment(1), recovered, NOW).phase == (
        GroupPhase.RUNNING
    )


def test_a_ready_pod_that_was_oom_killed_once_is_healthy() -> None:
    pods = [pod("llama-a", ready=True, restarts=1, last={"exitCode": 137, "reason": "OOMKilled"})]
    status = compute_status(group({"instances": 1}), deployment(1), pods, NOW)
    assert status.phase == GroupPhase.RUNNING
    assert status.instances[0].last_failure_reason == "OOMKilled"  # still shown as history


def test_instances_name_their_pod_phase_and_the_group_its_export_path() -> None:
    """status.instances[].phase is the pod's phase; status.exportPath is spec.exportPath."""
    pods = [pod("llama-a", ready=True), pod("llama-b", scheduled=False, unschedulable="0/1")]
    status = compute_status(group({"exportPath": "s3://results/llama"}), deployment(), pods, NOW)
    assert [(i.name, i.phase) for i in status.instances] == [
        ("llama-a", "Running"),
        ("llama-b", "Pending"),
    ]
    assert status.export_path == "s3://results/llama"
    assert compute_status(group(), deployment(), pods, NOW).export_path is None
