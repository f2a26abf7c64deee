"""The ModelEvalServiceGroup handlers' API side, run directly against the in-process emulator.

No operator process and no executor: the handler functions are called as Kopf would call them,
so idempotence, in-place updates and error reporting are checked quickly and exactly.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from typing import Any

import kopf
import pytest
from kubernetes import config
from prometheus_client import REGISTRY

from modeleval import kube
from modeleval.api import ModelEvalServiceGroup
from modeleval.api.validation import validation_message
from modeleval.events import build_event
from modeleval.handlers.servicegroup import reconcile
from modeleval.handlers.servicegroup_children import repair_group
from modeleval.handlers.servicegroup_status import ensure_tasks
from modeleval.reconcile.children import (
    CREATED,
    DEFERRED,
    REPAIRED,
    SPEC_HASH_ANNOTATION,
    UNCHANGED,
    UPDATED,
)
from modeleval_testkit.apiserver import run_in_thread
from tests.support.paths import REPO

NS = "evals"
API = ("modeleval.io", "v1alpha1")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    kubeconfig = tmp_path_factory.mktemp("kube") / "config"
    with run_in_thread(crds=[REPO / "crds"]) as running:
        running.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        running.write_kubeconfig(kubeconfig, running.admin_token)
        client = config.new_client_from_config(config_file=str(kubeconfig))
        with pytest.MonkeyPatch.context() as patch:
            # The one place modeleval.kube logs in: point it at the emulator.
            patch.setattr(kube, "api_client", lambda: client)
            yield running
        client.rest_client.pool_manager.clear()  # close keep-alive sockets before the server
        client.close()


def create_group(name: str, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    body = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "ModelEvalServiceGroup",
        "metadata": {"name": name, "namespace": NS, "labels": labels or {}},
        "spec": {"image": "vllm/vllm-openai:v0.6", **spec},
    }
    return kube.custom().create_namespaced_custom_object(*API, NS, "modelevalservicegroups", body)


def read_group(name: str) -> dict[str, Any]:
    found = kube.get_custom("modelevalservicegroups", NS, name)
    assert found is not None
    return found


def run_reconcile(name: str, reason: str = "create") -> None:
    reconcile(body=kopf.Body(read_group(name)), name=name, namespace=NS, reason=reason)


def deployment(name: str) -> dict[str, Any]:
    return kube.api_client().sanitize_for_serialization(
        kube.apps().read_namespaced_deployment(name, NS)
    )


def service(name: str) -> dict[str, Any]:
    return kube.api_client().sanitize_for_serialization(
        kube.core().read_namespaced_service(name, NS)
    )


def test_reconcile_creates_owned_children_and_is_idempotent(server: Any) -> None:
    tracking = {"argocd.argoproj.io/instance": "evals-app"}
    group = create_group("alpha", labels=tracking, modelCache={"size": "5Gi"})
    run_reconcile("alpha")
    first = deployment("alpha")
    svc = service("alpha")
    pvc = kube.core().read_namespaced_persistent_volume_claim("alpha-model-cache", NS)
    uid = group["metadata"]["uid"]
    for meta in (first["metadata"], svc["metadata"]):
        assert [ref["uid"] for ref in meta["ownerReferences"]] == [uid]
        # The group's own labels (Argo CD tracking) are not copied: Argo would prune children.
        assert "argocd.argoproj.io/instance" not in meta["labels"]
    assert pvc.metadata.owner_references[0].uid == uid
    status = read_group("alpha")["status"]
    assert status["phase"] == "Deploying" or status["phase"] == "Pending"
    assert status["observedGeneration"] == group["metadata"]["generation"]
    assert status["deploymentName"] == "alpha" and status["serviceName"] == "alpha"
    assert status["lastUpdateTime"].endswith("Z")  # written with every change
    gauge = REGISTRY.get_sample_value(
        "modeleval_resources", {"kind": "ModelEvalServiceGroup", "state": status["phase"]}
    )
    assert gauge is not None and gauge >= 1

    run_reconcile("alpha", "resume")  # a restarted operator resumes: nothing new, rewritten
    again = deployment("alpha")
    assert again["metadata"]["uid"] == first["metadata"]["uid"]
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    selector = "modeleval.io/service-group=alpha"
    assert len(kube.apps().list_namespaced_deployment(NS, label_selector=selector).items) == 1
    assert len(kube.core().list_namespaced_service(NS, label_selector=selector).items) == 1


def test_spec_change_updates_in_place_and_removes_dropped_fields(server: Any) -> None:
    create_group("beta", env={"KEEP": "1", "DROP": "2"}, placement={"nodeSelector": {"a": "b"}})
    run_reconcile("beta")
    before, svc_before = deployment("beta"), service("beta")
    kube.custom().patch_namespaced_custom_object(
        *API,
        NS,
        "modelevalservicegroups",
        "beta",
        {
            "spec": {
                "env": {"KEEP": "1", "DROP": None, "NEW": "3"},
                "placement": None,
                "serving": {"port": 9000},
            }
        },
    )
    run_reconcile("beta")
    after, svc_after = deployment("beta"), service("beta")
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert (
        after["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
        != (before["metadata"]["annotations"][SPEC_HASH_ANNOTATION])
    )
    pod = after["spec"]["template"]["spec"]
    assert pod["containers"][0]["env"] == [
        {"name": "KEEP", "value": "1"},
        {"name": "NEW", "value": "3"},
    ]
    assert "nodeSelector" not in pod
    assert pod["containers"][0]["ports"][0]["containerPort"] == 9000
    assert svc_after["metadata"]["uid"] == svc_before["metadata"]["uid"]
    assert svc_after["spec"]["ports"][0]["port"] == 9000
    assert read_group("beta")["status"]["observedGeneration"] == 2


def test_invalid_spec_is_permanent_and_reported(server: Any) -> None:
    create_group("gamma")
    body = copy.deepcopy(read_group("gamma"))
    body["spec"]["resources"] = {"gpu": {"count": -1}}
    with pytest.raises(kopf.PermanentError, match=r"spec\.resources\.gpu\.count"):
        reconcile(body=kopf.Body(body), name="gamma", namespace=NS)
    status = read_group("gamma")["status"]
    assert status["phase"] == "Failed"
    assert "spec.resources.gpu.count" in status["message"]


def test_foreign_deployment_is_not_taken_over(server: Any) -> None:
    kube.apps().create_namespaced_deployment(
        NS,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "delta"},
            "spec": {
                "selector": {"matchLabels": {"app": "x"}},
                "template": {
                    "metadata": {"labels": {"app": "x"}},
                    "spec": {"containers": [{"name": "c", "image": "x"}]},
                },
            },
        },
    )
    create_group("delta")
    with pytest.raises(kopf.PermanentError, match="not owned by this service group"):
        run_reconcile("delta")
    assert deployment("delta")["spec"]["template"]["spec"]["containers"][0]["image"] == "x"


def test_tasks_created_once_and_pruned_with_their_dataset(server: Any) -> None:
    datasets = [
        {"name": "qa", "inline": [{"input": "hi"}]},
        {"name": "math", "inline": [{"input": "1+1"}]},
    ]
    create_group("eps", evaluation={"datasets": datasets})
    body = read_group("eps")
    group = ModelEvalServiceGroup.model_validate(body)
    assert ensure_tasks(body, group, running=False) == ([], [])  # not before it is Running
    refs, _ = ensure_tasks(body, group, running=True)
    assert sorted(r.name for r in refs) == ["eps-math", "eps-qa"]
    assert len(ensure_tasks(body, group, running=True)[0]) == 2  # no duplicates, 409-safe
    kube.custom().patch_namespaced_custom_object(
        *API,
        NS,
        "modelevalservicegroups",
        "eps",
        {"spec": {"evaluation": {"datasets": datasets[:1]}}},
    )
    run_reconcile("eps")
    names = [
        t["metadata"]["name"]
        for t in kube.custom().list_namespaced_custom_object(
            *API, NS, "evaltasks", label_selector="modeleval.io/service-group=eps"
        )["items"]
    ]
    assert names == ["eps-qa"]


def drift_events(name: str) -> list[str]:
    events = kube.core().list_namespaced_event(NS).items
    return [
        e.message
        for e in events
        if e.reason == "DriftRepaired" and e.involved_object.name == name and e.type == "Warning"
    ]


def actions(name: str) -> list[tuple[str, str]]:
    return [(a.kind, a.action) for a in repair_group(NS, name)]


def test_scaled_or_edited_deployment_is_put_back_once(server: Any) -> None:
    create_group("zeta", args=["--max-model-len=4096"])
    run_reconcile("zeta")
    kube.apps().patch_namespaced_deployment_scale("zeta", NS, {"spec": {"replicas": 3}})
    kube.apps().patch_namespaced_deployment(
        "zeta",
        NS,
        [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "evil:1"}],
        _content_type="application/json-patch+json",
    )
    assert actions("zeta") == [("Service", UNCHANGED), ("Deployment", REPAIRED)]
    repaired = deployment("zeta")
    assert repaired["spec"]["replicas"] == 1
    assert repaired["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "vllm/vllm-openai:v0.6"
    )
    [message] = drift_events("zeta")
    assert message.startswith("put back Deployment zeta: spec.replicas is 3 (want 1); ")
    assert "containers[model-server].image is evil:1 (want vllm/vllm-openai:v0.6)" in message

    # Nothing differs any more: no write, no Event (watch events of our own write end here).
    version = repaired["metadata"]["resourceVersion"]
    assert actions("zeta") == [("Service", UNCHANGED), ("Deployment", UNCHANGED)]
    assert deployment("zeta")["metadata"]["resourceVersion"] == version
    assert len(drift_events("zeta")) == 1


def test_deleted_children_are_recreated_owned_by_the_group(server: Any) -> None:
    group = create_group("eta")
    run_reconcile("eta")
    old_uid = service("eta")["metadata"]["uid"]
    kube.core().delete_namespaced_service("eta", NS)
    kube.apps().delete_namespaced_deployment("eta", NS)
    assert actions("eta") == [("Service", CREATED), ("Deployment", CREATED)]
    recreated = service("eta")
    assert recreated["metadata"]["uid"] != old_uid
    for child in (recreated, deployment("eta")):
        [owner] = child["metadata"]["ownerReferences"]
        assert owner["uid"] == group["metadata"]["uid"] and owner["controller"] is True
    assert sorted(drift_events("eta")) == [
        "recreated Deployment eta: it was deleted",
        "recreated Service eta: it was deleted",
    ]


def test_a_child_orphaned_by_hand_is_adopted_again(server: Any) -> None:
    """Without its owner reference, deleting the group would leave the GPU pods running."""
    group = create_group("orphan")
    run_reconcile("orphan")
    strip = [{"op": "remove", "path": "/metadata/ownerReferences"}]
    kube.apps().patch_namespaced_deployment(
        "orphan", NS, strip, _content_type="application/json-patch+json"
    )
    kube.core().patch_namespaced_service(
        "orphan", NS, strip, _content_type="application/json-patch+json"
    )
    assert "ownerReferences" not in deployment("orphan")["metadata"]
    assert actions("orphan") == [("Service", REPAIRED), ("Deployment", REPAIRED)]
    for child in (service("orphan"), deployment("orphan")):
        [owner] = child["metadata"]["ownerReferences"]
        assert owner["uid"] == group["metadata"]["uid"] and owner["controller"] is True
    assert sorted(drift_events("orphan")) == [
        "put back Deployment orphan: metadata.ownerReferences is missing (want this group)",
        "put back Service orphan: metadata.ownerReferences is missing (want this group)",
    ]
    assert actions("orphan") == [("Service", UNCHANGED), ("Deployment", UNCHANGED)]


def test_edited_service_is_put_back_in_place(server: Any) -> None:
    create_group("theta")
    run_reconcile("theta")
    before = service("theta")
    kube.core().patch_namespaced_service(
        "theta", NS, {"spec": {"selector": {"app": "other"}, "ports": [{"port": 1, "name": "x"}]}}
    )
    assert actions("theta") == [("Service", REPAIRED), ("Deployment", UNCHANGED)]
    after = service("theta")
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["spec"]["clusterIP"] == before["spec"]["clusterIP"]
    assert after["spec"]["selector"] == before["spec"]["selector"]  # "app" removed again
    assert [(p["name"], p["port"]) for p in after["spec"]["ports"]] == [("http", 8000)]
    assert len(drift_events("theta")) == 1

    # A removed hash annotation (or a newer operator's manifest) is an update, not drift.
    kube.core().patch_namespaced_service(
        "theta", NS, {"metadata": {"annotations": {SPEC_HASH_ANNOTATION: None}}}
    )
    assert actions("theta") == [("Service", UPDATED), ("Deployment", UNCHANGED)]
    assert SPEC_HASH_ANNOTATION in service("theta")["metadata"]["annotations"]
    assert len(drift_events("theta")) == 1


def test_a_spec_change_not_reconciled_yet_is_left_to_the_reconcile_handler(
    server: Any,
) -> None:
    create_group("iota")
    run_reconcile("iota")
    before = deployment("iota")
    kube.custom().patch_namespaced_custom_object(
        *API, NS, "modelevalservicegroups", "iota", {"spec": {"instances": 2}}
    )
    assert actions("iota") == [("Service", UNCHANGED), ("Deployment", DEFERRED)]
    assert (
        deployment("iota")["metadata"]["resourceVersion"] == (before["metadata"]["resourceVersion"])
    )
    # A deleted child comes back meanwhile (with the newer spec: it is what is wanted).
    kube.apps().delete_namespaced_deployment("iota", NS)
    assert actions("iota") == [("Service", UNCHANGED), ("Deployment", CREATED)]
    assert deployment("iota")["spec"]["replicas"] == 2
    run_reconcile("iota", "update")
    assert read_group("iota")["status"]["observedGeneration"] == 2
    assert actions("iota") == [("Service", UNCHANGED), ("Deployment", UNCHANGED)]
    assert drift_events("iota") == ["recreated Deployment iota: it was deleted"]


def test_no_repair_before_the_first_reconcile_or_during_deletion(server: Any) -> None:
    create_group("kappa")
    assert repair_group(NS, "kappa") == []  # not reconciled yet: the create handler's job
    assert kube.read_or_none(kube.apps().read_namespaced_deployment, "kappa", NS) is None
    assert repair_group(NS, "missing") == []

    run_reconcile("kappa")
    hold = {"metadata": {"finalizers": ["test.example/hold"]}}
    kube.custom().patch_namespaced_custom_object(*API, NS, "modelevalservicegroups", "kappa", hold)
    kube.custom().delete_namespaced_custom_object(*API, NS, "modelevalservicegroups", "kappa")
    kube.apps().delete_namespaced_deployment("kappa", NS)
    assert repair_group(NS, "kappa") == []  # being deleted: nothing comes back
    assert kube.read_or_none(kube.apps().read_namespaced_deployment, "kappa", NS) is None
    release = {"metadata": {"finalizers": None}}
    kube.custom().patch_namespaced_custom_object(
        *API, NS, "modelevalservicegroups", "kappa", release
    )
    assert kube.get_custom("modelevalservicegroups", NS, "kappa") is None


def test_resume_recreates_a_child_deleted_while_the_operator_was_away(server: Any) -> None:
    create_group("lambda")
    run_reconcile("lambda")
    assert drift_events("lambda") == []  # created on creation: no repair
    kube.apps().delete_namespaced_deployment("lambda", NS)
    run_reconcile("lambda", "resume")
    assert deployment("lambda")["spec"]["replicas"] == 1
    assert drift_events("lambda") == ["recreated Deployment lambda: it was deleted"]


def test_validation_message_names_the_field_path() -> None:
    with pytest.raises(Exception) as caught:
        ModelEvalServiceGroup.model_validate(
            {"metadata": {"name": "x"}, "spec": {"image": "i", "instances": 100}}
        )
    assert validation_message(caught.value).startswith("invalid spec: spec.instances:")


def test_event_manifest() -> None:
    body = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "ModelEvalServiceGroup",
        "metadata": {"name": "g", "namespace": "n", "uid": "u"},
    }
    event = build_event(body, reason="BootTimeout", message="x" * 5000, type="Warning")
    assert event["involvedObject"] == {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "ModelEvalServiceGroup",
        "name": "g",
        "namespace": "n",
        "uid": "u",
    }
    assert event["reason"] == "BootTimeout" and event["type"] == "Warning"
    assert len(event["message"]) <= 1024
    assert event["metadata"] == {"generateName": "g.", "namespace": "n"}


def test_a_forbidden_spec_is_refused_and_never_applied_by_drift_repair(
    server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The image allow-list (MODELEVAL_ALLOWED_MODEL_IMAGES) binds the reconcile handler and
    the drift repair alike: a changed spec naming another image leaves the Deployment as it
    was, and the group says why (NotAllowed) until the spec changes again."""
    from modeleval.handlers import servicegroup_children, usable

    create_group("guarded")
    run_reconcile("guarded")
    settings = dataclasses.replace(usable.SETTINGS, allowed_model_images=("docker.io/vllm/*",))
    for module in (servicegroup_children, usable):
        monkeypatch.setattr(module, "SETTINGS", settings)
    before = container_image(deployment("guarded"))
    kube.custom().patch_namespaced_custom_object(
        *API, NS, "modelevalservicegroups", "guarded", {"spec": {"image": "evil/miner:1"}}
    )
    with pytest.raises(
        kopf.PermanentError, match=r"spec\.image: image evil/miner:1 is not allowed"
    ):
        run_reconcile("guarded", "update")
    status = read_group("guarded")["status"]
    assert status["phase"] == "Failed"
    assert [c["reason"] for c in status["conditions"]] == ["NotAllowed"]
    assert repair_group(NS, "guarded") == []
    assert container_image(deployment("guarded")) == before


def container_image(obj: dict[str, Any]) -> str:
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])
