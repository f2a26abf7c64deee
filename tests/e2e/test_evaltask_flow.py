"""EvalTask end to end: the real operator, API emulator, executor, runner and mock server.

Each test applies its own task (``kubectl apply -f``) against an external endpoint served by an
in-process mock model server, and follows the task's status as a user would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from modeleval.testing.cluster import LocalCluster
from modeleval.testing.mockserver import FaultKind, FaultSettings, MockModelServer

from .evaltask_helpers import (
    History,
    apply,
    get_task,
    inference_finished,
    items,
    jobs,
    kubectl,
    pods_of_job,
    predictions,
    set_suspend,
    status,
    task_manifest,
    wait_status,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster() as running:
        yield running


@pytest.fixture
def mock() -> Iterator[MockModelServer]:
    with MockModelServer(latency_s=0.02).running() as server:
        yield server


def test_task_runs_from_apply_to_succeeded_with_a_score(
    cluster: LocalCluster, mock: MockModelServer
) -> None:
    pytest.importorskip("modeleval.scoring.phase", reason="the scoring phase is not built yet")
    apply(cluster, task_manifest("happy", mock.url, {"inline": items(30)}))
    history = History()
    final = wait_status(
        cluster, "happy", lambda s: s.get("state") in ("Succeeded", "Failed"), history=history
    )
    assert final["state"] == "Succeeded", final.get("message")
    assert final["totalScore"] is not None
    assert final["percentage"] == 100
    assert history.states[0] in (None, "Queued")
    assert history.states[-3:] == ["Running", "RunningWithMetricsCalculating", "Succeeded"]
    assert history.percentages == sorted(history.percentages)
    assert final["startTime"] <= final["endTime"]
    conditions = {c["type"]: c for c in final["conditions"]}
    assert conditions["Succeeded"]["status"] == "True"
    assert mock.stats().duplicates() == {}


def test_inference_progress_is_monotonic_and_reaches_every_item(
    cluster: LocalCluster, mock: MockModelServer
) -> None:
    apply(cluster, task_manifest("progress", mock.url, {"inline": items(40)}))
    history = History()
    final = wait_status(cluster, "progress", inference_finished, history=history)
    assert "Queued" in history.states and "Running" in history.states
    assert history.states.index("Queued") < history.states.index("Running")
    assert history.percentages == sorted(history.percentages), history.percentages
    assert final["progress"]["processed"] == 40
    assert final["target"] == mock.base_url.removeprefix("http://")
    assert final["jobs"]["inference"] == "progress-infer"
    assert final["observedGeneration"] == get_task(cluster, "progress")["metadata"]["generation"]
    assert len(mock.stats().completed_by_item) == 40
    assert mock.stats().duplicates() == {}


def test_kubectl_get_shows_state_progress_score_target_age(
    cluster: LocalCluster, mock: MockModelServer
) -> None:
    apply(cluster, task_manifest("columns", mock.url, {"inline": items(4)}))
    wait_status(cluster, "columns", inference_finished)
    out = kubectl(cluster, "get", "et", "columns").splitlines()
    assert out[0].split() == ["NAME", "STATE", "PROGRESS", "SCORE", "TARGET", "AGE"]
    row = out[1].split()
    assert row[0] == "columns"
    assert row[1] in ("RunningWithMetricsCalculating", "Succeeded", "Failed")
    assert mock.base_url.removeprefix("http://") in row


def test_queued_while_the_target_group_does_not_exist(cluster: LocalCluster) -> None:
    manifest = task_manifest("no-group", "http://unused/v1", {"inline": items(2)})
    manifest["spec"]["models"] = [{"name": "m", "serviceGroupRef": {"name": "missing-group"}}]
    apply(cluster, manifest)
    st = wait_status(cluster, "no-group", lambda s: s.get("state") == "Queued")
    assert "missing-group (not found)" in st["message"]
    time.sleep(1.5)
    assert status(cluster, "no-group")["state"] == "Queued"
    assert "no-group-infer" not in jobs(cluster)


def test_suspend_stops_and_resume_finishes_without_sending_an_item_twice(
    cluster: LocalCluster,
) -> None:
    with MockModelServer(latency_s=0.15).running() as slow:
        apply(cluster, task_manifest("pausable", slow.url, {"inline": items(60, "p")}))
        wait_status(cluster, "pausable", lambda s: (s.get("percentage") or 0) >= 15)
        set_suspend(cluster, "pausable", True)
        history = History()
        stopped = wait_status(
            cluster, "pausable", lambda s: s.get("state") == "Stopped", history=history
        )
        assert "partial results are kept" in stopped["message"]
        assert "pausable-infer" not in jobs(cluster)
        # The stopped runner finishes the requests it has in flight, then exits.
        time.sleep(2.0)
        answered = len(slow.stats().completed_by_item)
        assert 0 < answered < 60
        time.sleep(1.0)
        assert len(slow.stats().completed_by_item) == answered, "requests after Stopped"
        set_suspend(cluster, "pausable", False)
        final = wait_status(cluster, "pausable", inference_finished, timeout=120)
        assert final["progress"]["processed"] == 60
        assert len(slow.stats().completed_by_item) == 60
        assert slow.stats().duplicates() == {}


def test_killing_the_runner_pod_midway_gives_the_same_results(cluster: LocalCluster) -> None:
    dataset = {"inline": items(60, "k")}
    with MockModelServer(latency_s=0.1).running() as reference:
        apply(cluster, task_manifest("uninterrupted", reference.url, dataset))
        clean = wait_status(cluster, "uninterrupted", inference_finished, timeout=120)
    with MockModelServer(latency_s=0.1).running() as served:
        apply(cluster, task_manifest("killed", served.url, dataset))
        wait_status(cluster, "killed", lambda s: (s.get("percentage") or 0) >= 40)
        running = [
            p
            for p in pods_of_job(cluster, "killed-infer")
            if (p.get("status") or {}).get("phase") == "Running"
        ]
        assert running, "no running runner pod"
        kubectl(cluster, "delete", "pod", running[0]["metadata"]["name"], "--wait=false")
        final = wait_status(cluster, "killed", inference_finished, timeout=120)
        retried = [p["metadata"]["name"] for p in pods_of_job(cluster, "killed-infer")]
        assert retried and running[0]["metadata"]["name"] not in retried
        assert served.stats().duplicates() == {}
        assert max(served.stats().by_item.values()) == 1, "an item was requested twice"
    got = predictions(final["inferenceResults"][0]["location"])
    want = predictions(clean["inferenceResults"][0]["location"])
    assert got == want and len(got) == 60


def test_injected_faults_still_complete_every_item(cluster: LocalCluster) -> None:
    faults = FaultSettings(
        rate=0.1,
        kinds=(FaultKind.SERVER_ERROR, FaultKind.UNAVAILABLE, FaultKind.RATE_LIMIT),
        seed=7,
        retry_after_s=0.05,
    )
    with MockModelServer(latency_s=0.01, faults=faults).running() as flaky:
        manifest = task_manifest(
            "flaky", flaky.url, {"inline": items(60, "f")}, parallel=4, client={"maxRetries": 8}
        )
        apply(cluster, manifest)
        final = wait_status(cluster, "flaky", inference_finished, timeout=120)
        stats = flaky.stats()
        assert sum(n for code, n in stats.by_status.items() if code != "200") > 0
    assert final["progress"]["processed"] == 60
    assert final["progress"]["failed"] == 0
    assert len(stats.completed_by_item) == 60
    assert stats.duplicates() == {}


def test_unreachable_endpoint_fails_with_a_clear_message(cluster: LocalCluster) -> None:
    manifest = task_manifest(
        "unreachable",
        "http://127.0.0.1:9/v1",
        {"inline": items(4)},
        runner={"backoffLimit": 0},
        client={"maxRetries": 0, "connectTimeoutSeconds": 1},
    )
    apply(cluster, manifest)
    final = wait_status(cluster, "unreachable", lambda s: s.get("state") == "Failed", timeout=60)
    message = final["message"]
    assert "inference Job unreachable-infer failed" in message
    assert "exited with code 1" in message
    assert final["conditions"][2]["type"] == "Failed"
    assert final["conditions"][2]["status"] == "True"
