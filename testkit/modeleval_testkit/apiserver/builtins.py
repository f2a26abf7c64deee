"""What the real API server adds to built-in objects: defaults (on every write) and, on create,
generated fields and the initial status.

Only the fields an operator or a test is likely to read: Job selectors, labels and limits,
Deployment replicas, strategy and pod-template defaults, Service cluster IPs and port defaults,
Pod and Namespace phases, a Secret's ``stringData`` folded into ``data``.
"""

from __future__ import annotations

import base64
import copy
import itertools
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
_cluster_ips = itertools.count(10)


def _job_defaults(spec: Obj) -> None:
    for key, value in (
        ("backoffLimit", 6),
        ("completions", 1),
        ("parallelism", 1),
        ("completionMode", "NonIndexed"),
        ("suspend", False),
    ):
        spec.setdefault(key, value)


def _image_pull_policy(image: str) -> str:
    name = image.rsplit("/", 1)[-1]
    if "@" in name:
        return "IfNotPresent"
    tag = name.rsplit(":", 1)[1] if ":" in name else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def _probe_defaults(probe: Obj) -> None:
    for key, value in (
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ):
        probe.setdefault(key, value)
    if "httpGet" in probe:
        probe["httpGet"].setdefault("scheme", "HTTP")


def _pod_template_defaults(template: Obj) -> None:
    """What the API server fills in (and leaves out) in a workload's pod template, so that an
    operator comparing its manifest with the stored one sees the real differences."""
    pod = template.setdefault("spec", {})
    for key, value in (
        ("restartPolicy", "Always"),
        ("terminationGracePeriodSeconds", 30),
        ("dnsPolicy", "ClusterFirst"),
        ("schedulerName", "default-scheduler"),
        ("securityContext", {}),
    ):
        pod.setdefault(key, value)
    for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("imagePullPolicy", _image_pull_policy(str(container.get("image"))))
        for port in container.get("ports") or []:
            port.setdefault("protocol", "TCP")
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if isinstance(container.get(probe), dict):
                _probe_defaults(container[probe])
        for mount in container.get("volumeMounts") or []:
            if mount.get("readOnly") is False:  # omitempty: false is not stored
                del mount["readOnly"]
    for volume in pod.get("volumes") or []:
        claim = volume.get("persistentVolumeClaim")
        if isinstance(claim, dict) and claim.get("readOnly") is False:
            del claim["readOnly"]


def _deployment_defaults(spec: Obj) -> None:
    _pod_template_defaults(spec.setdefault("template", {}))
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    spec.setdefault(
        "strategy",
        {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
    )


def _service_defaults(spec: Obj) -> None:
    spec.setdefault("type", "ClusterIP")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    spec.setdefault("sessionAffinity", "None")


def _pod_defaults(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("serviceAccountName", "default")


def _replicaset_defaults(spec: Obj) -> None:
    _pod_template_defaults(spec.setdefault("template", {}))
    spec.setdefault("replicas", 1)


SPEC_DEFAULTS: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("batch", "jobs"): _job_defaults,
    ("apps", "deployments"): _deployment_defaults,
    ("apps", "replicasets"): _replicaset_defaults,
    ("", "services"): _service_defaults,
    ("", "pods"): _pod_defaults,
    ("", "namespaces"): lambda spec: spec.setdefault("finalizers", ["kubernetes"]),
}


def _job(obj: Obj) -> None:
    spec = obj["spec"]
    meta = obj["metadata"]
    uid, name = meta["uid"], meta["name"]
    if not spec.get("manualSelector"):
        labels = {
            "batch.kubernetes.io/controller-uid": uid,
            "batch.kubernetes.io/job-name": name,
            "controller-uid": uid,
            "job-name": name,
        }
        template_meta = spec.setdefault("template", {}).setdefault("metadata", {})
        template_meta["labels"] = {**(template_meta.get("labels") or {}), **labels}
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    obj["status"] = {}


def _service(obj: Obj) -> None:
    spec = obj["spec"]
    if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
        number = next(_cluster_ips)
        spec["clusterIP"] = f"10.96.{number // 250}.{number % 250 + 1}"
        spec["clusterIPs"] = [spec["clusterIP"]]
    obj["status"] = {"loadBalancer": {}}


def _namespace(obj: Obj) -> None:
    obj["status"] = {"phase": "Active"}
    labels = obj["metadata"].setdefault("labels", {})
    labels.setdefault("kubernetes.io/metadata.name", obj["metadata"]["name"])


def _status(value: Obj) -> Callable[[Obj], None]:
    def reset(obj: Obj) -> None:
        obj["status"] = copy.deepcopy(value)

    return reset


ON_CREATE: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("batch", "jobs"): _job,
    ("apps", "deployments"): _status({}),
    ("apps", "replicasets"): _status({"replicas": 0}),
    ("", "services"): _service,
    ("", "pods"): _status({"phase": "Pending", "qosClass": "BestEffort"}),
    ("", "namespaces"): _namespace,
    ("", "persistentvolumeclaims"): _status({"phase": "Pending"}),
    ("", "secrets"): lambda obj: obj.update(type=obj.get("type") or "Opaque"),
}


def _secret_string_data(obj: Obj) -> None:
    """``stringData`` is write-only: merged into ``data`` (base64), over it, and dropped."""
    strings = obj.pop("stringData", None)
    if strings:
        data = dict(obj.get("data") or {})
        for key, value in strings.items():
            data[key] = base64.b64encode(str(value).encode("utf-8")).decode("ascii")
        obj["data"] = data


ON_WRITE: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("", "secrets"): _secret_string_data,
}
"""Whole-object normalisation of built-in kinds on every write."""


def apply_defaults(kind: tuple[str, str], obj: Obj) -> None:
    """Fill in the spec defaults of a built-in kind (on every write, as the API server does).

    ``obj["spec"]`` is replaced by a defaulted copy: a patched object may share it with the
    stored one.
    """
    hook = SPEC_DEFAULTS.get(kind)
    if hook is not None:
        obj["spec"] = copy.deepcopy(obj.get("spec") or {})
        hook(obj["spec"])
    normalise = ON_WRITE.get(kind)
    if normalise is not None:
        normalise(obj)


def prepare_create(kind: tuple[str, str], obj: Obj) -> None:
    """Apply defaults and the create-time fields (selectors, IPs, initial status) in place."""
    apply_defaults(kind, obj)
    hook = ON_CREATE.get(kind)
    if hook is not None:
        hook(obj)
