"""Writes of a ``ModelEvalServiceGroup``'s children: create, update in place, repair drift.

The Deployment and the Service carry :data:`SPEC_HASH_ANNOTATION`, the hash of the manifest
the operator last wrote. Each is compared with what the operator would write now, field by
field, as a semantic subset (:func:`~modeleval.builders.servicegroup_drift.find_drift`: what
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

import hashlib
import json
import logging
import threading
from collections import defaultdict
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
from modeleval.builders.servicegroup_drift import MISSING, Drift, describe_drift, find_drift
from modeleval.events import WARNING, post_event

log = logging.getLogger(__name__)

SPEC_HASH_ANNOTATION = f"{c.GROUP}/spec-hash"
"""Hash of the child's manifest the operator last wrote: tells a spec change from drift."""

DRIFT_REPAIRED = "DriftRepaired"
"""Reason of the Event posted when a child changed or deleted by others is put back."""

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"

CREATED, UPDATED, REPAIRED, UNCHANGED, DEFERRED = (
    "created",
    "updated",
    "repaired",
    "unchanged",
    "deferred",
)

_locks: defaultdict[tuple[str, str], threading.Lock] = defaultdict(threading.Lock)
_locks_guard = threading.Lock()


def children_lock(namespace: str, name: str) -> threading.Lock:
    """One writer of a group's children at a time (reconcile, watch events, timer)."""
    with _locks_guard:
        return _locks[(namespace, name)]


@dataclass(frozen=True)
class Applied:
    """What applying one child did."""

    kind: str
    name: str
    action: str
    """``created``, ``updated`` (spec change), ``repaired`` (drift), ``unchanged``,
    ``deferred`` (a spec change left to the reconcile handler)."""
    drift: tuple[Drift, ...] = ()

    def drift_message(self) -> str:
        """What an Event says about a repair (or a recreation)."""
        if self.action == CREATED:
            return f"recreated {self.kind} {self.name}: it was deleted"
        return f"put back {self.kind} {self.name}: {describe_drift(list(self.drift))}"


def to_dict(obj: Any) -> dict[str, Any]:
    """An official-client model as the JSON dict the API serves (camelCase)."""
    data = cast(Any, kube.api_client()).sanitize_for_serialization(obj)
    return data if isinstance(data, dict) else {}


def spec_hash(manifest: dict[str, Any]) -> str:
    content = {"spec": manifest["spec"], "labels": manifest["metadata"].get("labels")}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def owned_by(obj: dict[str, Any], uid: str | None) -> bool:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return uid is None or any(ref.get("uid") == uid for ref in refs)


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
) -> dict[str, Any] | None:
    """The existing child as a dict, or None after creating it.

    A child that appeared between the read and the create is retried (TemporaryError); one
    owned by something else is refused (PermanentError). An orphan with this group's labels
    (its owner reference removed by hand) is adopted again through ``patch``, so deleting the
    group still deletes it; the returned dict then says so under ``ADOPTED``.
    """
    name, namespace = desired["metadata"]["name"], desired["metadata"]["namespace"]
    existing = kube.read_or_none(read, name, namespace)
    if existing is None:
        if kube.create_if_absent(create, namespace, desired) is None:
            raise kopf.TemporaryError(f"the {kind} appeared meanwhile; retrying", delay=1)
        return None
    current = to_dict(existing)
    if owned_by(current, uid):
        return current
    if patch is None or not _orphan_of_ours(current, desired):
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
    return {**to_dict(adopted), ADOPTED: True}


ADOPTED = "__adopted__"
"""Key set on the dict of a child :func:`_existing_or_create` adopted again."""


def _orphan_of_ours(current: dict[str, Any], desired: dict[str, Any]) -> bool:
    """No controller owns it and it carries this group's identifying labels."""
    meta = current.get("metadata") or {}
    if any(ref.get("controller") for ref in meta.get("ownerReferences") or []):
        return False
    if not desired["metadata"].get("ownerReferences"):
        return False
    labels, wanted = meta.get("labels") or {}, desired["metadata"]["labels"]
    keys = (c.LABEL_MANAGED_BY, c.LABEL_SERVICE_GROUP)
    return all(k in wanted and labels.get(k) == wanted[k] for k in keys)


def _adopted(applied: Applied, current: dict[str, Any]) -> Applied:
    """``applied`` with the re-added owner reference counted as a repair."""
    if not current.get(ADOPTED):
        return applied
    owner = Drift("metadata.ownerReferences", "this group", MISSING)
    return Applied(applied.kind, applied.name, REPAIRED, (owner, *applied.drift))


def _compare(
    kind: str, desired: dict[str, Any], current: dict[str, Any], spec_changes: bool
) -> Applied:
    """``unchanged``, ``updated``, ``repaired`` or ``deferred`` (no write decided yet)."""
    meta = desired["metadata"]
    wanted = {
        "metadata": {"labels": meta["labels"], "annotations": dict(meta["annotations"])},
        "spec": desired["spec"],
    }
    drift = tuple(find_drift(wanted, current))
    if not drift:
        return Applied(kind, meta["name"], UNCHANGED)
    stored = ((current.get("metadata") or {}).get("annotations") or {}).get(SPEC_HASH_ANNOTATION)
    if stored != meta["annotations"][SPEC_HASH_ANNOTATION]:
        return Applied(kind, meta["name"], UPDATED if spec_changes else DEFERRED, drift)
    return Applied(kind, meta["name"], REPAIRED, drift)


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
    current = _existing_or_create(kind, read, create, desired, uid, patch)
    if current is None:
        return Applied(kind, desired["metadata"]["name"], CREATED), None
    compared = _compare(kind, desired, current, spec_changes)
    applied = _adopted(compared, current)
    if compared.action in (UNCHANGED, DEFERRED):
        return applied, None
    return applied, current


def _with_hash(desired: dict[str, Any]) -> dict[str, Any]:
    desired["metadata"].setdefault("annotations", {})[SPEC_HASH_ANNOTATION] = spec_hash(desired)
    return desired


def apply_deployment(
    desired: dict[str, Any], uid: str | None, spec_changes: bool = True
) -> Applied:
    """Create the Deployment, or replace its spec in place when it differs from ``desired``.

    The whole spec is replaced with a JSON patch that first tests the resourceVersion, so
    fields others added go away too; a concurrent change is a retry, never lost.
    ``spec_changes=False`` leaves a changed group spec (another hash) to the reconcile handler.
    """
    meta = _with_hash(desired)["metadata"]
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
    meta = _with_hash(desired)["metadata"]
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


def apply_model_cache(desired: dict[str, Any] | None) -> None:
    """Create the model-cache PVC once (its size and class are immutable afterwards)."""
    if desired is None:
        return
    meta = desired["metadata"]
    kube.create_if_absent(
        kube.core().create_namespaced_persistent_volume_claim, meta["namespace"], desired
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
    """Bring the PVC, Service and Deployment to the group's spec (hold :func:`children_lock`)."""
    uid = body["metadata"].get("uid")
    pvc, service, deployment = desired_children(group, body)
    apply_model_cache(pvc)
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
    with children_lock(meta.get("namespace") or "default", meta["name"]):
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
    with children_lock(namespace, name):
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
