"""Every deployment-side field of a ModelEvalServiceGroup lands in the right place.

The ZStack seed field each test covers is named in the test's name or docstring.
"""

from __future__ import annotations

from typing import Any

import pytest

from modeleval import constants as c
from modeleval.api import ModelEvalServiceGroup
from modeleval.builders.servicegroup import (
    build_deployment,
    build_model_cache_pvc,
    build_service,
    group_url,
    served_model_name,
)


def group(spec: dict[str, Any] | None = None, **meta: Any) -> ModelEvalServiceGroup:
    metadata = {"name": "llama", "namespace": "evals", "uid": "uid-1", **meta}
    return ModelEvalServiceGroup.model_validate(
        {"metadata": metadata, "spec": {"image": "vllm/vllm-openai:v0.6", **(spec or {})}}
    )


def container(spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return pod_spec(spec)["containers"][0]


def pod_spec(spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return build_deployment(group(spec))["spec"]["template"]["spec"]


def test_docker_image_and_pull_settings() -> None:
    """dockerImage → image; pull policy and pull secrets go to the container and pod."""
    spec = {"imagePullPolicy": "Always", "imagePullSecrets": ["regcred", "mirror"]}
    assert container(spec)["image"] == "vllm/vllm-openai:v0.6"
    assert container(spec)["imagePullPolicy"] == "Always"
    assert pod_spec(spec)["imagePullSecrets"] == [{"name": "regcred"}, {"name": "mirror"}]
    assert "imagePullPolicy" not in container()
    assert "imagePullSecrets" not in pod_spec()


def test_cpu_num_and_memory_size_are_limits() -> None:
    resources = container({"resources": {"limits": {"cpu": 8, "memory": "64Gi"}}})["resources"]
    assert resources == {"limits": {"cpu": "8", "memory": "64Gi"}}


def test_request_cpu_num_and_request_memory_size_are_requests() -> None:
    spec = {"resources": {"requests": {"cpu": "7500m", "memory": "32Gi"}}}
    assert container(spec)["resources"] == {"requests": {"cpu": "7500m", "memory": "32Gi"}}


def test_root_disk_size_is_ephemeral_storage() -> None:
    spec = {"resources": {"limits": {"ephemeralStorage": "100Gi"}}}
    assert container(spec)["resources"]["limits"] == {"ephemeral-storage": "100Gi"}
    spec = {"resources": {"requests": {"ephemeralStorage": "50Gi"}}}
    assert container(spec)["resources"]["requests"] == {"ephemeral-storage": "50Gi"}


def test_gpu_limit_and_request_under_the_configured_resource() -> None:
    default = container({"resources": {"gpu": {"count": 2}}})["resources"]
    assert default["limits"] == {"nvidia.com/gpu": "2"}
    assert default["requests"] == {"nvidia.com/gpu": "2"}
    amd = container({"resources": {"gpu": {"count": 1, "resourceName": "amd.com/gpu"}}})
    assert amd["resources"]["limits"] == {"amd.com/gpu": "1"}
    assert "resources" not in container({"resources": {"gpu": {"count": 0}}})


def test_gpus_replace_instances_one_at_a_time() -> None:
    with_gpu = build_deployment(group({"resources": {"gpu": {"count": 1}}}))["spec"]
    assert with_gpu["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    without = build_deployment(group())["spec"]
    assert without["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}


def test_environment_variables_and_refs() -> None:
    spec = {
        "env": {"HF_HOME": "/models", "VLLM_LOGGING_LEVEL": "DEBUG"},
        "envFrom": [
            {"name": "HF_TOKEN", "secretKeyRef": {"name": "hf", "key": "token"}},
            {"name": "EXTRA", "configMapKeyRef": {"name": "cfg", "key": "extra"}},
        ],
    }
    assert container(spec)["env"] == [
        {"name": "HF_HOME", "value": "/models"},
        {"name": "VLLM_LOGGING_LEVEL", "value": "DEBUG"},
        {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}},
        {"name": "EXTRA", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "extra"}}},
    ]
    assert "env" not in container()


def test_startup_parameters_become_sorted_flags_then_args() -> None:
    spec = {
        "startupParameters": {"tensor-parallel-size": "2", "enforce-eager": "", "--dtype": "half"},
        "args": ["--served-model-name", "llama"],
        "command": ["python", "-m", "vllm.entrypoints.openai.api_server"],
    }
    assert container(spec)["args"] == [
        "--dtype=half",
        "--enforce-eager",
        "--tensor-parallel-size=2",
        "--served-model-name",
        "llama",
    ]
    assert container(spec)["command"] == ["python", "-m", "vllm.entrypoints.openai.api_server"]
    assert "args" not in container() and "command" not in container()


def test_service_livez_and_readyz_are_probe_paths() -> None:
    spec = {"health": {"livenessPath": "/livez", "readinessPath": "/readyz", "periodSeconds": 15}}
    probes = container(spec)
    assert probes["livenessProbe"]["httpGet"] == {
        "path": "/livez",
        "port": "http",
        "scheme": "HTTP",
    }
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert probes["livenessProbe"]["periodSeconds"] == probes["readinessProbe"]["periodSeconds"]
    assert probes["readinessProbe"]["periodSeconds"] == 15


@pytest.mark.parametrize(("boot", "period", "threshold"), [(600, 10, 60), (45, 10, 5), (10, 30, 1)])
def test_service_boot_uptime_is_the_startup_probe_budget(
    boot: int, period: int, threshold: int
) -> None:
    spec = {"health": {"bootTimeSeconds": boot, "periodSeconds": period}}
    startup = container(spec)["startupProbe"]
    assert startup["periodSeconds"] == period
    assert startup["failureThreshold"] == threshold
    assert startup["failureThreshold"] * startup["periodSeconds"] >= boot
    assert (startup["failureThreshold"] - 1) * startup["periodSeconds"] < boot
    deployment = build_deployment(group(spec))["spec"]
    assert deployment["progressDeadlineSeconds"] > boot


def test_default_health_settings() -> None:
    probes = container()
    assert probes["livenessProbe"]["httpGet"]["path"] == "/health"
    assert probes["startupProbe"]["failureThreshold"] == 60  # 600 s / 10 s


def test_instances_are_replicas() -> None:
    assert build_deployment(group({"instances": 3}))["spec"]["replicas"] == 3
    assert build_deployment(group({"instances": 0}))["spec"]["replicas"] == 0


def test_serving_port_on_container_probes_and_service() -> None:
    spec = {"serving": {"port": 30000, "apiPath": "/openai/v1", "servedModelName": "qwen"}}
    assert container(spec)["ports"] == [{"name": "http", "containerPort": 30000, "protocol": "TCP"}]
    service = build_service(group(spec))
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 30000, "targetPort": "http", "protocol": "TCP"}
    ]
    assert group_url(group(spec)) == "http://llama.evals.svc.cluster.local:30000/openai/v1"
    assert served_model_name(group(spec)) == "qwen"
    assert served_model_name(group()) == "llama"


TOLERATIONS = [
    {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "pool", "operator": "Equal", "value": "spot", "effect": "NoExecute",
     "tolerationSeconds": 120},
]  # fmt: skip


def test_placement_fields() -> None:
    """clusterUuid → nodeSelector, zoneUuid → zone label, l3NetworkUuids → Multus networks."""
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "gpu", "operator": "In", "values": ["a100"]}]}
                ]
            }
        }
    }
    spec = {
        "placement": {
            "nodeSelector": {"pool": "gpu-a"},
            "zone": "zone-1",
            "tolerations": TOLERATIONS,
            "affinity": affinity,
            "networks": ["rdma-net", "storage-net"],
            "priorityClassName": "eval-high",
            "runtimeClassName": "nvidia",
        }
    }
    template = build_deployment(group(spec))["spec"]["template"]
    pod = template["spec"]
    assert pod["nodeSelector"] == {"pool": "gpu-a", "topology.kubernetes.io/zone": "zone-1"}
    assert pod["tolerations"] == TOLERATIONS  # every field, as written
    assert pod["affinity"] == affinity
    assert pod["priorityClassName"] == "eval-high"
    assert pod["runtimeClassName"] == "nvidia"
    assert template["metadata"]["annotations"] == {
        "k8s.v1.cni.cncf.io/networks": "rdma-net,storage-net"
    }
    bare = pod_spec()
    for key in ("nodeSelector", "tolerations", "affinity", "priorityClassName", "runtimeClassName"):
        assert key not in bare


def test_model_cache_operator_created_pvc() -> None:
    """primaryStorageUuid → a model-cache PVC the operator creates and mounts."""
    spec = {
        "instances": 1,
        "modelCache": {"size": "200Gi", "storageClassName": "fast", "mountPath": "/weights"},
    }
    pvc = build_model_cache_pvc(group(spec))
    assert pvc is not None
    assert pvc["metadata"]["name"] == "llama-model-cache"
    assert pvc["metadata"]["namespace"] == "evals"
    assert pvc["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    assert pvc["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "200Gi"}},
        "storageClassName": "fast",
    }
    pod = pod_spec(spec)
    assert {
        "name": "model-cache",
        "persistentVolumeClaim": {"claimName": "llama-model-cache", "readOnly": False},
    } in pod["volumes"]
    assert {"name": "model-cache", "mountPath": "/weights", "readOnly": False} in (
        pod["containers"][0]["volumeMounts"]
    )
    many = build_model_cache_pvc(group({"instances": 2, "modelCache": {}}))
    assert many is not None and many["spec"]["accessModes"] == ["ReadWriteMany"]
    chosen = build_model_cache_pvc(
        group({"instances": 2, "modelCache": {"accessModes": ["ReadOnlyMany"]}})
    )
    assert chosen is not None and chosen["spec"]["accessModes"] == ["ReadOnlyMany"]


def test_model_cache_existing_claim_is_mounted_not_created() -> None:
    spec = {"modelCache": {"claimName": "shared-weights", "readOnly": True}}
    assert build_model_cache_pvc(group(spec)) is None
    pod = pod_spec(spec)
    assert {
        "name": "model-cache",
        "persistentVolumeClaim": {"claimName": "shared-weights", "readOnly": True},
    } in pod["volumes"]
    assert build_model_cache_pvc(group()) is None
    assert [v["name"] for v in pod_spec()["volumes"]] == ["dshm"]


def test_dev_shm_is_a_memory_volume() -> None:
    pod = pod_spec()
    assert {"name": "dshm", "emptyDir": {"medium": "Memory"}} in pod["volumes"]
    assert {"name": "dshm", "mountPath": "/dev/shm"} in pod["containers"][0]["volumeMounts"]


def test_secure_defaults() -> None:
    ctx = container()["securityContext"]
    assert ctx == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod_spec()["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    assert pod_spec()["automountServiceAccountToken"] is False
    assert pod_spec()["enableServiceLinks"] is False


def test_security_overrides() -> None:
    spec = {
        "security": {
            "allowPrivilegeEscalation": True,
            "dropAllCapabilities": False,
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
        }
    }
    ctx = container(spec)["securityContext"]
    assert ctx["allowPrivilegeEscalation"] is True
    assert "capabilities" not in ctx
    assert ctx["runAsNonRoot"] is True
    assert ctx["readOnlyRootFilesystem"] is True
    # A read-only root still needs a writable /tmp.
    assert {"name": "tmp", "mountPath": "/tmp"} in container(spec)["volumeMounts"]


def test_root_is_an_explicit_opt_out() -> None:
    """Model pods refuse to run as root unless spec.security.runAsNonRoot is false."""
    assert container()["securityContext"]["runAsNonRoot"] is True
    relaxed = container({"security": {"runAsNonRoot": False}})["securityContext"]
    assert "runAsNonRoot" not in relaxed
    assert relaxed["allowPrivilegeEscalation"] is False  # the other defaults stay


def test_pod_labels_annotations_and_service_account() -> None:
    """systemTags / userTags → pod labels; our selector labels cannot be overridden."""
    spec = {
        "podLabels": {"team": "eval", c.LABEL_SERVICE_GROUP: "hijack"},
        "podAnnotations": {"prometheus.io/scrape": "true"},
        "serviceAccountName": "model-sa",
    }
    template = build_deployment(group(spec))["spec"]["template"]
    assert template["metadata"]["labels"]["team"] == "eval"
    assert template["metadata"]["labels"][c.LABEL_SERVICE_GROUP] == "llama"
    assert template["metadata"]["annotations"] == {"prometheus.io/scrape": "true"}
    assert template["spec"]["serviceAccountName"] == "model-sa"
    assert "automountServiceAccountToken" not in template["spec"]


def test_labels_selector_and_owner() -> None:
    deployment = build_deployment(group())
    meta = deployment["metadata"]
    assert meta["name"] == "llama" and meta["namespace"] == "evals"
    assert meta["labels"] == {
        "app.kubernetes.io/name": "modeleval",
        "app.kubernetes.io/instance": "llama",
        "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/managed-by": "modeleval-operator",
        "modeleval.io/service-group": "llama",
    }
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "modeleval.io/v1alpha1",
            "kind": "ModelEvalServiceGroup",
            "name": "llama",
            "uid": "uid-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    selector = deployment["spec"]["selector"]["matchLabels"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()
    service = build_service(group())
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"] == selector
    assert service["metadata"]["ownerReferences"] == meta["ownerReferences"]


def test_long_group_name_gives_a_valid_service_name() -> None:
    name = "a-very-long-service-group-name-" + "x" * 60
    service = build_service(group(name=name))
    assert len(service["metadata"]["name"]) <= 63
    assert group_url(group(name=name)).startswith(f"http://{service['metadata']['name']}.evals.")
    labels = build_deployment(group(name=name))["metadata"]["labels"]
    assert all(len(v) <= 63 for v in labels.values())


def test_no_owner_reference_before_the_group_is_stored() -> None:
    stored_not = ModelEvalServiceGroup.model_validate(
        {"metadata": {"name": "g", "namespace": "n"}, "spec": {"image": "x"}}
    )
    assert "ownerReferences" not in build_deployment(stored_not)["metadata"]


def test_manifests_validate_against_the_kubernetes_schemas() -> None:
    """A group using every deployment-side field builds objects the API server accepts."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    full = group(
        {
            "imagePullPolicy": "IfNotPresent",
            "imagePullSecrets": ["regcred"],
            "command": ["serve"],
            "args": ["--x"],
            "startupParameters": {"tp": "2", "eager": ""},
            "env": {"A": "1"},
            "envFrom": [{"name": "T", "secretKeyRef": {"name": "s", "key": "k"}}],
            "instances": 2,
            "resources": {
                "limits": {"cpu": 8, "memory": "64Gi", "ephemeralStorage": "100Gi"},
                "requests": {"cpu": "4", "memory": "32Gi"},
                "gpu": {"count": 2},
            },
            "health": {
                "livenessPath": "/livez",
                "readinessPath": "/readyz",
                "bootTimeSeconds": 900,
                "periodSeconds": 20,
            },
            "placement": {
                "nodeSelector": {"pool": "gpu"},
                "zone": "z1",
                "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
                "affinity": {"podAntiAffinity": {}},
                "networks": ["net1"],
                "priorityClassName": "high",
                "runtimeClassName": "nvidia",
            },
            "modelCache": {"size": "10Gi"},
            "security": {"readOnlyRootFilesystem": True, "runAsNonRoot": True},
            "podLabels": {"team": "eval"},
            "podAnnotations": {"a": "b"},
            "serviceAccountName": "sa",
        }
    )
    for manifest in (build_deployment(full), build_service(full), build_model_cache_pvc(full)):
        assert manifest is not None
        kubernetes_validate.validate(manifest, "1.32.0", strict=True)
