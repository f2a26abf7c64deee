"""The executor evicts a pod as a kubelet under node pressure does, in the shapes of the real
captures in tests/fixtures/kubelet (24: ``Evicted`` with ``ContainerStatusUnknown``
placeholders, 25: only a ``DisruptionTarget`` condition); a Job counts the evicted pod as
failed and retries it, a ReplicaSet replaces it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from modeleval_testkit.cluster import JsonApi, LocalCluster
from modeleval_testkit.executor import ExecutorConfig
from tests.support.paths import REPO

FIXTURES = REPO / "tests" / "fixtures" / "kubelet"
IMAGE = "ghcr.io/modeleval/modeleval:0.1.0"
SLEEP = ["python", "-c", "import time; time.sleep(600)"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    config = ExecutorConfig(time_scale=0.02)
    with LocalCluster(operator=None, rbac_manifests=[], executor=config) as local:
        yield local


def fixture_pod(prefix: str) -> dict[str, Any]:
    [path] = FIXTURES.glob(f"{prefix}-*.yaml")
    return dict(yaml.safe_load(path.read_text())["pod"])


def pods(api: JsonApi, ns: str, selector: str) -> list[dict[str, Any]]:
    listing = api.get(f"/api/v1/namespaces/{ns}/pods?labelSelector={selector}")
    assert listing is not None
    return sorted(listing["items"], key=lambda p: p["metadata"]["creationTimestamp"])


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in status.get("conditions") or [] if c["type"] == kind)


def job(name: str, script: str) -> dict[str, Any]:
    container = {"name": "main", "image": IMAGE, "command": ["python", "-c", script]}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 1,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
        },
    }


def running(cluster: LocalCluster, api: JsonApi, ns: str, selector: str) -> dict[str, Any]:
    def first_running() -> dict[str, Any] | None:
        found = [p for p in pods(api, ns, selector) if p["status"].get("phase") == "Running"]
        return found[0] if found else None

    pod = cluster.wait_for(first_running, what="a running pod")
    assert isinstance(pod, dict)
    return pod


def test_evicted_job_pod_has_the_kubelet_shape_and_the_job_retries_it(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    api.create(
        f"/apis/batch/v1/namespaces/{ns}/jobs", job("evictee", "import time; time.sleep(600)")
    )
    first = running(cluster, api, ns, "job-name%3Devictee")
    name = first["metadata"]["name"]
    assert cluster.evict_pod(ns, name)

    evicted = api.get(f"/api/v1/namespaces/{ns}/pods/{name}")
    assert evicted is not None
    status, real = evicted["status"], fixture_pod("24")["status"]
    assert (status["phase"], status["reason"]) == (real["phase"], real["reason"])
    assert status["message"].startswith("The node was low on resource: memory. Threshold quantity")
    [container] = status["containerStatuses"]
    [real_container] = real["containerStatuses"]
    assert container["state"] == real_container["state"]
    assert container["imageID"] == real_container["imageID"] == ""
    assert "containerID" not in container
    target, real_target = (
        condition(status, "DisruptionTarget"),
        condition(fixture_pod("26")["status"], "DisruptionTarget"),
    )
    for key in ("status", "reason", "type"):
        assert target[key] == real_target[key]
    assert target["message"] == status["message"]
    assert status["conditions"][0]["type"] == "DisruptionTarget"
    assert condition(status, "Ready")["reason"] == "PodFailed"

    def retried() -> bool:
        found = pods(api, ns, "job-name%3Devictee")
        job_status = (api.get(f"/apis/batch/v1/namespaces/{ns}/jobs/evictee") or {})["status"]
        return len(found) == 2 and job_status.get("failed") == 1 and job_status.get("active") == 1

    cluster.wait_for(retried, what="the Job counts the eviction and starts a replacement")
    events = api.get(f"/api/v1/namespaces/{ns}/events") or {}
    assert any(
        e["reason"] == "Evicted" and e["involvedObject"]["name"] == name
        for e in events.get("items", [])
    )


def test_eviction_without_status_reason_leaves_only_the_condition(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    api.create(f"/apis/batch/v1/namespaces/{ns}/jobs", job("quiet", "import time; time.sleep(600)"))
    name = running(cluster, api, ns, "job-name%3Dquiet")["metadata"]["name"]
    assert cluster.evict_pod(ns, name, status_reason=False)

    status = (api.get(f"/api/v1/namespaces/{ns}/pods/{name}") or {})["status"]
    real = fixture_pod("25")["status"]
    assert "reason" not in real and "reason" not in status and "message" not in status
    target, real_target = condition(status, "DisruptionTarget"), condition(real, "DisruptionTarget")
    assert {k: target[k] for k in ("status", "reason", "type", "lastProbeTime")} == {
        k: real_target[k] for k in ("status", "reason", "type", "lastProbeTime")
    }
    assert target["message"].endswith("has larger consumption of memory. ")
    assert condition(status, "PodReadyToStartContainers")["status"] == "False"


def test_evicted_deployment_pod_is_replaced(cluster: LocalCluster, api: JsonApi, ns: str) -> None:
    labels = {"app": "server"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "server", "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "server", "image": IMAGE, "command": SLEEP}]},
            },
        },
    }
    api.create(f"/apis/apps/v1/namespaces/{ns}/deployments", deployment)
    name = running(cluster, api, ns, "app%3Dserver")["metadata"]["name"]
    assert cluster.evict_pod(ns, name)

    def replaced() -> bool:
        found = {
            p["metadata"]["name"]: p["status"].get("phase") for p in pods(api, ns, "app%3Dserver")
        }
        return found.get(name) == "Failed" and list(found.values()).count("Running") == 1

    cluster.wait_for(replaced, what="a replacement pod next to the evicted one")
