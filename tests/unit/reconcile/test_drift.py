"""Drift detection: what the API server adds or rewrites is no drift; what others change is."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from modeleval.api import ModelEvalServiceGroup
from modeleval.builders.servicegroup import build_deployment, build_service
from modeleval.reconcile.drift import (
    MISSING,
    Drift,
    describe_drift,
    find_drift,
    parse_quantity,
)

SPEC = {
    "image": "vllm/vllm-openai:v0.6",
    "instances": 2,
    "args": ["--max-model-len=4096"],
    "env": {"LOG_LEVEL": "info"},
    "resources": {
        "limits": {"cpu": "0.5", "memory": "1024Mi"},
        "requests": {"cpu": "0.25", "memory": "512Mi"},
        "gpu": {"count": 1},
    },
    "modelCache": {"claimName": "weights", "readOnly": False},
}


def deployment() -> dict[str, Any]:
    group = ModelEvalServiceGroup.model_validate(
        {"metadata": {"name": "llama", "namespace": "evals", "uid": "u1"}, "spec": SPEC}
    )
    return build_deployment(group)


def as_served(manifest: dict[str, Any]) -> dict[str, Any]:
    """The Deployment as a real API server and Deployment controller return it."""
    live = copy.deepcopy(manifest)
    live["metadata"].update(
        uid="d1",
        resourceVersion="812",
        generation=3,
        creationTimestamp="2026-11-22T10:00:00Z",
        annotations={"deployment.kubernetes.io/revision": "2"},
        managedFields=[{"manager": "kopf", "operation": "Update"}],
    )
    pod = live["spec"]["template"]["spec"]
    pod.update(
        restartPolicy="Always",
        terminationGracePeriodSeconds=30,
        dnsPolicy="ClusterFirst",
        schedulerName="default-scheduler",
    )
    [container] = pod["containers"]
    container.update(
        terminationMessagePath="/dev/termination-log",
        terminationMessagePolicy="File",
        imagePullPolicy="IfNotPresent",
    )
    # Quantities come back in canonical form; false booleans are omitted (omitempty).
    container["resources"]["limits"].update(cpu="500m", memory="1Gi")
    container["resources"]["requests"]["cpu"] = "250m"
    for mount in container["volumeMounts"]:
        mount.pop("readOnly", None)
    for volume in pod["volumes"]:
        (volume.get("persistentVolumeClaim") or {}).pop("readOnly", None)
    live["status"] = {"replicas": 2, "readyReplicas": 2, "observedGeneration": 3}
    return live


def test_what_the_api_server_adds_or_rewrites_is_no_drift() -> None:
    desired = deployment()
    assert desired["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] == (
        "0.5"
    )
    assert find_drift(desired, as_served(desired)) == []


def test_scaled_replicas_are_drift() -> None:
    desired = deployment()
    live = as_served(desired)
    live["spec"]["replicas"] = 3
    assert find_drift(desired, live) == [Drift("spec.replicas", 2, 3)]
    assert describe_drift(find_drift(desired, live)) == "spec.replicas is 3 (want 2)"


def test_changed_image_and_args_are_named_by_container() -> None:
    desired = deployment()
    live = as_served(desired)
    [container] = live["spec"]["template"]["spec"]["containers"]
    container["image"] = "vllm/vllm-openai:v0.7"
    container["args"] = ["--max-model-len=8192"]
    paths = [d.path for d in find_drift(desired, live)]
    assert paths == [
        "spec.template.spec.containers[model-server].image",
        "spec.template.spec.containers[model-server].args[0]",
    ]


def test_added_or_removed_list_items_are_drift() -> None:
    desired = deployment()
    live = as_served(desired)
    [container] = live["spec"]["template"]["spec"]["containers"]
    container["args"].append("--enforce-eager")
    container["env"] = []
    drift = find_drift(desired, live)
    assert [d.path for d in drift] == [
        "spec.template.spec.containers[model-server].args",
        "spec.template.spec.containers[model-server].env",
    ]
    assert drift[1].found == [] and drift[1].want == [{"name": "LOG_LEVEL", "value": "info"}]


def test_removed_field_is_missing_and_changed_quantity_is_drift() -> None:
    desired = deployment()
    live = as_served(desired)
    [container] = live["spec"]["template"]["spec"]["containers"]
    del container["readinessProbe"]
    container["resources"]["limits"]["memory"] = "2Gi"
    drift = find_drift(desired, live)
    assert [d.path for d in drift] == [
        "spec.template.spec.containers[model-server].readinessProbe",
        "spec.template.spec.containers[model-server].resources.limits.memory",
    ]
    assert drift[0].found is MISSING
    assert str(drift[1]) == (
        "spec.template.spec.containers[model-server].resources.limits.memory is 2Gi (want 1024Mi)"
    )
    assert str(drift[0]).startswith(
        "spec.template.spec.containers[model-server].readinessProbe is missing (want {"
    )


def test_a_wanted_true_is_not_satisfied_by_an_absent_field() -> None:
    assert find_drift({"readOnly": True}, {}) == [Drift("readOnly", True, MISSING)]
    assert find_drift({"readOnly": False}, {}) == []
    assert find_drift({"replicas": 1}, {"replicas": True}) == [Drift("replicas", 1, True)]


def test_service_defaults_are_no_drift_and_a_changed_port_is() -> None:
    group = ModelEvalServiceGroup.model_validate(
        {"metadata": {"name": "llama", "namespace": "evals"}, "spec": {"image": "x:1"}}
    )
    desired = build_service(group)
    live = copy.deepcopy(desired)
    live["spec"].update(
        clusterIP="10.96.0.12",
        clusterIPs=["10.96.0.12"],
        sessionAffinity="None",
        internalTrafficPolicy="Cluster",
        ipFamilies=["IPv4"],
    )
    assert find_drift(desired, live) == []
    live["spec"]["ports"][0]["port"] = 9000
    assert [str(d) for d in find_drift(desired, live)] == [
        "spec.ports[http].port is 9000 (want 8000)"
    ]


def test_description_is_short() -> None:
    drift = [Drift(f"spec.f{i}", "x" * 100, i) for i in range(5)]
    text = describe_drift(drift)
    assert text.endswith("(and 2 more)")
    assert text.count("…") == 3


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("0.5", Decimal("0.5")),
        ("1Gi", Decimal(2**30)),
        ("1024Mi", Decimal(2**30)),
        ("1G", Decimal(10**9)),
        ("1e3", Decimal(1000)),
        (2, Decimal(2)),
        ("abc", None),
        (True, None),
        ("", None),
    ],
)
def test_parse_quantity(text: Any, value: Decimal | None) -> None:
    assert parse_quantity(text) == value
