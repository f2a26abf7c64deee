"""EvalTask end to end: the real operator, API emulator, executor, runner and mock server.

Each test applies its own task (``kubectl apply -f``) against an external endpoint served by an
in-process mock model server, and follows the task's status as a user would.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from modeleval_testkit.cluster import ClusterAccess, LocalCluster
from modeleval_testkit.mockserver import FaultKind, FaultSettings, MockModelServer

from .evaltask_helpers import (
    History,
    apply,
    event_reasons,
    get_task,
    inference_finished,
    items,
    jobs,
    pods_of_job,
    predictions,
    set_suspend,
    status,
    task_manifest,
    wait_status,
)

# The mock model server listens on this machine's loopback: local executor only.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.needs_executor]


@pytest.fixture
def cluster(local_cluster: ClusterAccess) -> ClusterAccess:
    return local_cluster


@pytest.fixture
def mock() -> Iterator[MockModelServer]:
    with MockModelServer(latency_s=0.02).running() as server:
        yield server


def finished(st: dict[str, object]) -> bool:
    return st.get("state") in ("Succeeded", "Failed")


def test_task_runs_from_apply_to_succeeded_with_a_score(
    namespace: str, cluster: ClusterAccess, mock: MockModelServer
) -> None:
    pytest.importorskip("modeleval.runner.score", reason="the scoring phase is not built yet")
    apply(cluster, task_manifest("happy", namespace, mock.url, {"inline": items(30)}))
    history = History()
    final = wait_status(
        cluster,
        namespace,
        "happy",
        lambda s: s.get("state") in ("Succeeded", "Failed"),
        history=history,
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
    namespace: str, cluster: ClusterAccess, mock: MockModelServer
) -> None:
    apply(cluster, task_manifest("progress", namespace, mock.url, {"inline": items(40)}))
    history = History()
    final = wait_status(cluster, namespace, "progress", inference_finished, history=history)
    assert "Running" in history.states
    reasons = event_reasons(cluster, namespace, "progress")
    assert "JobCreated" in reasons and "InferRunning" in reasons, reasons
    assert reasons.index("JobCreated") < reasons.index("InferRunning")
    assert history.percentages == sorted(history.percentages), history.percentages
    assert final["progress"]["processed"] == 40
    assert final["target"] == mock.base_url.removeprefix("http://")
    assert final["jobs"]["inference"] == "progress-infer"
    assert (
        final["observedGeneration"]
        == get_task(cluster, namespace, "progress")["metadata"]["generation"]
    )
    assert len(mock.stats().completed_by_item) == 40
    assert mock.stats().duplicates() == {}


def test_kubectl_get_shows_state_progress_score_target_age(
    namespace: str, cluster: ClusterAccess, mock: MockModelServer
) -> None:
    apply(cluster, task_manifest("columns", namespace, mock.url, {"inline": items(4)}))
    wait_status(cluster, namespace, "columns", inference_finished)
    out = cluster.kubectl("get", "et", "columns", "-n", namespace).stdout.splitlines()
    assert out[0].split() == ["NAME", "STATE", "PROGRESS", "SCORE", "TARGET", "AGE"]
    row = out[1].split()
    assert row[0] == "columns"
    assert row[1] in ("RunningWithMetricsCalculating", "Succeeded", "Failed")
    assert mock.base_url.removeprefix("http://") in row


def test_queued_while_the_target_group_does_not_exist(
    namespace: str, cluster: ClusterAccess
) -> None:
    manifest = task_manifest("no-group", namespace, "http://unused/v1", {"inline": items(2)})
    manifest["spec"]["models"] = [{"name": "m", "serviceGroupRef": {"name": "missing-group"}}]
    apply(cluster, manifest)
    st = wait_status(cluster, namespace, "no-group", lambda s: s.get("state") == "Queued")
    assert "missing-group (not found)" in st["message"]
    time.sleep(1.5)
    assert status(cluster, namespace, "no-group")["state"] == "Queued"
    assert "no-group-infer" not in jobs(cluster, namespace)


def test_suspend_stops_and_resume_finishes_without_sending_an_item_twice(
    namespace: str,
    cluster: ClusterAccess,
) -> None:
    with MockModelServer(latency_s=0.15).running() as slow:
        apply(cluster, task_manifest("pausable", namespace, slow.url, {"inline": items(60, "p")}))
        wait_status(cluster, namespace, "pausable", lambda s: (s.get("percentage") or 0) >= 15)
        set_suspend(cluster, namespace, "pausable", True)
        history = History()
        stopped = wait_status(
            cluster, namespace, "pausable", lambda s: s.get("state") == "Stopped", history=history
        )
        assert "partial results are kept" in stopped["message"]
        assert "pausable-infer" not in jobs(cluster, namespace)
        # The stopped runner finishes the requests it has in flight, then exits.
        time.sleep(2.0)
        answered = len(slow.stats().completed_by_item)
        assert 0 < answered < 60
        time.sleep(1.0)
        assert len(slow.stats().completed_by_item) == answered, "requests after Stopped"
        set_suspend(cluster, namespace, "pausable", False)
        final = wait_status(cluster, namespace, "pausable", finished, timeout=120)
        assert final["state"] == "Succeeded", final.get("message")
        assert final["totalScore"] is not None
        assert len(slow.stats().completed_by_item) == 60
        assert slow.stats().duplicates() == {}
        assert max(slow.stats().by_item.values()) == 1, "an item was requested twice"


def test_killing_the_runner_pod_midway_gives_the_same_results(
    namespace: str, cluster: ClusterAccess
) -> None:
    dataset = {"inline": items(60, "k")}
    with MockModelServer(latency_s=0.1).running() as reference:
        apply(cluster, task_manifest("uninterrupted", namespace, reference.url, dataset))
        clean = wait_status(cluster, namespace, "uninterrupted", inference_finished, timeout=120)
    with MockModelServer(latency_s=0.1).running() as served:
        apply(cluster, task_manifest("killed", namespace, served.url, dataset))
        wait_status(cluster, namespace, "killed", lambda s: (s.get("percentage") or 0) >= 40)
        running = [
            p
            for p in pods_of_job(cluster, namespace, "killed-infer")
            if (p.get("status") or {}).get("phase") == "Running"
        ]
        assert running, "no running runner pod"
        victim = running[0]["metadata"]["name"]
        cluster.kubectl("delete", "pod", victim, "-n", namespace, "--wait=false")
        final = wait_status(cluster, namespace, "killed", inference_finished, timeout=120)
        retried = [p["metadata"]["name"] for p in pods_of_job(cluster, namespace, "killed-infer")]
        assert retried and victim not in retried
        assert served.stats().duplicates() == {}
        assert max(served.stats().by_item.values()) == 1, "an item was requested twice"
    got = predictions(final["inferenceResults"][0]["location"])
    want = predictions(clean["inferenceResults"][0]["location"])
    assert got == want and len(got) == 60


def test_evicted_runner_pod_resumes_from_its_checkpoint(
    namespace: str, cluster: ClusterAccess
) -> None:
    assert isinstance(cluster, LocalCluster)
    with MockModelServer(latency_s=0.1).running() as served:
        apply(cluster, task_manifest("evicted", namespace, served.url, {"inline": items(60, "e")}))
        wait_status(cluster, namespace, "evicted", lambda s: (s.get("percentage") or 0) >= 40)
        [victim] = [
            p["metadata"]["name"]
            for p in pods_of_job(cluster, namespace, "evicted-infer")
            if (p.get("status") or {}).get("phase") == "Running"
        ]
        assert cluster.evict_pod(namespace, victim)
        time.sleep(0.5)  # the requests in flight at the kill end; the replacement is not up yet
        first = sum(served.stats().completed_by_item.values())
        final = wait_status(cluster, namespace, "evicted", finished, timeout=120)
        assert final["state"] == "Succeeded", final.get("message")
        pods = {p["metadata"]["name"]: p for p in pods_of_job(cluster, namespace, "evicted-infer")}
        assert pods.pop(victim)["status"]["reason"] == "Evicted"
        [retry] = pods
        log = cluster.logs(retry, namespace)
        resumed = re.search(r"resuming, (\d+) items answered", log)
        assert resumed and int(resumed.group(1)) >= 24, log[-2000:]
        answered = int(resumed.group(1))
        # The replacement asked only for the items the evicted runner had not written down:
        # those answered on the wire as the kill landed may be asked again, no checkpointed one.
        stats = served.stats()
        assert sum(stats.completed_by_item.values()) - first == 60 - answered
        assert len(stats.completed_by_item) == 60 and max(stats.completed_by_item.values()) <= 2
    assert jobs(cluster, namespace)["evicted-infer"]["status"]["failed"] == 1


def test_injected_faults_still_complete_every_item(namespace: str, cluster: ClusterAccess) -> None:
    faults = FaultSettings(
        rate=0.1,
        kinds=(FaultKind.SERVER_ERROR, FaultKind.UNAVAILABLE, FaultKind.RATE_LIMIT),
        seed=7,
        retry_after_s=0.05,
    )
    with MockModelServer(latency_s=0.01, faults=faults).running() as flaky:
        manifest = task_manifest(
            "flaky",
            namespace,
            flaky.url,
            {"inline": items(60, "f")},
            parallel=4,
            client={"maxRetries": 8},
        )
        apply(cluster, manifest)
        final = wait_status(cluster, namespace, "flaky", inference_finished, timeout=120)
        stats = flaky.stats()
        assert sum(n for code, n in stats.by_status.items() if code != "200") > 0
    assert final["progress"]["processed"] == 60
    assert final["progress"]["failed"] == 0
    assert len(stats.completed_by_item) == 60
    assert stats.duplicates() == {}


def test_unreachable_endpoint_fails_with_a_clear_message(
    namespace: str, cluster: ClusterAccess
) -> None:
    manifest = task_manifest(
        "unreachable",
        namespace,
        "http://127.0.0.1:9/v1",
        {"inline": items(4)},
        runner={"backoffLimit": 0},
        client={"maxRetries": 0, "connectTimeoutSeconds": 1},
    )
    apply(cluster, manifest)
    final = wait_status(
        cluster, namespace, "unreachable", lambda s: s.get("state") == "Failed", timeout=60
    )
    message = final["message"]
    assert "inference Job unreachable-infer failed" in message
    assert "exited with code 1" in message
    assert final["conditions"][2]["type"] == "Failed"
    assert final["conditions"][2]["status"] == "True"


# The runner's reason reaches status.message through the pod's termination message
# (terminationMessagePolicy FallbackToLogsOnError; the local executor fills it like the kubelet).


def test_bad_dataset_row_fails_the_task_naming_the_line(
    namespace: str, cluster: ClusterAccess, mock: MockModelServer
) -> None:
    rows = [json.dumps(item) for item in items(3)]
    rows.insert(2, '{"id": "broken", "input": ')
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "bad-rows", "namespace": namespace},
        "data": {"qa.jsonl": "\n".join(rows) + "\n"},
    }
    dataset = {"configMap": {"name": "bad-rows", "key": "qa.jsonl"}}
    manifest = task_manifest("bad-rows", namespace, mock.url, dataset, runner={"backoffLimit": 0})
    apply(cluster, config_map, manifest)
    final = wait_status(cluster, namespace, "bad-rows", lambda s: s.get("state") == "Failed")
    assert "inference Job bad-rows-infer failed" in final["message"]
    assert "qa.jsonl" in final["message"] and "3" in final["message"], final["message"]
    assert mock.stats().requests == 0


def test_unreachable_message_says_what_and_where(namespace: str, cluster: ClusterAccess) -> None:
    manifest = task_manifest(
        "refused",
        namespace,
        "http://127.0.0.1:9/v1",
        {"inline": items(2)},
        runner={"backoffLimit": 0},
        client={"maxRetries": 0, "connectTimeoutSeconds": 1},
    )
    apply(cluster, manifest)
    final = wait_status(cluster, namespace, "refused", lambda s: s.get("state") == "Failed")
    assert "127.0.0.1:9" in final["message"], final["message"]


def test_operator_restart_mid_run_creates_no_duplicate_job(
    namespace: str, cluster: ClusterAccess
) -> None:
    assert isinstance(cluster, LocalCluster)
    with MockModelServer(latency_s=0.1).running() as served:
        apply(cluster, task_manifest("restart", namespace, served.url, {"inline": items(40, "r")}))
        wait_status(cluster, namespace, "restart", lambda s: s.get("state") == "Running")
        uid = jobs(cluster, namespace)["restart-infer"]["metadata"]["uid"]
        cluster.stop_operator()
        cluster.start_operator()
        final = wait_status(cluster, namespace, "restart", inference_finished, timeout=120)
        assert jobs(cluster, namespace)["restart-infer"]["metadata"]["uid"] == uid
        assert final["progress"]["processed"] == 40
        assert served.stats().duplicates() == {}
    assert final["startTime"] and final["observedGeneration"] == 1


def test_performance_task_runs_a_perf_job_to_succeeded(
    namespace: str, cluster: ClusterAccess
) -> None:
    with MockModelServer(ttft_s=0.01, itl_s=0.001, output_tokens=8).running() as served:
        manifest = task_manifest("perf", namespace, served.url, {"inline": items(8)})
        manifest["spec"].pop("scoring")
        manifest["spec"]["type"] = "Performance"
        manifest["spec"]["performance"] = {"parallel": [1, 2], "requestsPerLevel": 6}
        apply(cluster, manifest)
        final = wait_status(
            cluster, namespace, "perf", lambda s: s.get("state") in ("Succeeded", "Failed")
        )
    assert final["state"] == "Succeeded", final.get("message")
    assert final["jobs"] == {"performance": "perf-perf"}
    assert [level["parallel"] for level in final["performance"]["levels"]] == [1, 2]
    assert "perf-infer" not in jobs(cluster, namespace)


def test_task_waits_for_its_service_group_then_runs_against_its_url(
    namespace: str, cluster: ClusterAccess
) -> None:
    group = yaml.safe_load((Path(__file__).parent / "data" / "servicegroup-mock.yaml").read_text())
    group["metadata"] = {"name": "target", "namespace": namespace}
    manifest = task_manifest("on-group", namespace, "http://unused/v1", {"inline": items(6)})
    manifest["spec"]["models"] = [{"name": "m", "serviceGroupRef": {"name": "target"}}]
    apply(cluster, manifest)
    queued = wait_status(cluster, namespace, "on-group", lambda s: s.get("state") == "Queued")
    assert "target (not found)" in queued["message"]
    apply(cluster, group)
    final = wait_status(cluster, namespace, "on-group", inference_finished, timeout=120)
    assert final["target"] == "target"
    assert final["progress"]["processed"] == 6 and final["progress"]["failed"] == 0
    config = cluster.kubectl(
        "get", "configmap", "on-group-config", "-n", namespace, "-o", "jsonpath={.data.task\\.json}"
    ).stdout
    resolved = json.loads(config)["resolved"]["models"][0]
    with cluster.api() as api:
        url = api.get(
            f"/apis/modeleval.io/v1alpha1/namespaces/{namespace}/modelevalservicegroups/target"
        )["status"]["url"]
    assert resolved == {
        "name": "m",
        "url": url,
        "model": "mock-llm",
        "api": "openai-chat",
        "server": "auto",
    }
