"""Reading Jobs and log lines into the state machine's views (no API calls)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubernetes.client import (
    V1Container,
    V1ContainerState,
    V1ContainerStateTerminated,
    V1ContainerStateWaiting,
    V1ContainerStatus,
    V1Job,
    V1JobCondition,
    V1JobSpec,
    V1JobStatus,
    V1ObjectMeta,
    V1Pod,
    V1PodCondition,
    V1PodSpec,
    V1PodStatus,
    V1PodTemplateSpec,
    V1ResourceRequirements,
)

from modeleval.reconcile.evaltask_views import (
    job_view,
    last_line,
    last_pod_failure,
    pod_failure_message,
    runner_failure,
)


def job(
    status: V1JobStatus | None, *, suspend: bool | None = None, deleting: bool = False
) -> V1Job:
    meta = V1ObjectMeta(
        name="t-infer",
        namespace="ns",
        deletion_timestamp="2026-11-22T20:00:00Z" if deleting else None,
    )
    return V1Job(
        metadata=meta,
        spec=V1JobSpec(template=V1PodTemplateSpec(), suspend=suspend),
        status=status,
    )


def test_a_job_just_created_has_no_status_and_has_not_started() -> None:
    view = job_view(job(None))
    assert (view.started, view.complete, view.failed, view.suspended, view.deleting) == (
        False,
        False,
        False,
        False,
        False,
    )


def test_active_and_suspended_jobs() -> None:
    assert job_view(job(V1JobStatus(active=1))).started
    assert job_view(job(V1JobStatus(), suspend=True)).suspended
    assert job_view(job(V1JobStatus(active=1), deleting=True)).deleting


def test_complete_and_failed_conditions() -> None:
    complete = V1JobStatus(succeeded=1, conditions=[V1JobCondition(type="Complete", status="True")])
    assert job_view(job(complete)).complete
    failed = V1JobStatus(
        failed=1,
        conditions=[
            V1JobCondition(type="FailureTarget", status="True", reason="DeadlineExceeded"),
            V1JobCondition(
                type="Failed",
                status="True",
                reason="DeadlineExceeded",
                message="Job was active longer than specified deadline",
            ),
        ],
    )
    view = job_view(job(failed))
    assert view.failed and not view.complete
    assert view.reason == "DeadlineExceeded"
    assert view.detail == "Job was active longer than specified deadline"
    assert view.pod_failure is None
    not_yet = V1JobStatus(conditions=[V1JobCondition(type="Failed", status="False")])
    assert not job_view(job(not_yet)).failed


def test_last_line_strips_the_log_prefix_and_keeps_plain_text() -> None:
    log = (
        "2026-11-22 20:00:00,001 INFO modeleval.runner: loading\n"
        "2026-11-22 20:00:01,002 ERROR modeleval.runner: bad dataset: qa.jsonl:3: invalid JSON\n\n"
    )
    assert last_line(log) == "bad dataset: qa.jsonl:3: invalid JSON"
    assert last_line("inference failed: 3/3 items failed\n") == "inference failed: 3/3 items failed"
    assert last_line("") == ""
    assert len(last_line("x" * 2000)) == 500


def test_last_line_skips_a_stack_trace_tail() -> None:
    log = "ValueError: bad row\nmain.main()\n\t/src/main.go:12 +0x1d\n"
    assert last_line(log) == "ValueError: bad row"


def runner_pod(
    name: str = "t-infer-x",
    term: V1ContainerStateTerminated | None = None,
    *,
    waiting: V1ContainerStateWaiting | None = None,
    **status: Any,
) -> V1Pod:
    statuses = None
    if term is not None or waiting is not None:
        state = V1ContainerState(terminated=term, waiting=waiting)
        statuses = [
            V1ContainerStatus(
                name="runner", image="runner:1", image_id="", ready=False, restart_count=0,
                state=state,
            )
        ]  # fmt: skip
    limits = V1ResourceRequirements(limits={"memory": "4Gi"})
    return V1Pod(
        metadata=V1ObjectMeta(name=name),
        spec=V1PodSpec(containers=[V1Container(name="runner", resources=limits)]),
        status=V1PodStatus(container_statuses=statuses, **{"phase": "Failed", **status}),
    )


def ended(code: int, reason: str = "Error", message: str | None = None, hour: int = 12) -> Any:
    return V1ContainerStateTerminated(
        exit_code=code,
        reason=reason,
        message=message,
        finished_at=datetime(2026, 11, 22, hour, tzinfo=UTC),
    )


def test_the_last_failed_pod_of_a_job_is_the_one_shown() -> None:
    pods = [
        runner_pod("t-infer-b", ended(1, message="bad dataset: qa.jsonl:3: invalid JSON", hour=13)),
        runner_pod("t-infer-a", ended(1, message="earlier", hour=11)),
        runner_pod("t-infer-c", ended(0, "Completed", hour=14)),
    ]
    failure = last_pod_failure(pods)
    assert failure is not None and failure.exit_code == 1
    assert failure.message() == (
        "pod t-infer-b exited with code 1: bad dataset: qa.jsonl:3: invalid JSON"
    )
    assert last_pod_failure([pods[2]]) is None


def test_no_termination_message_asks_for_the_log() -> None:
    failure = runner_failure(runner_pod(term=ended(3)))
    assert failure is not None and failure.wants_log
    assert failure.message() == "pod t-infer-x exited with code 3; see kubectl logs t-infer-x"
    log = "2026-11-22 20:00:01,002 ERROR modeleval.runner: boom\n"
    assert failure.message(log) == "pod t-infer-x exited with code 3: boom"


def test_oom_evicted_and_node_shutdown_runner_pods_are_named() -> None:
    oom = runner_failure(runner_pod(term=ended(137, "OOMKilled")))
    assert oom is not None
    assert oom.message().startswith(
        "pod t-infer-x exited with code 137 (OOMKilled: over its memory limit of 4Gi)"
    )
    evicted = runner_failure(
        runner_pod(reason="Evicted", message="The node was low on resource: memory. ")
    )
    assert evicted is not None
    assert evicted.message() == ("pod t-infer-x was evicted: The node was low on resource: memory.")
    target = V1PodCondition(
        type="DisruptionTarget",
        status="True",
        reason="TerminationByKubelet",
        message="Pod was terminated in response to imminent node shutdown.",
    )
    shutdown = runner_failure(runner_pod(term=ended(143), conditions=[target]))
    assert shutdown is not None
    assert shutdown.message() == (
        "pod t-infer-x was stopped by a shutdown of its node: Pod was terminated in response "
        "to imminent node shutdown. (the runner exited with code 143)"
    )


def test_a_runner_pod_that_never_started_says_why() -> None:
    waiting = V1ContainerStateWaiting(
        reason="CreateContainerConfigError", message='secret "llm" not found'
    )
    failure = runner_failure(runner_pod(waiting=waiting, phase="Pending"))
    assert failure is not None
    assert failure.message() == (
        'pod t-infer-x cannot start (CreateContainerConfigError): secret "llm" not found'
    )


def test_a_stack_trace_termination_message_is_not_quoted() -> None:
    dump = "goroutine 7 [running]:\nmain.main()\n\t/src/main.go:12 +0x1d\n"
    message = pod_failure_message("P", ended(2, message=dump))
    assert message == (
        "pod P exited with code 2: its termination message is only a stack trace; "
        "see kubectl logs P"
    )
