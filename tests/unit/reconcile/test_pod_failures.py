"""diagnose_pod on the shapes real kubelets write (tests/fixtures/kubelet has the real objects)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from modeleval.api import ModelEvalServiceGroup
from modeleval.reconcile.pod_failures import Cause, diagnose_pod, parse_time, telling_line

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
BACK_OFF = "back-off 5m0s restarting failed container=model-server pod=P_evals(0b0e-uid)"


def stamp(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def group(**spec: Any) -> ModelEvalServiceGroup:
    return ModelEvalServiceGroup.model_validate(
        {
            "metadata": {"name": "llama", "namespace": "evals"},
            "spec": {"image": "vllm:1", "instances": 1, "health": {"bootTimeSeconds": 600}, **spec},
        }
    )


def pod(
    container: dict[str, Any] | None = None,
    *,
    age: float = 3600,
    init: dict[str, Any] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    **status: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "phase": "Running",
        "startTime": stamp(age),
        "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Ready", "status": "False", "lastTransitionTime": stamp(age)},
            *(conditions or []),
        ],
        **status,
    }
    if container is not None:
        body["containerStatuses"] = [{"name": "model-server", "ready": False, **container}]
    if init is not None:
        body["initContainerStatuses"] = [init]
    return {"metadata": {"name": "P"}, "spec": {"nodeName": "n1"}, "status": body}


def crash(code: int, reason: str = "Error", message: str = "", **more: Any) -> dict[str, Any]:
    term = {"exitCode": code, "reason": reason, **more}
    if message:
        term["message"] = message
    return term


def looping(last: dict[str, Any], restarts: int = 4, **more: Any) -> dict[str, Any]:
    return {
        "restartCount": restarts,
        "started": False,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": BACK_OFF}},
        "lastState": {"terminated": last},
        **more,
    }


def test_a_crash_loop_past_the_boot_time_keeps_its_exit_code_and_message() -> None:
    message = "loading weights\nValueError: model 'qwen' not found under /models\n"
    diagnosis = diagnose_pod(group(), pod(looping(crash(1, message=message)), age=3600), NOW)
    assert diagnosis.cause == Cause.CRASH_LOOP
    assert diagnosis.exit_code == 1
    assert diagnosis.message == (
        "container of pod P keeps crashing (CrashLoopBackOff): exit code 1, Error, 4 restarts "
        "(back-off 5m0s): ValueError: model 'qwen' not found under /models"
    )


def test_a_crash_loop_after_exit_0_is_a_crash_loop() -> None:
    diagnosis = diagnose_pod(group(), pod(looping(crash(0, "Completed"))), NOW)
    assert (diagnosis.cause, diagnosis.exit_code) == (Cause.CRASH_LOOP, 0)


def test_probe_kills_before_start_are_still_a_boot_timeout_with_the_exit_code() -> None:
    diagnosis = diagnose_pod(group(), pod(looping(crash(137))), NOW)
    assert diagnosis.cause == Cause.BOOT_TIMEOUT
    assert diagnosis.message is not None and diagnosis.message.endswith("(last exit code 137)")


def test_a_long_termination_message_is_trimmed_and_a_stack_tail_is_not_quoted() -> None:
    long = diagnose_pod(group(), pod(looping(crash(1, message="E" * 5000))), NOW)
    assert long.message is not None and long.message.endswith("E" * 299 + "…")
    dump = (
        "k8s.io/client-go/util/workqueue.(*Type).updateUnfinishedWorkLoop(0xc0010dcc00)\n"
        "\t/go/src/k8s.io/client-go/util/workqueue/queue.go:198 +0xac\n"
        "created by k8s.io/client-go/util/workqueue.newQueue\n"
        "\t/go/src/k8s.io/client-go/util/workqueue/queue.go:58 +0x135\n\n"
        "goroutine 401 [select]:\n"
    )
    stack = diagnose_pod(group(), pod(looping(crash(2, message=dump))), NOW)
    assert stack.message is not None
    assert stack.message.endswith("its termination message is only a stack trace (see the log)")


def test_telling_line_skips_frames_and_log_prefixes() -> None:
    traceback = 'Traceback (most recent call last):\n  File "a.py", line 3, in <module>\n'
    assert telling_line(traceback + "KeyError: 'x'\n") == "KeyError: 'x'"
    assert telling_line("2026-11-22 20:00:01,002 ERROR modeleval.runner: boom\n") == "boom"
    assert telling_line("main.main()\n\t/src/main.go:12 +0x1d\n") == ""
    assert telling_line(None) == ""


def test_eviction_seen_only_in_the_disruption_target_condition() -> None:
    target = {
        "type": "DisruptionTarget",
        "status": "True",
        "reason": "TerminationByKubelet",
        "message": "The node was low on resource: memory. ",
    }
    done = {"state": {"terminated": crash(0, "Completed")}}
    diagnosis = diagnose_pod(group(), pod(done, phase="Succeeded", conditions=[target]), NOW)
    assert diagnosis.cause == Cause.EVICTED
    assert diagnosis.message == (
        "pod P was evicted by the kubelet: The node was low on resource: memory."
    )
    drained = {**target, "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"}
    assert diagnose_pod(group(), pod(conditions=[drained]), NOW).cause == Cause.EVICTED
    stale = {**target, "status": "False"}
    assert diagnose_pod(group(), pod(conditions=[stale]), NOW).cause is None


def test_a_placeholder_does_not_hide_the_real_exit_or_the_pods_reason() -> None:
    lost = crash(137, "ContainerStatusUnknown", "The container could not be located")
    real = {"restartCount": 3, "state": {"terminated": lost}, "lastState": {"terminated": crash(1)}}
    diagnosis = diagnose_pod(group(), pod(real), NOW)
    assert (diagnosis.cause, diagnosis.exit_code) == (Cause.CRASH_LOOP, 1)
    evicted = pod({"state": {"terminated": lost}}, phase="Failed", reason="Evicted", message="m")
    assert diagnose_pod(group(), evicted, NOW).cause == Cause.EVICTED
    alone = diagnose_pod(group(), pod({"state": {"terminated": lost}}, phase="Failed"), NOW)
    assert alone.cause == Cause.STATUS_UNKNOWN
    assert alone.message is not None and "placeholder" in alone.message
    assert "OOM" not in alone.message and "boot" not in alone.message


def test_node_shutdown_and_admission_errors() -> None:
    shutdown = pod(
        phase="Failed",
        reason="Terminated",
        message="Pod was terminated in response to imminent node shutdown.",
    )
    assert diagnose_pod(group(), shutdown, NOW).cause == Cause.NODE_SHUTDOWN
    rejected = pod(phase="Failed", reason="OutOfnvidia.com/gpu", message="Node didn't have enough")
    diagnosis = diagnose_pod(group(), rejected, NOW)
    assert diagnosis.cause == Cause.ADMISSION
    assert diagnosis.message == (
        "pod P was rejected by the kubelet of its node (OutOfnvidia.com/gpu): "
        "Node didn't have enough"
    )


def test_oom_killed_with_exit_0_is_oom() -> None:
    diagnosis = diagnose_pod(group(), pod({"state": {"terminated": crash(0, "OOMKilled")}}), NOW)
    assert (diagnosis.cause, diagnosis.exit_code) == (Cause.OOM_KILLED, 0)


def test_init_container_failures_name_the_init_container() -> None:
    start = crash(128, "StartError", 'exec: "wge": executable file not found in $PATH')
    init = {"name": "fetch", **looping(start, restarts=6)}
    waiting = {"state": {"waiting": {"reason": "PodInitializing"}}}
    diagnosis = diagnose_pod(group(), pod(waiting, init=init, phase="Pending"), NOW)
    assert diagnosis.cause == Cause.CRASH_LOOP and diagnosis.exit_code == 128
    assert diagnosis.message == (
        "init container fetch of pod P cannot start its process (exit code 128, StartError), "
        '6 restarts (back-off 5m0s): exec: "wge": executable file not found in $PATH'
    )
    config = {
        "name": "fetch",
        "state": {"waiting": {"reason": "CreateContainerConfigError", "message": "no key K"}},
    }
    assert diagnose_pod(group(), pod(waiting, init=config), NOW).cause == Cause.CONFIG
    done = {"name": "fetch", "state": {"terminated": crash(0, "Completed")}}
    assert diagnose_pod(group(), pod({"ready": True, "state": {}}, init=done), NOW).cause is None


def test_the_insufficient_resource_loses_the_sentence_period() -> None:
    unscheduled = {
        "metadata": {"name": "P"},
        "spec": {"containers": [{"resources": {"limits": {"nvidia.com/gpu": 2}}}]},
        "status": {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. "
                    "preemption: 0/3 nodes are available: 3 No preemption victims found.",
                }
            ],
        },
    }
    diagnosis = diagnose_pod(group(), unscheduled, NOW)
    assert diagnosis.message is not None
    assert diagnosis.message.startswith(
        "pod P cannot be scheduled: insufficient nvidia.com/gpu (2 requested); 0/3 nodes"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-22T12:00:00Z", NOW),
        ("2026-11-22T13:00:00+01:00", NOW),
        ("2026-11-2212:00:00Z", NOW),
        (datetime(2026, 11, 22, 12), NOW),
        ("1970-01-01T00:00:00Z", None),
        ("0001-01-01T00:00:00Z", None),
        ("<redacted>", None),
        (12, None),
        (None, None),
    ],
)
def test_parse_time_never_raises(value: Any, expected: datetime | None) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize(
    "status",
    [
        None,
        {},
        {"containerStatuses": "x", "conditions": ["x", None]},
        {"startTime": "yesterday", "containerStatuses": [None, {"restartCount": "many"}]},
        {
            "containerStatuses": [
                {"lastState": {"terminated": {"exitCode": "<redacted>", "finishedAt": 5}}}
            ]
        },
        {"initContainerStatuses": [{"state": {"waiting": None}}], "reason": None},
    ],
)
def test_odd_statuses_do_not_raise(status: Any) -> None:
    diagnosis = diagnose_pod(group(), {"metadata": None, "status": status}, NOW)
    assert diagnosis.instance.name == ""
