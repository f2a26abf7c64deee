"""Reading Jobs and log lines into the state machine's views (no API calls)."""

from __future__ import annotations

from kubernetes.client import (
    V1Job,
    V1JobCondition,
    V1JobSpec,
    V1JobStatus,
    V1ObjectMeta,
    V1PodTemplateSpec,
)

from modeleval.reconcile.evaltask_views import job_view, last_line


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
