"""The ``scale`` subresource of Deployments and ReplicaSets (``kubectl scale``).

An ``autoscaling/v1`` ``Scale`` view of the object: ``spec.replicas``, ``status.replicas`` and
the selector as a string. GET answers the view; PATCH (any patch type) and PUT change
``spec.replicas`` of the object itself through a normal write, so ``generation`` and
``resourceVersion`` move and watchers see a MODIFIED event, as on a real API server. A
``resourceVersion`` in the body is a precondition (409 when stale).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modeleval_testkit.apiserver import errors, fielderrors, patches
from modeleval_testkit.apiserver.resources import SCALE_KIND, ResourceInfo

if TYPE_CHECKING:
    from modeleval_testkit.apiserver.objects import Objects

Obj = dict[str, Any]
SCALE_GROUP, SCALE_VERSION, SCALE = SCALE_KIND


def scale_of(obj: Obj) -> Obj:
    """The Scale view of a Deployment or ReplicaSet."""
    meta = obj["metadata"]
    spec = obj.get("spec") or {}
    labels = (spec.get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": SCALE,
        "apiVersion": f"{SCALE_GROUP}/{SCALE_VERSION}",
        "metadata": {
            key: meta[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in meta
        },
        "spec": {"replicas": spec.get("replicas", 1)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        },
    }


def read(objects: Objects, info: ResourceInfo, namespace: str, name: str) -> Obj:
    """GET …/scale."""
    return scale_of(objects.get(info, namespace, name))


def update(objects: Objects, info: ResourceInfo, namespace: str, name: str, body: Any) -> Obj:
    """PUT …/scale: ``spec.replicas`` of the body becomes the object's."""
    if not isinstance(body, dict):
        raise errors.ApiError(400, "the request body must be a JSON object")
    replicas = (body.get("spec") or {}).get("replicas")
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise errors.invalid(
            SCALE,
            SCALE_GROUP,
            name,
            [fielderrors.invalid("spec.replicas", replicas, "must be greater than or equal to 0")],
        )
    meta: Obj = {}
    version = (body.get("metadata") or {}).get("resourceVersion")
    if version:
        meta["resourceVersion"] = version
    patch = {"metadata": meta, "spec": {"replicas": replicas}}
    written = objects.patch(info, namespace, name, patch, patches.MERGE_PATCH)
    return scale_of(written)


def patch(
    objects: Objects,
    info: ResourceInfo,
    namespace: str,
    name: str,
    body: Any,
    content_type: str,
) -> Obj:
    """PATCH …/scale: the patch applies to the Scale view, then as PUT."""
    current = read(objects, info, namespace, name)
    return update(objects, info, namespace, name, patches.apply_patch(current, body, content_type))
