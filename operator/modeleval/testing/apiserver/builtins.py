"""What the real API server adds to built-in objects on create (defaults and generated fields).

Only the fields an operator or a test is likely to read: Job selectors, labels and limits,
Deployment replicas, Service cluster IPs and port defaults, Pod and Namespace phases.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
_cluster_ips = itertools.count(10)


def _job(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    meta = obj["metadata"]
    uid, name = meta["uid"], meta["name"]
    for key, value in (
        ("backoffLimit", 6),
        ("completions", 1),
        ("parallelism", 1),
        ("completionMode", "NonIndexed"),
        ("suspend", False),
    ):
        spec.setdefault(key, value)
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


def _deployment(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    spec.setdefault(
        "strategy",
        {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
    )
    obj["status"] = {}


def _service(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
        number = next(_cluster_ips)
        spec["clusterIP"] = f"10.96.{number // 250}.{number % 250 + 1}"
        spec["clusterIPs"] = [spec["clusterIP"]]
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    spec.setdefault("sessionAffinity", "None")
    obj["status"] = {"loadBalancer": {}}


def _pod(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("serviceAccountName", "default")
    obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}


def _namespace(obj: Obj) -> None:
    obj.setdefault("spec", {"finalizers": ["kubernetes"]})
    obj["status"] = {"phase": "Active"}
    labels = obj["metadata"].setdefault("labels", {})
    labels.setdefault("kubernetes.io/metadata.name", obj["metadata"]["name"])


def _replicaset(obj: Obj) -> None:
    obj.setdefault("spec", {}).setdefault("replicas", 1)
    obj["status"] = {"replicas": 0}


def _pvc(obj: Obj) -> None:
    obj["status"] = {"phase": "Pending"}


ON_CREATE: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("batch", "jobs"): _job,
    ("apps", "deployments"): _deployment,
    ("apps", "replicasets"): _replicaset,
    ("", "services"): _service,
    ("", "pods"): _pod,
    ("", "namespaces"): _namespace,
    ("", "persistentvolumeclaims"): _pvc,
}


def prepare_create(kind: tuple[str, str], obj: Obj) -> None:
    """Apply the create-time defaults of a built-in kind to ``obj`` (in place)."""
    hook = ON_CREATE.get(kind)
    if hook is not None:
        hook(obj)
