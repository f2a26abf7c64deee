"""Writes of a ``ModelEvalServiceGroup``'s children: create, update in place, repair drift.

The Deployment and the Service carry :data:`SPEC_HASH_ANNOTATION`, the hash of the manifest
the operator last wrote. Each is compared with what the operator would write now, field by
field, as a semantic subset (:func:`~modeleval.reconcile.drift.find_drift`: what
the API server defaults or others add is ignored):

- a child that is absent is created (``created``);
- another hash means the group's spec changed (or a newer operator writes it differently):
  the child is updated in place (``updated``, no Event);
- the same hash but different fields means someone changed the child (``kubectl scale``,
  ``edit``, ``set image``…): it is put back (``repaired``) and the caller posts a
  ``DriftRepaired`` Event naming the fields;
- nothing differs: no write at all (``unchanged``), so watch events of our own writes and of
  status updates never cause another write.

:func:`reconcile_children` is what the reconcile handler runs; :func:`repair_group` is what the
watch handlers of the children and the group's timer run
(:mod:`modeleval.handlers.servicegroup_status`). Both hold one lock per group, so a repair and a
reconcile never write the same child at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import kopf
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from modeleval import constants as c
from modeleval import kube
from modeleval.api import ModelEvalServiceGroup
from modeleval.builders.servicegroup import (
    build_deployment,
    build_model_cache_pvc,
    build_service,
)
from modeleval.events import WARNING, post_event
from modeleval.handlers.locks import KeyedLocks
from modeleval.handlers.owned import create_owned
from modeleval.kube import to_dict
from modeleval.reconcile.access import group_policy, refusal
from modeleval.reconcile.children import (
    CREATED,
    REPAIRED,
    Applied,
    as_adopted,
    compare_child,
    needs_write,
    orphan_of_ours,
    owned_by,
    with_spec_hash,
)
from modeleval.settings import SETTINGS

log = logging.getLogger(__name__)

DRIFT_REPAIRED = "DriftRepaired"
"""Reason of the Event posted when a child changed or deleted by others is put back."""

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"

CHILDREN_LOCKS = KeyedLocks()
"""One writer of a group's children at a time (reconcile, watch events, timer)."""


@dataclass(frozen=True)
class Found:
    """An existing child as the API served it; ``adopted``: its owner reference was just put
    back (it had been removed by hand)."""

    obj: dict[str, Any]
    adopted: bool = False


def _not_ours(kind: str, name: str) -> kopf.PermanentError:
    return kopf.PermanentError(
        f"{kind} {name} already exists and is not owned by this service group; "
        "rename the group or delete the other object"
    )


def _changed_meanwhile(kind: str) -> kopf.TemporaryError:
    return kopf.TemporaryError(f"the {kind} changed meanwhile; retrying", delay=1)


def _existing_or_create(
    kind: str,
    read: Callable[..., Any],
    create: Callable[..., Any],
    desired: dict[str, Any],
    uid: str | None,
    patch: Callable[..., Any] | None = None,
) -> Found | None:
    """The existing child, or None after creating it.

    A child that appeared between the read and the create is retried (TemporaryError); one
    owned by something else is refused (PermanentError). An orphan with this group's labels
    (its owner reference removed by hand) is adopted again through ``patch``, so deleting the
    group still deletes it (``Found.adopted``).
    """
    name, namespace = desired["metadata"]["name"], desired["metadata"]["namespace"]
    existing = kube.read_or_none(read, name, namespace)
    if existing is None:
        if kube.create_if_absent(create, namespace, desired) is None:
            raise kopf.TemporaryError(f"the {kind} appeared meanwhile; retrying", delay=1)
        return None
    current = to_dict(existing)
    if owned_by(current, uid):
        return Found(current)
    if patch is None or not orphan_of_ours(current, desired):
        raise _not_ours(kind, name)
    meta = current.get("metadata") or {}
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": meta.get("resourceVersion")},
        {
            "op": "add",
            "path": "/metadata/ownerReferences",
            "value": [
                *(meta.get("ownerReferences") or []),
                *desired["metadata"]["ownerReferences"],
            ],
        },
    ]
    try:
        adopted = patch(name, namespace, ops, _content_type=JSON_PATCH)
    except ApiException as exc:
        if exc.status in (409, 422):
            raise _changed_meanwhile(kind) from exc
        raise
    return Found(to_dict(adopted), adopted=True)


def _prepare(
    kind: str,
    read_create: tuple[Callable[..., Any], Callable[..., Any]],
    patch: Callable[..., Any],
    desired: dict[str, Any],
    uid: str | None,
    spec_changes: bool,
) -> tuple[Applied, dict[str, Any] | None]:
    """What applying a child does, and the live object when its spec must still be written
    (None: created, adopted as it is, unchanged or deferred)."""
    read, create = read_create
    found = _existing_or_create(kind, read, create, desired, uid, patch)
    if found is None:
        return Applied(kind, desired["metadata"]["name"], CREATED), None
    compared = compare_child(kind, desired, found.obj, spec_changes=spec_changes)
    applied = as_adopted(compared) if found.adopted else compared
    return applied, (found.obj if needs_write(compared) else None)


def apply_deployment(
    desired: dict[str, Any], uid: str | None, spec_changes: bool = True
) -> Applied:
    """Create the Deployment, or replace its spec in place when it differs from ``desired``.

    The whole spec is replaced with a JSON patch that first tests the resourceVersion, so
    fields others added go away too; a concurrent change is a retry, never lost.
    ``spec_changes=False`` leaves a changed group spec (another hash) to the reconcile handler.
    """
    meta = with_spec_hash(desired)["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    api = kube.apps()
    applied, current = _prepare(
        "Deployment",
        (api.read_namespaced_deployment, api.create_namespaced_deployment),
        api.patch_namespaced_deployment,
        desired,
        uid,
        spec_changes,
    )
    if current is None:
        return applied
    current_meta = current.get("metadata") or {}
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
            "value": {**(current_meta.get("annotations") or {}), **meta["annotations"]},
        },
    ]
    try:
        api.patch_namespaced_deployment(name, namespace, ops, _content_type=JSON_PATCH)
    except ApiException as exc:
        if exc.status in (409, 422):  # changed meanwhile (failed test): read it again
            raise _changed_meanwhile("Deployment") from exc
        raise
    return applied


def apply_service(desired: dict[str, Any], uid: str | None, spec_changes: bool = True) -> Applied:
    """Create the Service, or merge-patch type, ports and selector (never recreated: same uid
    and cluster IP)."""
    meta = with_spec_hash(desired)["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    api = kube.core()
    applied, current = _prepare(
        "Service",
        (api.read_namespaced_service, api.create_namespaced_service),
        api.patch_namespaced_service,
        desired,
        uid,
        spec_changes,
    )
    if current is None:
        return applied
    wanted = desired["spec"]
    extra = set((current.get("spec") or {}).get("selector") or {}) - set(wanted["selector"])
    patch = {
        "metadata": {
            "labels": meta["labels"],
            "annotations": meta["annotations"],
            "resourceVersion": (current.get("metadata") or {}).get("resourceVersion"),
        },
        "spec": {
            "type": wanted["type"],
            "ports": wanted["ports"],
            "selector": {**dict.fromkeys(extra), **wanted["selector"]},
        },
    }
    try:
        api.patch_namespaced_service(name, namespace, patch, _content_type=MERGE_PATCH)
    except ApiException as exc:
        if exc.status == 409:  # stale resourceVersion: read it again
            raise _changed_meanwhile("Service") from exc
        raise
    return applied


def apply_model_cache(desired: dict[str, Any] | None, uid: str | None) -> None:
    """Create the model-cache PVC once (its size and class are immutable afterwards); a
    same-named PVC the group does not control is refused (``NotOwnedError``), never mounted."""
    if desired is None:
        return
    core = kube.core()
    create_owned(
        "PersistentVolumeClaim",
        core.create_namespaced_persistent_volume_claim,
        core.read_namespaced_persistent_volume_claim,
        desired,
        owner_uid=uid,
        owner=(c.SERVICE_GROUP_KIND, desired["metadata"]["ownerReferences"][0]["name"]),
    )


def desired_children(
    group: ModelEvalServiceGroup, body: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any]]:
    """(model-cache PVC or None, Service, Deployment), owned by the group."""
    pvc, service, deployment = (
        build_model_cache_pvc(group),
        build_service(group),
        build_deployment(group),
    )
    # Owner references only: kopf.adopt() would also copy the group's labels (Argo CD's
    # tracking label among them) onto the children, and Argo CD would prune them.
    for child in (pvc, service, deployment):
        if child is not None:
            kopf.append_owner_reference(child, owner=kopf.Body(cast(Any, body)))
    return pvc, service, deployment


def apply_children(
    group: ModelEvalServiceGroup, body: dict[str, Any], *, spec_changes: bool = True
) -> list[Applied]:
    """Bring the PVC, Service and Deployment to the group's spec (hold `CHILDREN_LOCKS`); a
    spec the administrator's policy forbids is never applied (PermanentError), whoever asks
    (the reconcile handler refuses it first, with status and Event; drift repair stops here)."""
    problems = group_policy(group.spec, SETTINGS)
    if problems:
        name = body["metadata"].get("name", "")
        raise kopf.PermanentError(refusal(c.SERVICE_GROUP_KIND, name, problems))
    uid = body["metadata"].get("uid")
    pvc, service, deployment = desired_children(group, body)
    apply_model_cache(pvc, uid)
    return [
        apply_service(service, uid, spec_changes),
        apply_deployment(deployment, uid, spec_changes),
    ]


def report_repairs(body: dict[str, Any], applied: list[Applied], *, creating: bool) -> None:
    """A ``DriftRepaired`` Event per child put back or recreated (``creating``: the group's
    first reconcile, where a created child is no repair)."""
    meta = body.get("metadata") or {}
    for item in applied:
        if item.action == REPAIRED or (item.action == CREATED and not creating):
            message = item.drift_message()
            post_event(body, reason=DRIFT_REPAIRED, message=message, type=WARNING)
            log.info("service group %s/%s: %s", meta.get("namespace"), meta.get("name"), message)


def reconcile_children(
    group: ModelEvalServiceGroup, body: dict[str, Any], *, creating: bool
) -> list[Applied]:
    """The reconcile handler's step: apply every child, report what was put back."""
    meta = body["metadata"]
    with CHILDREN_LOCKS.hold(meta.get("namespace") or "default", meta["name"]):
        applied = apply_children(group, body)
    report_repairs(body, applied, creating=creating)
    return applied


def repair_group(namespace: str, name: str) -> list[Applied]:
    """Put back the children of one group that others changed or deleted.

    Does nothing for a group that is gone, being deleted, invalid or not reconciled yet. A
    group whose spec changed since its last reconcile (``observedGeneration`` behind) gets
    only its missing children back: the spec change itself is the reconcile handler's (it
    advances ``observedGeneration``). A child owned by something else, or one that changes
    while it is put back, is left to the next event or timer run. The group is read under
    the lock, so a reconcile that just wrote a newer spec is never undone.
    """
    with CHILDREN_LOCKS.hold(namespace, name):
        body = kube.get_custom(c.SERVICE_GROUP_PLURAL, namespace, name)
        if body is None or body.get("metadata", {}).get("deletionTimestamp"):
            return []
        observed = (body.get("status") or {}).get("observedGeneration")
        if observed is None:
            return []  # not reconciled yet: the reconcile handler creates the children
        try:
            group = ModelEvalServiceGroup.model_validate(body)
        except ValidationError:
            return []  # the reconcile handler has reported the invalid spec
        reconciled = observed == body["metadata"].get("generation")
        try:
            applied = apply_children(group, body, spec_changes=reconciled)
        except (kopf.TemporaryError, kopf.PermanentError) as exc:
            log.debug("service group %s/%s: no repair now: %s", namespace, name, exc)
            return []
    # Another hash on a reconciled group (a removed annotation, a newer operator that writes
    # more fields) was applied as an update: no Event, only drift against the hash is one.
    report_repairs(body, applied, creating=False)
    return applied
