"""Real Pod and Job status objects (tests/fixtures/kubelet, sources in its README) are
diagnosed as their ``expected`` says.

Every Pod fixture goes through the model-server diagnosis (``diagnose_pod``: the cause, the
exit code, and the kubelet's words the user must see in the message) and, where a runner pod
could look like it, through the runner's failure message (``runner_failure``). Job fixtures go
through the EvalTask state machine's view of a failed Job.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import (
    V1Job,
    V1JobCondition,
    V1JobSpec,
    V1JobStatus,
    V1ObjectMeta,
    V1PodTemplateSpec,
)

from modeleval.api import ModelEvalServiceGroup
from modeleval.reconcile.evaltask_state import Observed, Phase, next_step
from modeleval.reconcile.evaltask_views import job_view, runner_failure
from modeleval.reconcile.pod_failures import Cause, diagnose_pod, parse_time
from tests.support.paths import REPO

FIXTURES = REPO / "tests" / "fixtures" / "kubelet"
NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)

CAUSES: dict[str, Cause | None] = {
    "image-pull": Cause.IMAGE_PULL,
    "config-error": Cause.CONFIG,
    "crash-loop": Cause.CRASH_LOOP,
    "oom-killed": Cause.OOM_KILLED,
    "boot-timeout": Cause.BOOT_TIMEOUT,
    "unschedulable": Cause.UNSCHEDULABLE,
    "evicted": Cause.EVICTED,
    "node-shutdown": Cause.NODE_SHUTDOWN,
    "admission-error": Cause.ADMISSION,
    "container-status-unknown": Cause.STATUS_UNKNOWN,
    # Ready now: no current failure; the previous exit is shown as the instance's history.
    "other": None,
    "probe-failure": None,
}
"""The fixtures' cause words -> the operator's causes."""

JOB_REASONS = {"job-backoff-limit": "BackoffLimitExceeded", "job-deadline": "DeadlineExceeded"}

SHOWN: dict[str, list[str]] = {
    "01": ["ImagePullBackOff", 'Back-off pulling image "docker.io/cdrage/helloworldasdf"'],
    "02": ["ImagePullBackOff", "kafka-topics-docker:e96fc1de7c8dbb6c463a8106786d9df20c3ff80d"],
    # describe prints no waiting.message: the registry's words are only in Events (excerpt).
    "03": ["ErrImagePull", "yourcompany/crw:latest"],
    "04": ["InvalidImageName", "invalid reference format", "<U+200B>"],
    "05": ["InvalidImageName", "repository name must be lowercase"],
    "06": [
        "CreateContainerConfigError",
        "couldn't find key SECURE_DATA in Secret default/deno-demo-secret",
    ],
    "07": [
        "init container install-cni",
        "CreateContainerConfigError",
        "services have not yet been read at least once, cannot construct envvars",
    ],
    "08": ["RunContainerError", 'exec: "start": executable file not found in $PATH'],
    "09": ["init container downloader", "StartError", 'exec: "wge": executable file not found'],
    "17": ["OOMKilled", "100Mi"],
    "18": ["OOMKilled"],
    "19": ["OOMKilled"],
    "20": ["evicted", "The node had condition: [DiskPressure]."],
    "21": [
        "evicted",
        "The node was low on resource: ephemeral-storage. Container sparkoperator was using "
        "31748Ki, which exceeds its request of 0.",
    ],
    "22": [
        "evicted",
        "Pod ephemeral local storage usage exceeds the total limit of containers 10Mi.",
    ],
    "23": [
        "evicted",
        "The node was low on resource: memory. Container proprietary-crawler was using "
        "9402820Ki, which exceeds its request of 7G.",
    ],
    "24": ["evicted", "ephemeral-storage. Threshold quantity: 1Gi, available: 0."],
    "25": [
        "evicted by the kubelet",
        "Threshold quantity: 1Gi, available: 898240Ki. Container discovery was using 4Ki",
    ],
    "26": [
        "evicted by the kubelet",
        "The node was low on resource: memory. Threshold quantity: 750Mi, available: 766004Ki.",
    ],
    "27": ["evicted", "exceeds the total limit of containers 3135368Ki."],
    "28": ["preempted by the scheduler", "higher priority pod: default/pause2"],
    "29": ["ContainerStatusUnknown", "could not be located when the pod was terminated"],
    "30": ["ContainerStatusUnknown", "could not be located when the pod was deleted"],
    "31": ["0/3 nodes are available: 3 Insufficient cpu."],
    "32": ["10 node(s) didn't match node selector, 4 Insufficient cpu."],
    "33": ["1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are available"],
    "39": ["shut", "Pod was terminated in response to imminent node shutdown."],
    "40": ["shut", "Pod was terminated in response to imminent node shutdown."],
    "41": ["shut", "Node is shutting, evicting pods"],
    "42": [
        "rejected by the kubelet",
        "UnexpectedAdmissionError",
        "container wait-gcs-ready unable to find GPU device allocation by scheduler",
    ],
    "43": ["rejected by the kubelet", "UnexpectedAdmissionError", "nvml: GPU is lost"],
}
"""What the user must see, in the group's message and in the runner's: the kubelet's words."""

GROUP_SHOWN: dict[str, list[str]] = {
    "09": ["6 restarts"],
    "10": ["keeps crashing", "exit code 255, Error", "7 restarts", "5m0s"],
    "11": ["container node", "keeps crashing", "exit code 2, Error"],
    "12": ["keeps crashing", "exit code 0, Completed", "6 restarts"],
    "13": [
        "exit code 2: ",
        'msg="Error loading config (--config.file=/etc/prometheus/config_out/prometheus.env.yaml)"',
    ],
    "14": ["exit code 255", "only a stack trace"],
    "15": ["exit code 3, Error"],
    "16": ["exit code 2, Error"],
    "17": ["exit code 137", "6 restarts"],
    "18": ["exit code 0"],
    "19": ["exit code 0"],
    "29": ["placeholder"],
    "30": ["placeholder"],
    "31": ["insufficient cpu"],
    "32": ["insufficient cpu"],
    "33": ["insufficient nvidia.com/gpu (5 requested)"],
    "34": ["exit code 137", "liveness probe"],
    "35": ["boot timeout", "last exit code 137"],
}
"""What the group's message says beyond the kubelet's words (history for Ready pods)."""

RUNNER_SHOWN: dict[str, list[str]] = {
    "15": ["see kubectl logs"],  # no termination message: the handler reads the log instead
    "16": ["see kubectl logs"],
    "29": ["placeholder exit code 137"],
    "30": ["placeholder exit code 137"],
}

NOT_RUNNER = {
    "12": "a loop after exit 0 needs restartPolicy Always; runner pods use Never",
    "13": "Ready now: nothing failed",
    "14": "Ready now: nothing failed",
    "34": "Ready now: nothing failed",
}

EXIT_INCIDENTAL = {"evicted", "node-shutdown", "container-status-unknown"}
"""Causes whose exit code is not the failure (a SIGTERM reaction or a placeholder): the
runner's message need not show it."""

NOT_CHECKED = {
    "36": "exit code 1 is the pods' exit in the issue's manifest, not in the Job status",
}


@cache
def _parsed(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def load(path: Path) -> dict[str, Any]:
    """A fresh copy of the fixture (the code under test must not see another test's edits)."""
    return copy.deepcopy(_parsed(path))


PATHS = sorted(FIXTURES.glob("*.yaml"))
POD_PATHS = [p for p in PATHS if load(p)["pod"].get("kind") != "Job"]
JOB_PATHS = [p for p in PATHS if load(p)["pod"].get("kind") == "Job"]


def group() -> ModelEvalServiceGroup:
    return ModelEvalServiceGroup.model_validate(
        {"metadata": {"name": "g", "namespace": "n"}, "spec": {"image": "img", "instances": 1}}
    )


def key(path: Path) -> str:
    return path.name[:2]


def test_the_fixtures_are_real_and_many() -> None:
    assert len(PATHS) >= 40
    for path in PATHS:
        data = load(path)
        assert str(data["source"]).startswith("https://"), path.name
        assert data["expected"]["cause"] in {*CAUSES, *JOB_REASONS}, path.name
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    assert "MIT" in readme and "Apache" in readme


@pytest.mark.parametrize("path", POD_PATHS, ids=key)
def test_a_model_server_pod_is_diagnosed_as_expected(path: Path) -> None:
    data = load(path)
    expected, pod = data["expected"], data["pod"]
    started = parse_time((pod.get("status") or {}).get("startTime"))
    now = (started or NOW) + timedelta(hours=2)  # past any boot time
    diagnosis = diagnose_pod(group(), pod, now)
    assert diagnosis.cause == CAUSES[expected["cause"]], diagnosis.message
    if diagnosis.cause is None:  # not failing now: the previous run is history
        said = diagnosis.instance.last_failure_message or ""
        assert f"exit code {expected['exitCode']}" in said
    else:
        said = diagnosis.message or ""
        assert diagnosis.exit_code == expected["exitCode"]
    for text in [*SHOWN.get(key(path), []), *GROUP_SHOWN.get(key(path), [])]:
        assert text in said, f"{text!r} not in {said!r}"
    if expected["cause"] != "oom-killed":
        assert "OOM" not in said
    assert "nvidia.com/gpu." not in said.replace("Insufficient nvidia.com/gpu.", "")


@pytest.mark.parametrize("path", [p for p in POD_PATHS if key(p) not in NOT_RUNNER], ids=key)
def test_a_runner_pod_failure_says_what_the_kubelet_said(path: Path) -> None:
    data = load(path)
    expected = data["expected"]
    failure = runner_failure(data["pod"])
    assert failure is not None
    said = failure.message()
    for text in [*SHOWN.get(key(path), []), *RUNNER_SHOWN.get(key(path), [])]:
        assert text in said, f"{text!r} not in {said!r}"
    if expected["exitCode"] is not None and expected["cause"] not in EXIT_INCIDENTAL:
        assert failure.exit_code == expected["exitCode"]
        assert f"exited with code {expected['exitCode']}" in said
    if expected["cause"] != "oom-killed":
        assert "OOM" not in said


def job(raw: dict[str, Any]) -> V1Job:
    status = raw.get("status") or {}
    conditions = [
        V1JobCondition(
            type=c["type"],
            status=c["status"],
            reason=c.get("reason"),
            message=c.get("message"),
            last_probe_time=c.get("lastProbeTime"),
            last_transition_time=c.get("lastTransitionTime"),
        )
        for c in status.get("conditions") or []
    ]
    return V1Job(
        metadata=V1ObjectMeta(name=(raw.get("metadata") or {}).get("name") or "T-infer"),
        spec=V1JobSpec(template=V1PodTemplateSpec()),
        status=V1JobStatus(
            conditions=conditions,
            failed=status.get("failed"),
            succeeded=status.get("succeeded"),
            active=status.get("active"),
        ),
    )


@pytest.mark.parametrize("path", JOB_PATHS, ids=key)
def test_a_failed_job_fails_the_task_with_its_reason(path: Path) -> None:
    data = load(path)
    reason = JOB_REASONS[data["expected"]["cause"]]
    view = job_view(job(data["pod"]))
    assert view.failed and not view.complete
    assert view.reason == reason
    observed = Observed(task="T", state=None, phases=(Phase.INFER,), jobs={Phase.INFER: view})
    decision = next_step(observed)
    message = decision.message or ""
    assert reason in message
    for c in data["pod"]["status"]["conditions"]:
        assert c["message"] in message
    if data["expected"]["exitCode"] is not None:
        assert key(path) in NOT_CHECKED  # the Job's status carries no exit code
