"""The executor's Deployment controller, kubelet probes and failure states, and kube-proxy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from modeleval_testkit.cluster import JsonApi, LocalCluster
from modeleval_testkit.executor import MOCK_MODEL_SERVER, ExecutorConfig

MODEL_IMAGE = "vllm/vllm-openai:v0.6.0"
CONFIG = ExecutorConfig(
    image_commands={
        "*vllm*": MOCK_MODEL_SERVER,
        "example.com/crasher": ("python", "-c", "print('boom'); raise SystemExit(3)"),
        "example.com/hog": (
            "python",
            "-c",
            "x = bytearray(256 * 2**20); import time; time.sleep(60)",
        ),
        "example.com/slow-boot": (*MOCK_MODEL_SERVER, "--startup-delay-s", "60"),
    },
    unpullable_images=("registry.invalid/*",),
    gpu_capacity={"nvidia.com/gpu": 2},
    time_scale=0.02,
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(operator=None, rbac_manifests=[], executor=CONFIG) as local:
        yield local


def deployment(name: str, image: str = MODEL_IMAGE, replicas: int = 1, **container: Any) -> Any:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "server", "image": image, **container}]},
            },
        },
    }


SERVER = {
    "args": ["--served-model-name", "qwen"],
    "ports": [{"name": "http", "containerPort": 8000}],
    "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 5},
}


def path(ns: str, name: str = "") -> str:
    return f"/apis/apps/v1/namespaces/{ns}/deployments" + (f"/{name}" if name else "")


def pods(api: JsonApi, ns: str, app: str) -> list[dict[str, Any]]:
    listing = api.get(f"/api/v1/namespaces/{ns}/pods?labelSelector=app%3D{app}")
    assert listing is not None
    return [p for p in listing["items"] if not p["metadata"].get("deletionTimestamp")]


def status(api: JsonApi, ns: str, name: str) -> dict[str, Any]:
    return (api.get(path(ns, name)) or {}).get("status") or {}


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in obj.get("conditions") or [] if c["type"] == kind)


def container_status(api: JsonApi, ns: str, app: str) -> dict[str, Any] | None:
    found = pods(api, ns, app)
    statuses = found[0]["status"].get("containerStatuses") if found else None
    return statuses[0] if statuses else None


def test_model_server_becomes_ready_scales_and_rolls(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    api.create(path(ns), deployment("model", **SERVER))
    api.create(
        f"/api/v1/namespaces/{ns}/services",
        {
            "metadata": {"name": "model"},
            "spec": {"selector": {"app": "model"}, "ports": [{"port": 80, "targetPort": "http"}]},
        },
    )

    def ready(count: int) -> Any:
        now = status(api, ns, "model")
        done = (
            now.get("readyReplicas") == count == now.get("replicas") == now.get("updatedReplicas")
        )
        return now if done and len(pods(api, ns, "model")) == count else None

    first = cluster.wait_for(lambda: ready(1), what="1 ready replica")
    assert condition(first, "Available")["status"] == "True"
    assert condition(first, "Progressing")["reason"] == "NewReplicaSetAvailable"
    assert first["observedGeneration"] == 1
    [pod] = pods(api, ns, "model")
    template_hash = pod["metadata"]["labels"]["pod-template-hash"]
    assert pod["metadata"]["name"].startswith(f"model-{template_hash}-")
    [owner] = pod["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"]) == ("ReplicaSet", f"model-{template_hash}")
    replicaset = api.get(f"/apis/apps/v1/namespaces/{ns}/replicasets/model-{template_hash}")
    assert replicaset is not None
    assert replicaset["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert replicaset["spec"]["replicas"] == 1 and replicaset["status"]["readyReplicas"] == 1
    assert pod["status"]["podIP"] == "127.0.0.1"

    url = cluster.executor.resolve_url(f"http://model.{ns}.svc.cluster.local/v1/models")  # type: ignore[union-attr]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1/models")
    assert httpx.get(url).json()["data"][0]["id"] == "qwen"

    api.patch(path(ns, "model"), {"spec": {"replicas": 2}})
    cluster.wait_for(lambda: ready(2), what="2 ready replicas")
    api.patch(path(ns, "model"), {"spec": {"replicas": 1}})
    cluster.wait_for(lambda: ready(1), what="scaled down to 1")

    env = [{"name": "GENERATION", "value": "2"}]
    api.patch(
        path(ns, "model"),
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {**SERVER, "name": "server", "image": MODEL_IMAGE, "env": env}
                        ]
                    }
                }
            }
        },
    )

    def rolled() -> bool:
        found = pods(api, ns, "model")
        hashes = {p["metadata"]["labels"]["pod-template-hash"] for p in found}
        return bool(ready(1)) and hashes != {template_hash} and len(hashes) == 1

    cluster.wait_for(rolled, what="rollout")
    old_set = api.get(f"/apis/apps/v1/namespaces/{ns}/replicasets/model-{template_hash}")
    assert old_set is not None and old_set["spec"]["replicas"] == 0  # kept for rollback
    revision = "deployment.kubernetes.io/revision"
    assert api.get(path(ns, "model"))["metadata"]["annotations"][revision] == "2"  # type: ignore[index]
    assert status(api, ns, "model")["observedGeneration"] == 4  # create, scale x2, template
    assert httpx.get(url).status_code == 200  # the Service follows the new pod

    [pod] = pods(api, ns, "model")
    runtime = cluster.executor.runtime(pod["metadata"]["name"], ns)  # type: ignore[union-attr]
    assert runtime is not None
    local = f"http://127.0.0.1:{runtime.local_port('http')}/health"
    assert httpx.get(local).status_code == 200
    api.delete(path(ns, "model"))  # garbage collection removes the pod: its process stops
    cluster.wait_for(lambda: not pods(api, ns, "model"), what="pods collected")
    cluster.wait_for(lambda: runtime.finished.is_set(), what="process stopped")
    with pytest.raises(httpx.ConnectError):
        httpx.get(local)


def test_crashing_container_goes_into_crash_loop_back_off(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    api.create(path(ns), deployment("crash", image="example.com/crasher"))

    def looping() -> Any:
        found = container_status(api, ns, "crash")
        waiting = (found or {}).get("state", {}).get("waiting") or {}
        return found if waiting.get("reason") == "CrashLoopBackOff" else None

    found = cluster.wait_for(looping, what="CrashLoopBackOff")
    assert found["restartCount"] >= 1 and found["ready"] is False
    last = found["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (3, "Error")
    assert "back-off" in found["state"]["waiting"]["message"]
    [pod] = pods(api, ns, "crash")
    assert pod["status"]["phase"] == "Running"
    assert "boom" in cluster.executor.pod_log(pod["metadata"]["name"], ns)  # type: ignore[union-attr]
    now = status(api, ns, "crash")
    assert condition(now, "Available")["status"] == "False"
    assert now.get("readyReplicas", 0) == 0


def test_memory_limit_is_enforced_as_oom_killed(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    limits = {"limits": {"memory": "128Mi"}}
    api.create(path(ns), deployment("hog", image="example.com/hog", resources=limits))

    def killed() -> Any:
        found = container_status(api, ns, "hog")
        return (found or {}).get("lastState", {}).get("terminated")

    last = cluster.wait_for(killed, what="OOMKilled", timeout=30)
    assert (last["exitCode"], last["reason"]) == (137, "OOMKilled")


def test_unpullable_image_and_missing_gpus_keep_pods_pending(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    api.create(path(ns), deployment("nopull", image="registry.invalid/model:1"))
    gpus = {"limits": {"nvidia.com/gpu": "4"}}
    api.create(path(ns), deployment("big", resources=gpus, **SERVER))

    def pull_failure() -> Any:
        reason = (
            (container_status(api, ns, "nopull") or {}).get("state", {}).get("waiting") or {}
        ).get("reason")
        return reason if reason in ("ErrImagePull", "ImagePullBackOff") else None

    cluster.wait_for(pull_failure, what="ErrImagePull")
    assert pods(api, ns, "nopull")[0]["status"]["phase"] == "Pending"

    def unschedulable() -> Any:
        found = pods(api, ns, "big")
        conditions = found[0]["status"].get("conditions") if found else None
        return conditions and condition(found[0]["status"], "PodScheduled")

    scheduled = cluster.wait_for(unschedulable, what="PodScheduled condition")
    assert scheduled["status"] == "False" and scheduled["reason"] == "Unschedulable"
    assert scheduled["message"].startswith(
        "0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: "
    )
    events = api.get(f"/api/v1/namespaces/{ns}/events")["items"]  # type: ignore[index]
    assert any(
        e["reason"] == "FailedScheduling"
        and e["type"] == "Warning"
        and "nvidia.com/gpu" in e["message"]
        for e in events
    )
    [pod] = pods(api, ns, "big")
    assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")

    api.patch(
        path(ns, "big"),
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                **SERVER,
                                "name": "server",
                                "image": MODEL_IMAGE,
                                "resources": {"limits": {"nvidia.com/gpu": "2"}},
                            }
                        ]
                    }
                }
            }
        },
    )
    cluster.wait_for(lambda: status(api, ns, "big").get("readyReplicas") == 1, what="fits 2 GPUs")


def test_failing_startup_probe_restarts_the_container(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    startup = {
        "httpGet": {"path": "/health", "port": 8000},
        "periodSeconds": 10,
        "failureThreshold": 3,
    }
    api.create(
        path(ns),
        deployment(
            "boot",
            image="example.com/slow-boot",
            ports=[{"containerPort": 8000}],
            startupProbe=startup,
        ),
    )

    def restarted() -> Any:
        found = container_status(api, ns, "boot")
        return found if found and found["restartCount"] >= 1 else None

    found = cluster.wait_for(restarted, what="restart after startup probe budget", timeout=30)
    assert found["started"] is False and found["ready"] is False
    assert found["lastState"]["terminated"]["exitCode"] in (137, 143)


def test_failing_liveness_probe_restarts_a_running_container(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    liveness = {"tcpSocket": {"port": 9999}, "periodSeconds": 5, "failureThreshold": 2}
    api.create(path(ns), deployment("sick", livenessProbe=liveness, **SERVER))

    def restarted() -> Any:
        found = container_status(api, ns, "sick")
        return found if found and found["restartCount"] >= 1 else None

    found = cluster.wait_for(restarted, what="liveness restart", timeout=30)
    assert found["lastState"]["terminated"]["exitCode"] in (137, 143)
    events = api.get(f"/api/v1/namespaces/{ns}/events")["items"]  # type: ignore[index]
    assert any(e["reason"] == "Unhealthy" and "Liveness" in e["message"] for e in events)
