"""Children of a ``ModelEvalServiceGroup``: Deployment, Service, model-cache PVC, its URL.

Pure functions: a validated :class:`~modeleval.api.ModelEvalServiceGroup` in, a manifest dict
out (camelCase, ready for the official client). Every deployment-side field of the spec lands
in exactly one place here; ``tests/unit/builders/test_servicegroup*.py`` checks each one.

    deployment = build_deployment(group)
    service = build_service(group)
    pvc = build_model_cache_pvc(group)        # None unless the operator must create one
    url = group_url(group)                    # http://<svc>.<ns>.svc.cluster.local:8000/v1
"""

from __future__ import annotations

import math
from typing import Any

from modeleval import constants as c
from modeleval.api.servicegroup import (
    HealthSettings,
    ModelEvalServiceGroup,
    ResourceAmounts,
    SecurityOverrides,
    ServingSettings,
)
from modeleval.builders.common import child_metadata, child_name, standard_labels

COMPONENT = "model-server"
"""``app.kubernetes.io/component`` of the group's Deployment, pods and Service."""

CONTAINER_NAME = "model-server"
PORT_NAME = "http"
MULTUS_ANNOTATION = "k8s.v1.cni.cncf.io/networks"
ZONE_LABEL = "topology.kubernetes.io/zone"
MODEL_CACHE_VOLUME = "model-cache"
SHM_VOLUME = "dshm"
PROBE_TIMEOUT_SECONDS = 5
"""Model servers answer health checks slowly under load; the Kubernetes default (1 s) is
too tight."""
PROGRESS_DEADLINE_MARGIN_SECONDS = 120
"""The Deployment reports ProgressDeadlineExceeded this long after the boot time."""


def _name(group: ModelEvalServiceGroup) -> str:
    if not group.metadata.name:
        raise ValueError("the service group has no metadata.name")
    return group.metadata.name


def health_of(group: ModelEvalServiceGroup) -> HealthSettings:
    return group.spec.health or HealthSettings()


def serving_of(group: ModelEvalServiceGroup) -> ServingSettings:
    return group.spec.serving or ServingSettings()


def deployment_name(group: ModelEvalServiceGroup) -> str:
    return _name(group)


def service_name(group: ModelEvalServiceGroup) -> str:
    """The Service name: a DNS-1123 label (<= 63 chars) derived from the group's name."""
    return child_name(_name(group))


def model_cache_claim_name(group: ModelEvalServiceGroup) -> str | None:
    """The PVC mounted as model cache: the user's claim, ``<group>-model-cache``, or None."""
    cache = group.spec.model_cache
    if cache is None:
        return None
    return cache.claim_name or child_name(_name(group), "model-cache", max_length=253)


def served_model_name(group: ModelEvalServiceGroup) -> str:
    """The model name clients send in requests (defaults to the group's name)."""
    return serving_of(group).served_model_name or _name(group)


def group_url(group: ModelEvalServiceGroup) -> str:
    """In-cluster base URL of the OpenAI-compatible API: ``http://svc.ns.svc.cluster.local:P/v1``."""
    serving = serving_of(group)
    namespace = group.metadata.namespace or "default"
    host = f"{service_name(group)}.{namespace}.svc.cluster.local"
    return f"http://{host}:{serving.port}{serving.api_path.rstrip('/')}"


def selector_labels(group: ModelEvalServiceGroup) -> dict[str, str]:
    """Labels that select the group's model-server pods (Deployment selector, Service)."""
    labels = standard_labels(_name(group), component=COMPONENT, service_group=_name(group))
    return {k: labels[k] for k in (c.LABEL_SERVICE_GROUP, c.LABEL_COMPONENT)}


def group_labels(group: ModelEvalServiceGroup) -> dict[str, str]:
    return standard_labels(_name(group), component=COMPONENT, service_group=_name(group))


# --- container ------------------------------------------------------------------------------


def startup_args(group: ModelEvalServiceGroup) -> list[str]:
    """``startupParameters`` as ``--key=value`` (empty value: ``--key``), by key, then ``args``."""
    args: list[str] = []
    for key, value in sorted((group.spec.startup_parameters or {}).items()):
        flag = f"--{key.lstrip('-')}"
        args.append(flag if value == "" else f"{flag}={value}")
    return args + list(group.spec.args or [])


def _env(group: ModelEvalServiceGroup) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": name, "value": value} for name, value in (group.spec.env or {}).items()
    ]
    for item in group.spec.env_from or []:
        if item.secret_key_ref is not None:
            ref = {
                "secretKeyRef": {"name": item.secret_key_ref.name, "key": item.secret_key_ref.key}
            }
        else:
            assert item.config_map_key_ref is not None  # the model's rule: exactly one is set
            ref = {
                "configMapKeyRef": {
                    "name": item.config_map_key_ref.name,
                    "key": item.config_map_key_ref.key,
                }
            }
        env.append({"name": item.name, "valueFrom": ref})
    return env


def _amounts(amounts: ResourceAmounts | None) -> dict[str, Any]:
    if amounts is None:
        return {}
    found = {
        "cpu": amounts.cpu,
        "memory": amounts.memory,
        "ephemeral-storage": amounts.ephemeral_storage,
    }
    return {key: str(value) for key, value in found.items() if value is not None}


def gpu_count(group: ModelEvalServiceGroup) -> int:
    resources = group.spec.resources
    return resources.gpu.count if resources and resources.gpu else 0


def _resources(group: ModelEvalServiceGroup) -> dict[str, Any]:
    spec = group.spec.resources
    if spec is None:
        return {}
    limits = _amounts(spec.limits)
    requests = _amounts(spec.requests)
    if spec.gpu is not None and spec.gpu.count > 0:
        # Extended resources cannot be overcommitted: request must equal limit.
        limits[spec.gpu.resource_name] = str(spec.gpu.count)
        requests[spec.gpu.resource_name] = str(spec.gpu.count)
    out: dict[str, Any] = {}
    if limits:
        out["limits"] = limits
    if requests:
        out["requests"] = requests
    return out


def _probes(group: ModelEvalServiceGroup) -> dict[str, dict[str, Any]]:
    health = health_of(group)

    def http_probe(path: str, failure_threshold: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": path, "port": PORT_NAME, "scheme": "HTTP"},
            "periodSeconds": health.period_seconds,
            "timeoutSeconds": PROBE_TIMEOUT_SECONDS,
            "failureThreshold": failure_threshold,
            "successThreshold": 1,
        }

    return {
        "livenessProbe": http_probe(health.liveness_path, 3),
        "readinessProbe": http_probe(health.readiness_path, 3),
        # failureThreshold x periodSeconds >= bootTimeSeconds: slow model loads are not killed.
        "startupProbe": http_probe(health.liveness_path, startup_failure_threshold(health)),
    }


def startup_failure_threshold(health: HealthSettings) -> int:
    return max(1, math.ceil(health.boot_time_seconds / health.period_seconds))


def _security_context(security: SecurityOverrides | None) -> dict[str, Any]:
    sec = security or SecurityOverrides()
    ctx: dict[str, Any] = {
        "allowPrivilegeEscalation": sec.allow_privilege_escalation,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if sec.drop_all_capabilities:
        ctx["capabilities"] = {"drop": ["ALL"]}
    if sec.run_as_non_root:
        ctx["runAsNonRoot"] = True
    if sec.read_only_root_filesystem:
        ctx["readOnlyRootFilesystem"] = True
    return ctx


def _volumes(group: ModelEvalServiceGroup) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(pod volumes, container mounts): /dev/shm, model cache, /tmp on a read-only root."""
    volumes: list[dict[str, Any]] = [{"name": SHM_VOLUME, "emptyDir": {"medium": "Memory"}}]
    mounts: list[dict[str, Any]] = [{"name": SHM_VOLUME, "mountPath": "/dev/shm"}]
    cache = group.spec.model_cache
    claim = model_cache_claim_name(group)
    if cache is not None and claim is not None:
        volumes.append(
            {
                "name": MODEL_CACHE_VOLUME,
                "persistentVolumeClaim": {"claimName": claim, "readOnly": cache.read_only},
            }
        )
        mounts.append(
            {"name": MODEL_CACHE_VOLUME, "mountPath": cache.mount_path, "readOnly": cache.read_only}
        )
    security = group.spec.security
    if security is not None and security.read_only_root_filesystem:
        volumes.append({"name": "tmp", "emptyDir": {}})
        mounts.append({"name": "tmp", "mountPath": "/tmp"})
    return volumes, mounts


def build_container(group: ModelEvalServiceGroup) -> dict[str, Any]:
    """The model-server container."""
    spec = group.spec
    _, mounts = _volumes(group)
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": spec.image,
        "ports": [{"name": PORT_NAME, "containerPort": serving_of(group).port, "protocol": "TCP"}],
        "securityContext": _security_context(spec.security),
        "volumeMounts": mounts,
        **_probes(group),
    }
    if spec.image_pull_policy:
        container["imagePullPolicy"] = spec.image_pull_policy
    if spec.command:
        container["command"] = list(spec.command)
    args = startup_args(group)
    if args:
        container["args"] = args
    env = _env(group)
    if env:
        container["env"] = env
    resources = _resources(group)
    if resources:
        container["resources"] = resources
    return container


# --- pod and Deployment ---------------------------------------------------------------------


def _placement(group: ModelEvalServiceGroup) -> dict[str, Any]:
    placement = group.spec.placement
    if placement is None:
        return {}
    pod: dict[str, Any] = {}
    node_selector = dict(placement.node_selector or {})
    if placement.zone:
        node_selector[ZONE_LABEL] = placement.zone
    if node_selector:
        pod["nodeSelector"] = node_selector
    if placement.tolerations:
        pod["tolerations"] = [
            t.model_dump(by_alias=True, exclude_none=True, mode="json")
            for t in placement.tolerations
        ]
    if placement.affinity:
        pod["affinity"] = placement.affinity
    if placement.priority_class_name:
        pod["priorityClassName"] = placement.priority_class_name
    if placement.runtime_class_name:
        pod["runtimeClassName"] = placement.runtime_class_name
    return pod


def pod_annotations(group: ModelEvalServiceGroup) -> dict[str, str]:
    annotations = dict(group.spec.pod_annotations or {})
    placement = group.spec.placement
    if placement is not None and placement.networks:
        annotations[MULTUS_ANNOTATION] = ",".join(placement.networks)
    return annotations


def build_pod_template(group: ModelEvalServiceGroup) -> dict[str, Any]:
    spec = group.spec
    volumes, _ = _volumes(group)
    pod_spec: dict[str, Any] = {
        "containers": [build_container(group)],
        "volumes": volumes,
        "enableServiceLinks": False,  # Service env vars (e.g. VLLM_PORT) confuse servers
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        **_placement(group),
    }
    if spec.service_account_name:
        pod_spec["serviceAccountName"] = spec.service_account_name
    else:
        pod_spec["automountServiceAccountToken"] = False  # model servers need no API access
    if spec.image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": s} for s in spec.image_pull_secrets]
    metadata: dict[str, Any] = {"labels": {**(spec.pod_labels or {}), **group_labels(group)}}
    annotations = pod_annotations(group)
    if annotations:
        metadata["annotations"] = annotations
    return {"metadata": metadata, "spec": pod_spec}


def _strategy(group: ModelEvalServiceGroup) -> dict[str, Any]:
    # With GPUs, a surge pod usually cannot be scheduled: replace instances one at a time.
    if gpu_count(group) > 0:
        return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


def build_deployment(group: ModelEvalServiceGroup) -> dict[str, Any]:
    """The Deployment running ``spec.instances`` model-server pods."""
    health = health_of(group)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": child_metadata(group, deployment_name(group), group_labels(group)),
        "spec": {
            "replicas": group.spec.instances,
            "selector": {"matchLabels": selector_labels(group)},
            "strategy": _strategy(group),
            "revisionHistoryLimit": 3,
            "progressDeadlineSeconds": health.boot_time_seconds + PROGRESS_DEADLINE_MARGIN_SECONDS,
            "template": build_pod_template(group),
        },
    }


def build_service(group: ModelEvalServiceGroup) -> dict[str, Any]:
    """The ClusterIP Service in front of the ready model-server pods."""
    port = serving_of(group).port
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": child_metadata(group, service_name(group), group_labels(group)),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(group),
            "ports": [
                {"name": PORT_NAME, "port": port, "targetPort": PORT_NAME, "protocol": "TCP"}
            ],
        },
    }


def build_model_cache_pvc(group: ModelEvalServiceGroup) -> dict[str, Any] | None:
    """The model-cache PVC the operator creates; None when no cache or the user names a claim.

    More than one instance at creation time asks for ReadWriteMany (pods may land on several
    nodes); one instance for ReadWriteOnce. Access modes of a PVC cannot change later.
    """
    cache = group.spec.model_cache
    if cache is None or cache.claim_name:
        return None
    claim = model_cache_claim_name(group)
    assert claim is not None
    spec: dict[str, Any] = {
        "accessModes": list(cache.access_modes)
        if cache.access_modes
        else ["ReadWriteMany" if group.spec.instances > 1 else "ReadWriteOnce"],
        "resources": {"requests": {"storage": str(cache.size)}},
    }
    if cache.storage_class_name:
        spec["storageClassName"] = cache.storage_class_name
    labels = standard_labels(_name(group), component="model-cache", service_group=_name(group))
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": child_metadata(group, claim, labels),
        "spec": spec,
    }
