"""The EvalTask flow with pods as real containers: the operator's runner Jobs run the project's
image in a Docker engine, exactly as their manifests say (non-root, read-only root, no
capabilities, the task file and results volume bind-mounted, a cgroup memory limit), beside
the same flow with pods as processes (test_evaltask_flow.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from modeleval_testkit.bundle import rbac_manifests
from modeleval_testkit.cluster import LocalCluster
from modeleval_testkit.executor import ExecutorConfig
from modeleval_testkit.mockserver import MockModelServer
from tests.support.paths import MANIFESTS, REPO
from tests.support.realparts import BuiltImage
from tests.support.written import WrittenObjects

from .evaltask_helpers import (
    apply,
    inference_finished,
    items,
    pods_of_job,
    predictions,
    task_manifest,
    wait_status,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.needs_executor, pytest.mark.containers]


@pytest.fixture(scope="module")
def cluster(
    project_image: BuiltImage,
    tmp_path_factory: pytest.TempPathFactory,
    written_objects: WrittenObjects,
) -> Iterator[LocalCluster]:
    work = tmp_path_factory.mktemp("containers-e2e")
    config = ExecutorConfig(
        time_scale=0.05, container_images=(project_image.tag,), work_dir=work / "executor"
    )
    with LocalCluster(
        work_dir=work / "run",
        crds=[REPO / "crds"],
        rbac_manifests=rbac_manifests(MANIFESTS / "rbac"),
        operator_env={"MODELEVAL_RUNNER_IMAGE": project_image.tag},
        executor=config,
        record_writes=True,
    ) as local:
        yield local
        written_objects.collect(local)


@pytest.fixture
def namespace(cluster: LocalCluster) -> Iterator[str]:
    name = f"containers-{time.monotonic_ns() % 10**9}"
    with cluster.api() as api:
        api.create("/api/v1/namespaces", {"metadata": {"name": name}})
    yield name
    with cluster.api() as api:
        api.delete(f"/api/v1/namespaces/{name}")


def runner_states(cluster: LocalCluster, namespace: str, job: str) -> list[dict[str, Any]]:
    return [
        s
        for pod in pods_of_job(cluster, namespace, job)
        for s in (pod.get("status") or {}).get("containerStatuses") or []
    ]


def test_task_runs_from_apply_to_succeeded_in_containers(
    cluster: LocalCluster, namespace: str, project_image: BuiltImage
) -> None:
    with MockModelServer(latency_s=0.01).running() as mock:
        apply(cluster, task_manifest("happy", namespace, mock.url, {"inline": items(20)}))
        final = wait_status(
            cluster, namespace, "happy", lambda s: s.get("state") in ("Succeeded", "Failed"),
            timeout=180,
        )  # fmt: skip
    assert final["state"] == "Succeeded", final.get("message")
    assert final["progress"]["processed"] == 20 and final["totalScore"] is not None
    for job in ("happy-infer", "happy-score"):
        states = runner_states(cluster, namespace, job)
        assert states and all(str(s["containerID"]).startswith("docker://") for s in states)
        assert {s["image"] for s in states} == {project_image.tag}
    assert mock.stats().duplicates() == {}


def running_runner(cluster: LocalCluster, namespace: str, job: str) -> str:
    running = [
        p
        for p in pods_of_job(cluster, namespace, job)
        if (p.get("status") or {}).get("phase") == "Running"
    ]
    assert running, "no running runner pod"
    return str(running[0]["metadata"]["name"])


def test_a_runner_container_deleted_midway_drains_and_resumes_without_resending(
    cluster: LocalCluster, namespace: str
) -> None:
    """``kubectl delete pod``: SIGTERM reaches the runner as PID 1 of its container (docker
    stop), it finishes the requests in flight and exits; the Job's next pod resumes."""
    dataset = {"inline": items(60, "d")}
    with MockModelServer(latency_s=0.1).running() as served:
        apply(cluster, task_manifest("deleted", namespace, served.url, dataset))
        wait_status(
            cluster, namespace, "deleted", lambda s: (s.get("percentage") or 0) >= 30, timeout=180
        )
        victim = running_runner(cluster, namespace, "deleted-infer")
        cluster.kubectl("delete", "pod", victim, "-n", namespace, "--wait=false")
        wait_status(cluster, namespace, "deleted", inference_finished, timeout=180)
        assert max(served.stats().by_item.values()) == 1, "an item was requested twice"
    got = predictions(_local(cluster, namespace, "deleted"))
    assert len(got) == 60 and all(got[f"d{i}"] == f"d question {i}" for i in range(60))


def test_a_runner_container_killed_midway_resumes_resending_only_what_was_in_flight(
    cluster: LocalCluster, namespace: str
) -> None:
    """SIGKILL (``docker kill``, as a node failure): no drain, so the requests in flight (at
    most ``parallel``) are sent again; every answered item is kept."""
    dataset = {"inline": items(60, "k")}
    with MockModelServer(latency_s=0.1).running() as served:
        apply(cluster, task_manifest("killed", namespace, served.url, dataset, parallel=2))
        wait_status(
            cluster, namespace, "killed", lambda s: (s.get("percentage") or 0) >= 30, timeout=180
        )
        victim = running_runner(cluster, namespace, "killed-infer")
        assert cluster.executor is not None
        assert cluster.executor.kill_pod(victim, namespace)
        wait_status(cluster, namespace, "killed", inference_finished, timeout=180)
        twice = [item for item, n in served.stats().by_item.items() if n > 1]
        assert len(twice) <= 2 and max(served.stats().by_item.values()) <= 2, twice
    states = runner_states(cluster, namespace, "killed-infer")
    exits = [(s.get("state") or {}).get("terminated") or {} for s in states]
    assert {"reason": "Error", "exitCode": 137}.items() <= next(
        e for e in exits if e.get("exitCode")
    ).items()
    got = predictions(_local(cluster, namespace, "killed"))
    assert len(got) == 60 and all(got[f"k{i}"] == f"k question {i}" for i in range(60))


def _local(cluster: LocalCluster, namespace: str, task: str) -> str:
    """The predictions file on the task's results claim, as the runner container wrote it."""
    assert cluster.executor is not None
    [found] = (cluster.executor.work_dir / "pvc" / namespace).glob(f"{task}*/**/mock.jsonl")
    return str(found)


def test_a_runner_over_its_memory_limit_is_oom_killed_and_the_task_says_so(
    cluster: LocalCluster, namespace: str
) -> None:
    with MockModelServer().running() as mock:
        manifest = task_manifest(
            "starved", namespace, mock.url, {"inline": items(4)},
            runner={"memory": "24Mi", "backoffLimit": 0},
        )  # fmt: skip
        apply(cluster, manifest)
        final = wait_status(
            cluster, namespace, "starved", lambda s: s.get("state") == "Failed", timeout=180
        )
    assert "(OOMKilled" in final["message"], final["message"]
    # Which phase goes over 24 MiB first is the runner's business (today: scoring, which loads
    # numpy and jieba); the kill is the cgroup's, and the task names it.
    states = [
        s["state"]["terminated"]
        for job in ("starved-infer", "starved-score")
        for s in runner_states(cluster, namespace, job)
        if "terminated" in (s.get("state") or {})
    ]
    assert ("OOMKilled", 137) in [(t["reason"], t["exitCode"]) for t in states], states
