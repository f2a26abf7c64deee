"""Sharded EvalTasks end to end: ``spec.runner.shards`` runs inference as one Indexed Job.

The real operator, API emulator, executor (Indexed Jobs: one pod per index with
``JOB_COMPLETION_INDEX``, per-index retries) and runner processes, against in-process mock
model servers that count requests per item.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modeleval_testkit.cluster import ClusterAccess
from modeleval_testkit.mockserver import FaultKind, FaultSettings, MockModelServer

from .evaltask_helpers import History, apply, items, jobs, pods_of_job, set_suspend, task_manifest
from .evaltask_helpers import wait_status as wait

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.needs_executor]

INDEX = "batch.kubernetes.io/job-completion-index"


@pytest.fixture
def cluster(local_cluster: ClusterAccess) -> ClusterAccess:
    return local_cluster


@pytest.fixture
def mock() -> Iterator[MockModelServer]:
    with MockModelServer(latency_s=0.02).running() as server:
        yield server


def finished(st: dict[str, Any]) -> bool:
    return st.get("state") in ("Succeeded", "Failed")


def sharded(name: str, namespace: str, url: str, count: int, shards: int, **runner: Any) -> Any:
    manifest = task_manifest(
        name,
        namespace,
        url,
        {"inline": items(count, "s")},
        runner={"shards": shards, **runner} if shards > 1 else runner or None,
    )
    manifest["spec"]["scoring"] = {
        "modes": ["rule"],
        "rule": {"scoreModes": ["accuracy", "similarity"]},
    }
    return manifest


def results_dir(st: dict[str, Any]) -> Path:
    """The task's results folder (the runner's paths are this machine's, under the executor)."""
    return Path(st["inferenceResults"][0]["location"]).parent.parent


def pod_indexes(cluster: ClusterAccess, namespace: str, job: str) -> list[str]:
    pods = pods_of_job(cluster, namespace, job)
    return sorted(p["metadata"]["annotations"][INDEX] for p in pods)


def test_four_shards_give_the_unsharded_results(
    namespace: str, cluster: ClusterAccess, mock: MockModelServer
) -> None:
    with MockModelServer(latency_s=0.02).running() as other:
        apply(cluster, sharded("one", namespace, other.url, 41, 1))
        history = History()
        entries: set[str] = set()

        def done(st: dict[str, Any]) -> bool:
            entries.update(st.get("shards") or {})
            return finished(st)

        apply(cluster, sharded("four", namespace, mock.url, 41, 4))
        four = wait(cluster, namespace, "four", done, timeout=120, history=history)
        one = wait(cluster, namespace, "one", finished, timeout=120)
    assert (one["state"], four["state"]) == ("Succeeded", "Succeeded"), four.get("message")
    assert four["totalScore"] == one["totalScore"] is not None
    for name in ("scores.jsonl", "summary.json"):
        assert (results_dir(four) / name).read_text() == (results_dir(one) / name).read_text()
    lines = (results_dir(four) / "scores.jsonl").read_text().splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    assert ids == [f"s{i}" for i in range(41)]  # dataset order, not completion order
    # One Indexed Job of four pods, each its own slice and file; every item asked once.
    job = jobs(cluster, namespace)["four-infer"]
    assert (job["spec"]["completionMode"], job["spec"]["parallelism"]) == ("Indexed", 4)
    assert job["status"]["completedIndexes"] == "0-3"
    assert pod_indexes(cluster, namespace, "four-infer") == ["0", "1", "2", "3"]
    files = sorted(p.name for p in (results_dir(four) / "predictions/mock.shards").iterdir())
    assert files == [f"0000{k}-of-00004.jsonl" for k in range(4)]
    assert mock.stats().requests == 41 and mock.stats().duplicates() == {}
    # The shards' entries, folded: one percentage that never went down, every item counted.
    assert history.percentages == sorted(history.percentages)
    assert four["percentage"] == 100
    assert four["inferenceResults"] == [
        {"model": "mock", "location": str(results_dir(four) / "predictions/mock.shards"),
         "items": 41, "failed": 0, "truncated": 0}
    ]  # fmt: skip
    assert entries == {"0", "1", "2", "3"}  # each shard wrote its own entry
    assert "shards" not in four  # cleared when the scoring Job started


def test_killing_one_shards_pod_resumes_only_that_shard(
    namespace: str, cluster: ClusterAccess
) -> None:
    with MockModelServer(latency_s=0.2).running() as served:
        apply(cluster, sharded("killed", namespace, served.url, 120, 4))

        def shard_one_busy(st: dict[str, Any]) -> bool:
            entry = (st.get("shards") or {}).get("1") or {}
            return entry.get("phase") == "inference" and (entry.get("processed") or 0) >= 6

        wait(cluster, namespace, "killed", shard_one_busy, timeout=60, what="shard 1 running")
        [victim] = [
            p
            for p in pods_of_job(cluster, namespace, "killed-infer")
            if p["metadata"]["annotations"][INDEX] == "1"
        ]
        others = {
            p["metadata"]["name"]
            for p in pods_of_job(cluster, namespace, "killed-infer")
            if p["metadata"]["annotations"][INDEX] != "1"
        }
        cluster.kubectl("delete", "pod", victim["metadata"]["name"], "-n", namespace)
        final = wait(cluster, namespace, "killed", finished, timeout=120)
        assert final["state"] == "Succeeded", final.get("message")
        assert served.stats().duplicates() == {}
        assert max(served.stats().by_item.values()) == 1, "an item was requested twice"
        assert len(served.stats().completed_by_item) == 120
    pods = pods_of_job(cluster, namespace, "killed-infer")  # the deleted pod is gone
    assert pod_indexes(cluster, namespace, "killed-infer") == ["0", "1", "2", "3"]
    assert {p["metadata"]["name"] for p in pods if p["metadata"]["annotations"][INDEX] != "1"} == (
        others
    )  # the other shards ran undisturbed
    [retry] = [p for p in pods if p["metadata"]["annotations"][INDEX] == "1"]
    assert retry["metadata"]["name"] != victim["metadata"]["name"]
    log = cluster.kubectl("logs", retry["metadata"]["name"], "-n", namespace).stdout
    resumed = re.search(r"resuming \(shard 1 of 4\), (\d+) items answered", log)
    assert resumed and int(resumed.group(1)) >= 6, log[-2000:]
    assert jobs(cluster, namespace)["killed-infer"]["status"]["failed"] == 1


def test_suspend_stops_every_shard_and_resume_finishes(
    namespace: str, cluster: ClusterAccess
) -> None:
    with MockModelServer(latency_s=0.15).running() as slow:
        apply(cluster, sharded("pausable", namespace, slow.url, 80, 4))
        wait(cluster, namespace, "pausable", lambda s: (s.get("percentage") or 0) >= 15)
        set_suspend(cluster, namespace, "pausable", True)
        stopped = wait(cluster, namespace, "pausable", lambda s: s.get("state") == "Stopped")
        assert "partial results are kept" in stopped["message"]
        assert "pausable-infer" not in jobs(cluster, namespace)
        time.sleep(1.0)
        answered = len(slow.stats().completed_by_item)
        assert 0 < answered < 80
        set_suspend(cluster, namespace, "pausable", False)
        history = History()
        final = wait(cluster, namespace, "pausable", finished, timeout=120, history=history)
        assert final["state"] == "Succeeded", final.get("message")
        assert len(slow.stats().completed_by_item) == 80
        assert max(slow.stats().by_item.values()) == 1, "an item was requested twice"
    assert history.percentages == sorted(history.percentages)
    assert stopped["percentage"] <= history.percentages[0]


def test_a_shard_past_its_retries_fails_the_task_naming_the_shard(
    namespace: str, cluster: ClusterAccess
) -> None:
    # Every item of shard 2 (positions 2, 6, 10, ...) fails: its failures alone exceed the
    # task's error budget, so the shard fails, is retried once, and fails the Job.
    doomed = {f"s{p}": [FaultKind.SERVER_ERROR] * 50 for p in range(2, 40, 4)}
    faults = FaultSettings(by_item=doomed)
    with MockModelServer(latency_s=0.01, faults=faults).running() as server:
        manifest = sharded("doomed", namespace, server.url, 40, 4, backoffLimit=1)
        manifest["spec"]["inference"]["client"]["maxRetries"] = 0
        apply(cluster, manifest)
        final = wait(cluster, namespace, "doomed", finished, timeout=120)
    assert final["state"] == "Failed"
    message = final["message"]
    head = "inference Job doomed-infer failed (MaxFailedIndexesExceeded"
    assert message.startswith(head), message
    assert "; shard 2 of 4: pod doomed-infer-2-" in message
    assert "items of shard 2 of 4 failed after retries, more than the 10.0% allowed" in message
    assert pod_indexes(cluster, namespace, "doomed-infer").count("2") == 2  # tried, retried once


def judged(name: str, namespace: str, urls: tuple[str, str, str], shards: int) -> Any:
    """Two models compared (GSB) and each judged, by a judge that follows the answers' q=N."""
    cand, base, judge = urls
    dataset = [
        {"id": f"j{i}", "input": f"question {i} q={i % 5 + 1}", "target": f"answer {i}"}
        for i in range(24)
    ]
    manifest = task_manifest(name, namespace, cand, {"inline": dataset}, parallel=3)
    manifest["spec"]["models"] = [
        {"name": "cand", "endpoint": {"url": cand, "model": "mock-model"}},
        {"name": "base", "endpoint": {"url": base, "model": "mock-model"}, "isBaseline": True},
    ]
    manifest["spec"]["scoring"] = {
        "modes": ["rule", "model"],
        "rule": {"scoreModes": ["accuracy"]},
        "judge": {
            "endpoint": {"url": judge, "model": "mock-model"},
            "promptParam": {"maxScore": 5},
            "client": {"parallel": 4, "maxRetries": 0},
        },
        "pairwise": {"enabled": True},
    }
    if shards > 1:
        manifest["spec"]["runner"] = {"shards": shards}
    return manifest


def test_judge_calls_run_sharded_and_merge_into_the_unsharded_scores(
    namespace: str, cluster: ClusterAccess, mock: MockModelServer
) -> None:
    from tests.support.judges import RULES

    with (
        MockModelServer(rules=[(r".*", "a plain answer q=3")]).running() as base,
        MockModelServer(rules=RULES).running() as judge_one,
        MockModelServer(rules=RULES).running() as judge_three,
    ):
        apply(cluster, judged("plain", namespace, (mock.url, base.url, judge_one.url), 1))
        apply(cluster, judged("wide", namespace, (mock.url, base.url, judge_three.url), 3))
        wide = wait(cluster, namespace, "wide", finished, timeout=150)
        plain = wait(cluster, namespace, "plain", finished, timeout=150)
        asked = (judge_one.stats().requests, judge_three.stats().requests)
    assert (plain["state"], wide["state"]) == ("Succeeded", "Succeeded"), wide.get("message")
    assert wide["totalScore"] == plain["totalScore"] is not None
    assert wide["gsb"] == plain["gsb"] and wide["scores"] == plain["scores"]
    for name in ("scores.jsonl", "summary.json"):
        assert (results_dir(wide) / name).read_text() == (results_dir(plain) / name).read_text()
    # 24 x 2 answers judged and 24 pairs compared both ways: asked once each, by the shards.
    assert asked == (24 * 2 + 24 * 2, 24 * 2 + 24 * 2)
    job = jobs(cluster, namespace)["wide-judge"]
    assert (job["spec"]["completionMode"], job["spec"]["completions"]) == ("Indexed", 3)
    assert pod_indexes(cluster, namespace, "wide-judge") == ["0", "1", "2"]
    kept = sorted(p.name for p in (results_dir(wide) / "judgments").iterdir())
    assert kept == [f"0000{k}-of-00003.jsonl" for k in range(3)]  # the score phase asked nothing
    assert "wide-judge" in wide["jobs"].values() and "plain-judge" not in jobs(cluster, namespace)
