"""Kopf handlers of ``ModelEvalServiceGroup``: reconcile the spec into its children.

create / resume / update all run :func:`reconcile`: parse the spec (an invalid one is a
``PermanentError`` naming the field, also written to status), build the model-cache PVC,
Service and Deployment, create them or bring them to the desired state in place (the Service
is patched, never recreated; the Deployment's spec is replaced with a JSON patch, so removed
fields go away too, which rolls it out), delete the group's EvalTasks whose dataset was removed,
then write the status with the reconciled ``observedGeneration``. Observation (Deployment and
pod events, the timer, EvalTask creation once Running) lives in
:mod:`modeleval.handlers.servicegroup_status`. Deletion: the children carry owner references,
so the garbage collector removes them with the group.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, cast

import kopf
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from modeleval import constants as c
from modeleval import kube
from modeleval.api import ModelEvalServiceGroup
from modeleval.builders.common import label_value
from modeleval.builders.servicegroup import (
    build_deployment,
    build_model_cache_pvc,
    build_service,
)
from modeleval.builders.servicegroup_tasks import build_group_tasks
from modeleval.events import WARNING, post_event
from modeleval.handlers import servicegroup_status as servicegroup_status
from modeleval.handlers.servicegroup_status import now, refresh_group, to_dict
from modeleval.metrics import time_reconcile

HANDLER_RECONCILE = "servicegroup-reconcile"
SPEC_HASH_ANNOTATION = f"{c.GROUP}/spec-hash"
"""Hash of the Deployment spec the operator last wrote: an unchanged spec is not patched."""

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def validation_message(exc: ValidationError) -> str:
    """``invalid spec: spec.resources.gpu.count: Input should be … (and N more)``."""
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"])
        parts.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    more = len(exc.errors()) - len(parts)
    return "invalid spec: " + "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def parse_group(body: dict[str, Any]) -> ModelEvalServiceGroup:
    """The typed group; an invalid spec is reported in status and raised as PermanentError."""
    try:
        return ModelEvalServiceGroup.model_validate(body)
    except ValidationError as exc:
        message = validation_message(exc)
        meta = body.get("metadata") or {}
        kube.patch_custom_status(
            c.SERVICE_GROUP_PLURAL,
            meta.get("namespace") or "default",
            meta.get("name", ""),
            {
                "phase": "Failed",
                "message": message,
                "observedGeneration": meta.get("generation"),
                "lastUpdateTime": now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
        post_event(body, reason="InvalidSpec", message=message, type=WARNING)
        raise kopf.PermanentError(message) from exc


def _owned_by(obj: dict[str, Any], uid: str | None) -> bool:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return uid is None or any(ref.get("uid") == uid for ref in refs)


def _not_ours(kind: str, name: str) -> kopf.PermanentError:
    return kopf.PermanentError(
        f"{kind} {name} already exists and is not owned by this service group; "
        "rename the group or delete the other object"
    )


def spec_hash(manifest: dict[str, Any]) -> str:
    content = {"spec": manifest["spec"], "labels": manifest["metadata"].get("labels")}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def _existing_or_create(
    kind: str,
    read: Callable[..., Any],
    create: Callable[..., Any],
    desired: dict[str, Any],
    uid: str | None,
) -> dict[str, Any] | None:
    """The existing child as a dict, or None after creating it.

    A child that appeared between the read and the create is retried (TemporaryError); one
    owned by something else is refused (PermanentError).
    """
    name, namespace = desired["metadata"]["name"], desired["metadata"]["namespace"]
    existing = kube.read_or_none(read, name, namespace)
    if existing is None:
        if kube.create_if_absent(create, namespace, desired) is None:
            raise kopf.TemporaryError(f"the {kind} appeared meanwhile; retrying", delay=1)
        return None
    current = to_dict(existing)
    if not _owned_by(current, uid):
        raise _not_ours(kind, name)
    return current


def apply_deployment(desired: dict[str, Any], uid: str | None) -> None:
    """Create the Deployment, or replace its spec in place when the desired one changed."""
    meta = desired["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    meta.setdefault("annotations", {})[SPEC_HASH_ANNOTATION] = spec_hash(desired)
    api = kube.apps()
    current = _existing_or_create(
        "Deployment",
        api.read_namespaced_deployment,
        api.create_namespaced_deployment,
        desired,
        uid,
    )
    if current is None:
        return
    current_meta = current.get("metadata") or {}
    annotations = current_meta.get("annotations") or {}
    if annotations.get(SPEC_HASH_ANNOTATION) == meta["annotations"][SPEC_HASH_ANNOTATION]:
        return
    ops = [
        {
            "op": "test",
            "path": "/metadata/resourceVersion",
            "value": current_meta.get("resourceVersion"),
        },
        {"op": "replace", "path": "/spec", "value": desired["spec"]},
        {
            "op": "add",
            "path": "/metadata/labels",
            "value": {**(current_meta.get("labels") or {}), **meta["labels"]},
        },
        {
            "op": "add",
            "path": "/metadata/annotations",
            "value": {**annotations, **meta["annotations"]},
        },
    ]
    try:
        api.patch_namespaced_deployment(name, namespace, ops, _content_type=JSON_PATCH)
    except ApiException as exc:
        if exc.status in (409, 422):  # changed meanwhile (failed test): read it again
            raise kopf.TemporaryError(
                "the Deployment changed meanwhile; retrying", delay=1
            ) from exc
        raise


def apply_service(desired: dict[str, Any], uid: str | None) -> None:
    """Create the Service, or merge-patch ports and selector (never recreated: same uid)."""
    meta = desired["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    api = kube.core()
    current = _existing_or_create(
        "Service", api.read_namespaced_service, api.create_namespaced_service, desired, uid
    )
    if current is None:
        return
    spec = current.get("spec") or {}
    labels = (current.get("metadata") or {}).get("labels") or {}
    wanted = desired["spec"]
    same_ports = [
        (p.get("name"), p.get("port"), str(p.get("targetPort"))) for p in spec.get("ports") or []
    ] == [(p["name"], p["port"], str(p["targetPort"])) for p in wanted["ports"]]
    if (
        same_ports
        and spec.get("selector") == wanted["selector"]
        and all(labels.get(k) == v for k, v in meta["labels"].items())
    ):
        return
    patch = {
        "metadata": {"labels": meta["labels"]},
        "spec": {"ports": wanted["ports"], "selector": wanted["selector"]},
    }
    api.patch_namespaced_service(name, namespace, patch, _content_type=MERGE_PATCH)


def apply_model_cache(desired: dict[str, Any] | None) -> None:
    """Create the model-cache PVC once (its size and class are immutable afterwards)."""
    if desired is None:
        return
    meta = desired["metadata"]
    kube.create_if_absent(
        kube.core().create_namespaced_persistent_volume_claim, meta["namespace"], desired
    )


def prune_tasks(group: ModelEvalServiceGroup, uid: str | None) -> list[str]:
    """Delete the EvalTasks this group created for datasets / targets no longer listed."""
    namespace = group.metadata.namespace or "default"
    planned = {task["metadata"]["name"] for task in build_group_tasks(group)}
    listed = cast(
        dict[str, Any],
        kube.custom().list_namespaced_custom_object(
            c.GROUP,
            c.VERSION,
            namespace,
            c.EVAL_TASK_PLURAL,
            label_selector=f"{c.LABEL_SERVICE_GROUP}={label_value(group.metadata.name or '')}",
        ),
    )
    removed = []
    for task in listed.get("items", []):
        name = task["metadata"]["name"]
        if name not in planned and uid is not None and _owned_by(task, uid):
            kube.delete_if_present(
                kube.custom().delete_namespaced_custom_object,
                c.GROUP,
                c.VERSION,
                namespace,
                c.EVAL_TASK_PLURAL,
                name,
            )
            removed.append(name)
    return removed


@kopf.on.resume(c.GROUP, c.VERSION, c.SERVICE_GROUP_PLURAL, id=HANDLER_RECONCILE)
@kopf.on.create(c.GROUP, c.VERSION, c.SERVICE_GROUP_PLURAL, id=HANDLER_RECONCILE)
@kopf.on.update(c.GROUP, c.VERSION, c.SERVICE_GROUP_PLURAL, id=HANDLER_RECONCILE)
def reconcile(body: kopf.Body, name: str, namespace: str | None, **_: Any) -> None:
    """Bring the Deployment, Service and model-cache PVC to the spec; write the status."""
    with time_reconcile(
        kind=c.SERVICE_GROUP_KIND, handler=HANDLER_RECONCILE, ignore=(kopf.TemporaryError,)
    ):
        raw = json.loads(json.dumps(dict(body)))
        group = parse_group(raw)
        uid = raw["metadata"].get("uid")
        children = [
            build_model_cache_pvc(group),
            build_service(group),
            build_deployment(group),
        ]
        # Owner references only: kopf.adopt() would also copy the group's labels (Argo CD's
        # tracking label among them) onto the children, and Argo CD would prune them.
        for child in children:
            if child is not None:
                kopf.append_owner_reference(child, owner=body)
        pvc, service, deployment = children
        assert service is not None and deployment is not None
        apply_model_cache(pvc)
        apply_service(service, uid)
        apply_deployment(deployment, uid)
        for task in prune_tasks(group, uid):
            post_event(
                raw,
                reason="TaskDeleted",
                message=f"deleted EvalTask {task}: its dataset or target was removed",
            )
        refresh_group(namespace or "default", name, generation=raw["metadata"].get("generation"))


__all__ = ["reconcile", "servicegroup_status"]
