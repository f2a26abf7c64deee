"""ModelEvalServiceGroup end to end: the real operator process, the API emulator, the executor.

The executor plays kubelet and Deployment controller: model images run as the mock OpenAI
server, ``*crash*`` images exit with code 3, ``*slowboot*`` images never answer their probes,
``*private*`` images cannot be pulled, and the node has one GPU.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from modeleval_testkit.apiserver import service_account_user
from modeleval_testkit.cluster import LocalCluster
from modeleval_testkit.executor import MOCK_MODEL_SERVER, ExecutorConfig
from tests.support.paths import REPO
from tests.support.written import WrittenObjects

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.needs_executor]

DATA = Path(__file__).parent / "data"
NS = "default"
GROUPS = f"/apis/modeleval.io/v1alpha1/namespaces/{NS}/modelevalservicegroups"
TASKS = f"/apis/modeleval.io/v1alpha1/namespaces/{NS}/evaltasks"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
SERVICES = f"/api/v1/namespaces/{NS}/services"
EVENTS = f"/api/v1/namespaces/{NS}/events"
SLOW_BOOT = (
    "python",
    "-m",
    "modeleval_testkit.mockserver",
    "--port",
    "{port}",
    "--startup-delay-s",
    "3600",
)
CRASH = ("python", "-c", "import sys; print('loading weights failed'); sys.exit(3)")
OPERATOR = service_account_user("modeleval-system", "modeleval-operator").name
REPAIR_SECONDS = 15
"""How soon a child changed or deleted by others must be back."""


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, written_objects: WrittenObjects
) -> Iterator[LocalCluster]:
    work = tmp_path_factory.mktemp("servicegroup-cluster")
    executor = ExecutorConfig(
        image_commands={
            "*slowboot*": SLOW_BOOT,
            "*crash*": CRASH,
            "*mock*": MOCK_MODEL_SERVER,
        },
        unpullable_images=("*private*",),
        gpu_capacity={"nvidia.com/gpu": 1},
        time_scale=0.05,
        work_dir=work / "executor",
    )
    with LocalCluster(work_dir=work, executor=executor, record_writes=True) as running:
        yield running
        written_objects.collect(running)


def sample(name: str, **spec: Any) -> dict[str, Any]:
    doc = yaml.safe_load((DATA / "servicegroup-mock.yaml").read_text())
    doc = copy.deepcopy(doc)
    doc["metadata"]["name"] = name
    doc["spec"].update(spec)
    return doc


def get(cluster: LocalCluster, path: str) -> dict[str, Any] | None:
    with cluster.api() as api:
        return api.get(path)


def status_of(cluster: LocalCluster, name: str) -> dict[str, Any]:
    return (get(cluster, f"{GROUPS}/{name}") or {}).get("status") or {}


def apply(cluster: LocalCluster, doc: dict[str, Any]) -> dict[str, Any]:
    with cluster.api() as api:
        return api.create(GROUPS, doc)


def wait_phase(cluster: LocalCluster, name: str, *phases: str, timeout: float = 60) -> dict:
    def reached() -> dict[str, Any] | None:
        status = status_of(cluster, name)
        return status if status.get("phase") in phases else None

    return cluster.wait_for(
        reached,
        timeout=timeout,
        interval=0.3,
        what=f"{name} in phase {phases} (now: {status_of(cluster, name)})",
    )


def events_about(cluster: LocalCluster, name: str) -> list[dict[str, Any]]:
    items = (get(cluster, EVENTS) or {}).get("items") or []
    return [
        e
        for e in items
        if e["involvedObject"].get("kind") == "ModelEvalServiceGroup"
        and e["involvedObject"].get("name") == name
    ]


def test_group_deploys_serves_and_rolls_out_in_place(cluster: LocalCluster) -> None:
    created = apply(cluster, sample("served"))
    status = wait_phase(cluster, "served", "Running")
    assert status["ready"] == "1/1"
    assert status["url"] == "http://served.default.svc.cluster.local:8000/v1"
    assert status["instances"][0]["ready"] is True
    assert status["instances"][0]["node"]
    ready = {c["type"]: c for c in status["conditions"]}["Ready"]
    assert ready["status"] == "True"

    deployment = get(cluster, f"{DEPLOYMENTS}/served")
    service = get(cluster, f"{SERVICES}/served")
    assert deployment is not None and service is not None
    for child in (deployment, service):
        (owner,) = child["metadata"]["ownerReferences"]
        assert owner["uid"] == created["metadata"]["uid"] and owner["controller"] is True

    # The URL works: the executor routes the Service to the mock server pod.
    models = httpx.get(cluster.executor.resolve_url(status["url"]) + "/models", timeout=10)
    assert models.status_code == 200
    assert models.json()["data"][0]["id"] == "mock-llm"

    reasons = [e["reason"] for e in events_about(cluster, "served")]
    assert "Running" in reasons

    # A spec change rolls the Deployment out in place; the Service is kept.
    with cluster.api() as api:
        updated = api.patch(
            f"{GROUPS}/served", {"spec": {"instances": 2, "env": {"LOG_LEVEL": "debug"}}}
        )
    generation = updated["metadata"]["generation"]

    def rolled_out() -> dict[str, Any] | None:
        status = status_of(cluster, "served")
        done = status.get("observedGeneration") == generation and status.get("ready") == "2/2"
        return status if done and status.get("phase") == "Running" else None

    cluster.wait_for(rolled_out, timeout=60, interval=0.3, what="rollout to 2 instances")
    after = get(cluster, f"{DEPLOYMENTS}/served")
    assert after is not None
    assert after["metadata"]["uid"] == deployment["metadata"]["uid"]
    assert after["spec"]["replicas"] == 2
    env = after["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "LOG_LEVEL", "value": "debug"} in env
    service_after = get(cluster, f"{SERVICES}/served")
    assert service_after is not None
    assert service_after["metadata"]["uid"] == service["metadata"]["uid"]

    # Deleting the group removes what it owns.
    with cluster.api() as api:
        api.delete(f"{GROUPS}/served")
    cluster.wait_for(
        lambda: (
            get(cluster, f"{DEPLOYMENTS}/served") is None
            and get(cluster, f"{SERVICES}/served") is None
            and get(cluster, f"{GROUPS}/served") is None
        ),
        # Kopf stops the group's timer and removes its finalizer first: well under a second
        # (a timer caught mid-run used to hold the finalizer for Kopf's 60 s polling; see
        # modeleval.handlers.startup.configure).
        timeout=10,
        what="children garbage-collected",
    )


def test_crashing_pod_fails_with_the_exit_code(cluster: LocalCluster) -> None:
    apply(cluster, sample("crasher", image="registry.example.com/crash:1"))
    status = wait_phase(cluster, "crasher", "Failed")
    assert "CrashLoopBackOff" in status["message"]
    assert "exit code 3" in status["message"]
    degraded = {c["type"]: c for c in status["conditions"]}["Degraded"]
    assert (degraded["status"], degraded["reason"]) == ("True", "CrashLoopBackOff")
    assert status.get("url") is None
    warnings = [e for e in events_about(cluster, "crasher") if e["type"] == "Warning"]
    assert any(e["reason"] == "CrashLoopBackOff" for e in warnings)


def test_never_ready_pod_is_a_boot_timeout(cluster: LocalCluster) -> None:
    health = {
        "livenessPath": "/health",
        "readinessPath": "/ready",
        "bootTimeSeconds": 10,
        "periodSeconds": 1,
    }
    apply(cluster, sample("sleepy", image="registry.example.com/slowboot:1", health=health))
    status = wait_phase(cluster, "sleepy", "Failed")
    assert "boot timeout" in status["message"]
    assert "GET /health" in status["message"]


def test_unpullable_image_names_the_image(cluster: LocalCluster) -> None:
    apply(cluster, sample("private", image="registry.example.com/private/llm:2"))
    status = wait_phase(cluster, "private", "Failed")
    assert "image registry.example.com/private/llm:2 cannot be pulled" in status["message"]


def test_insufficient_gpu_is_reported(cluster: LocalCluster) -> None:
    apply(cluster, sample("greedy", resources={"gpu": {"count": 4}}))

    def unschedulable() -> str | None:
        message = status_of(cluster, "greedy").get("message") or ""
        return message if "insufficient nvidia.com/gpu" in message else None

    cluster.wait_for(unschedulable, timeout=60, interval=0.3, what="unschedulable message")
    assert status_of(cluster, "greedy")["phase"] == "Pending"


def test_datasets_become_eval_tasks_once_running_without_duplicates(
    cluster: LocalCluster,
) -> None:
    evaluation = {
        "datasets": [
            {"name": "qa", "inline": [{"input": "Say hello", "target": "hello"}]},
            {"name": "math", "inline": [{"input": "1 + 1 = ?", "target": "2"}]},
        ],
        "promptTemplate": "{input}",
        "params": {"temperature": 0.5},
    }
    created = apply(cluster, sample("evaluated", evaluation=evaluation))
    wait_phase(cluster, "evaluated", "Running")

    def listed() -> list[dict[str, Any]] | None:
        tasks = status_of(cluster, "evaluated").get("tasks") or []
        return tasks if len(tasks) == 2 else None

    refs = cluster.wait_for(listed, timeout=30, interval=0.3, what="status.tasks")
    assert sorted(r["name"] for r in refs) == ["evaluated-math", "evaluated-qa"]
    for name in ("evaluated-qa", "evaluated-math"):
        task = get(cluster, f"{TASKS}/{name}")
        assert task is not None
        assert task["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
        assert task["spec"]["models"][0]["serviceGroupRef"] == {"name": "evaluated"}
        assert task["spec"]["inference"]["params"] == {"temperature": 0.5}

    def group_named(name: str) -> bool:
        return (get(cluster, f"{TASKS}/{name}") or {}).get("status", {}).get(
            "serviceGroup"
        ) == "evaluated"

    # status.serviceGroup (ZStack modelServiceGroupUuid) names the group that created the task.
    for name in ("evaluated-qa", "evaluated-math"):
        cluster.wait_for(lambda n=name: group_named(n), timeout=30, what=f"{name} serviceGroup")

    # An operator restart re-runs every handler: nothing is created twice.
    deployment_uid = get(cluster, f"{DEPLOYMENTS}/evaluated")["metadata"]["uid"]
    resumed = "[default/evaluated] Handler 'servicegroup-reconcile' succeeded"
    before = cluster.operator_output().count(resumed)
    cluster.stop_operator()
    cluster.start_operator()
    cluster.wait_for(
        lambda: cluster.operator_output().count(resumed) > before,
        timeout=120,  # a restarted Kopf first re-lists every resource; slow on a loaded machine
        what="the resume handler after a restart",
    )
    selector = "?labelSelector=modeleval.io/service-group%3Devaluated"
    wait_phase(cluster, "evaluated", "Running")
    tasks = (get(cluster, TASKS + selector) or {}).get("items") or []
    assert sorted(t["metadata"]["name"] for t in tasks) == ["evaluated-math", "evaluated-qa"]
    deployments = (get(cluster, DEPLOYMENTS + selector) or {}).get("items") or []
    assert [d["metadata"]["uid"] for d in deployments] == [deployment_uid]


def test_sample_group_creates_its_children(cluster: LocalCluster) -> None:
    """The published sample (vLLM on one GPU, cached weights) as a user applies it."""
    doc = yaml.safe_load((REPO / "manifests" / "samples" / "10-servicegroup-qwen.yaml").read_text())
    name = doc["metadata"]["name"]
    apply(cluster, doc)
    cluster.wait_for(lambda: get(cluster, f"{DEPLOYMENTS}/{name}"), timeout=60, what="Deployment")
    deployment = get(cluster, f"{DEPLOYMENTS}/{name}")
    assert deployment is not None
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == doc["spec"]["image"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert "--served-model-name=qwen-7b" in container["args"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v1/models"
    assert container["startupProbe"]["failureThreshold"] == 90  # 900 s / 10 s
    service = get(cluster, f"{SERVICES}/{name}")
    assert service is not None and service["spec"]["ports"][0]["port"] == 8000
    assert get(cluster, f"/api/v1/namespaces/{NS}/persistentvolumeclaims/{name}-model-cache")
    # The local node has no nvidia.com/gpu.present label: the status says why nothing runs.
    status = wait_phase(cluster, name, "Pending")

    def explained() -> str | None:
        message = status_of(cluster, name).get("message") or ""
        return message if "cannot be scheduled" in message else None

    assert cluster.wait_for(explained, timeout=30, interval=0.3, what="scheduling message")
    assert status["observedGeneration"] == 1


# --- drift repair -----------------------------------------------------------------------------


def drift_messages(cluster: LocalCluster, name: str) -> list[str]:
    return [e["message"] for e in events_about(cluster, name) if e["reason"] == "DriftRepaired"]


def running_group(cluster: LocalCluster, name: str) -> dict[str, Any]:
    created = apply(cluster, sample(name))
    status = wait_phase(cluster, name, "Running")
    assert status["ready"] == "1/1"
    return created


def container_of(deployment: dict[str, Any] | None) -> dict[str, Any]:
    assert deployment is not None
    return deployment["spec"]["template"]["spec"]["containers"][0]


def test_scaled_deployment_is_scaled_back(cluster: LocalCluster) -> None:
    running_group(cluster, "scaled")
    cluster.kubectl("scale", "deployment/scaled", "--replicas=3")

    def scaled_back() -> dict[str, Any] | None:
        deployment = get(cluster, f"{DEPLOYMENTS}/scaled")
        return deployment if deployment and deployment["spec"]["replicas"] == 1 else None

    cluster.wait_for(scaled_back, timeout=REPAIR_SECONDS, interval=0.2, what="replicas back to 1")
    cluster.wait_for(
        lambda: drift_messages(cluster, "scaled"), timeout=REPAIR_SECONDS, what="DriftRepaired"
    )
    [message] = drift_messages(cluster, "scaled")
    assert message.startswith("put back Deployment scaled: spec.replicas is 3 (want 1)")
    status = wait_phase(cluster, "scaled", "Running")
    assert status["ready"] == "1/1"


def test_changed_image_is_reverted(cluster: LocalCluster) -> None:
    running_group(cluster, "imaged")
    wanted = container_of(get(cluster, f"{DEPLOYMENTS}/imaged"))["image"]
    edit = [
        {
            "op": "replace",
            "path": "/spec/template/spec/containers/0/image",
            "value": "registry.example.com/mock-llm:9.9",
        }
    ]
    cluster.kubectl("patch", "deployment", "imaged", "--type=json", "-p", json.dumps(edit))

    def reverted() -> dict[str, Any] | None:
        deployment = get(cluster, f"{DEPLOYMENTS}/imaged")
        return deployment if container_of(deployment)["image"] == wanted else None

    cluster.wait_for(reverted, timeout=REPAIR_SECONDS, interval=0.2, what="image reverted")
    cluster.wait_for(
        lambda: drift_messages(cluster, "imaged"), timeout=REPAIR_SECONDS, what="DriftRepaired"
    )
    [message] = drift_messages(cluster, "imaged")
    assert (
        "spec.template.spec.containers[model-server].image is registry.example.com/mock-llm:9.9"
        f" (want {wanted})"
    ) in message


def test_deleted_service_and_deployment_are_recreated(cluster: LocalCluster) -> None:
    created = running_group(cluster, "deleted")
    uid = created["metadata"]["uid"]
    old_service = get(cluster, f"{SERVICES}/deleted")
    assert old_service is not None
    cluster.kubectl("delete", "service", "deleted")

    def recreated(path: str, old_uid: str) -> dict[str, Any] | None:
        child = get(cluster, path)
        return child if child and child["metadata"]["uid"] != old_uid else None

    service = cluster.wait_for(
        lambda: recreated(f"{SERVICES}/deleted", old_service["metadata"]["uid"]),
        timeout=REPAIR_SECONDS,
        interval=0.2,
        what="the Service recreated",
    )
    old_deployment = get(cluster, f"{DEPLOYMENTS}/deleted")
    assert old_deployment is not None
    cluster.kubectl("delete", "deployment", "deleted")
    deployment = cluster.wait_for(
        lambda: recreated(f"{DEPLOYMENTS}/deleted", old_deployment["metadata"]["uid"]),
        timeout=REPAIR_SECONDS,
        interval=0.2,
        what="the Deployment recreated",
    )
    for child in (service, deployment):
        (owner,) = child["metadata"]["ownerReferences"]
        assert owner["uid"] == uid and owner["controller"] is True
    assert service["spec"]["selector"] == old_service["spec"]["selector"]
    cluster.wait_for(
        lambda: len(drift_messages(cluster, "deleted")) == 2,
        timeout=REPAIR_SECONDS,
        what="two DriftRepaired Events",
    )
    assert sorted(drift_messages(cluster, "deleted")) == [
        "recreated Deployment deleted: it was deleted",
        "recreated Service deleted: it was deleted",
    ]
    # The URL serves again through the recreated Service and Deployment.
    status = wait_phase(cluster, "deleted", "Running")
    assert cluster.executor is not None
    models = httpx.get(cluster.executor.resolve_url(status["url"]) + "/models", timeout=10)
    assert models.status_code == 200


def test_an_unchanged_group_writes_none_of_its_children(cluster: LocalCluster) -> None:
    """Watch events of the children and the timer (every 0.5 s here) compare, never write:
    no patch loop against what the API server defaults or the Deployment controller updates."""
    running_group(cluster, "quiet")
    time.sleep(1)  # let the rollout's last status updates settle
    log = cluster.apiserver.request_log
    start = len(log)
    time.sleep(5)
    calls = [r for r in list(log)[start:] if r.user == OPERATOR]
    writes = [
        (r.verb, r.resource, r.subresource, r.name)
        for r in calls
        if r.verb in ("create", "update", "patch", "delete")
        and r.resource in ("deployments", "services")
    ]
    assert writes == []
    reads = [r for r in calls if r.verb == "get" and r.resource == "deployments"]
    assert len(reads) >= 5  # the timer did look (repair and status) meanwhile
    assert drift_messages(cluster, "quiet") == []


def test_evicted_model_server_is_named_then_replaced(cluster: LocalCluster) -> None:
    apply(cluster, sample("evictee"))
    [instance] = wait_phase(cluster, "evictee", "Running")["instances"]
    assert cluster.evict_pod(NS, instance["name"])
    seen: list[str] = []

    def recovered() -> dict[str, Any] | None:
        status = status_of(cluster, "evictee")
        seen.append(str(status.get("message")))
        ready = [i for i in status.get("instances") or [] if i.get("ready")]
        fresh = status.get("phase") == "Running" and ready and ready[0]["name"] != instance["name"]
        return status if fresh else None

    final = cluster.wait_for(recovered, timeout=60, interval=0.2, what="a ready replacement")
    assert any(f"pod {instance['name']} was evicted" in m for m in seen), seen
    assert "low on resource: memory" in next(m for m in seen if "was evicted" in m)
    assert final["message"].startswith("1/1 instances ready")
    evicted = get(cluster, f"/api/v1/namespaces/{NS}/pods/{instance['name']}") or {}
    assert evicted["status"]["reason"] == "Evicted"  # lingers, as real evicted pods do
