"""Whether an existing child is ours, and what applying the desired manifest to it means.

Pure: the manifest the operator would write and the object the API serves in, a decision out.
The children carry :data:`SPEC_HASH_ANNOTATION`, the hash of the manifest the operator last
wrote, which tells a change of the owner's spec from drift (someone else's edit):

- fields differ and the stored hash differs: the spec changed — ``updated`` (or ``deferred``
  when the caller may not apply spec changes);
- fields differ, same hash: someone changed the child — ``repaired``;
- nothing differs: ``unchanged`` (no write at all).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from modeleval import constants as c
from modeleval.reconcile.drift import MISSING, Drift, describe_drift, find_drift

SPEC_HASH_ANNOTATION = f"{c.GROUP}/spec-hash"
"""Hash of the child's manifest the operator last wrote: tells a spec change from drift."""

CREATED, UPDATED, REPAIRED, UNCHANGED, DEFERRED = (
    "created",
    "updated",
    "repaired",
    "unchanged",
    "deferred",
)


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


def spec_hash(manifest: dict[str, Any]) -> str:
    content = {"spec": manifest["spec"], "labels": manifest["metadata"].get("labels")}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def with_spec_hash(desired: dict[str, Any]) -> dict[str, Any]:
    """``desired`` with its :data:`SPEC_HASH_ANNOTATION` set (changed in place, returned)."""
    desired["metadata"].setdefault("annotations", {})[SPEC_HASH_ANNOTATION] = spec_hash(desired)
    return desired


def owned_by(obj: dict[str, Any], uid: str | None) -> bool:
    """``obj`` has an owner reference to ``uid`` (any object counts when ``uid`` is None)."""
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return uid is None or any(ref.get("uid") == uid for ref in refs)


def controlled_by(obj: dict[str, Any], uid: str | None) -> bool:
    """``obj``'s controlling owner reference (``controller: true``) is ``uid``.

    What makes a same-named object found on create (409) ours to use and write; an object
    without a controller, or controlled by anything else, is someone else's.
    """
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return bool(uid) and any(ref.get("controller") and ref.get("uid") == uid for ref in refs)


def orphan_of_ours(current: dict[str, Any], desired: dict[str, Any]) -> bool:
    """No controller owns ``current`` and it carries the identifying labels of ``desired``'s
    owner (managed-by and service-group): a child whose owner reference was removed by hand."""
    meta = current.get("metadata") or {}
    if any(ref.get("controller") for ref in meta.get("ownerReferences") or []):
        return False
    if not desired["metadata"].get("ownerReferences"):
        return False
    labels, wanted = meta.get("labels") or {}, desired["metadata"]["labels"]
    keys = (c.LABEL_MANAGED_BY, c.LABEL_SERVICE_GROUP)
    return all(k in wanted and labels.get(k) == wanted[k] for k in keys)


def compare_child(
    kind: str, desired: dict[str, Any], current: dict[str, Any], *, spec_changes: bool
) -> Applied:
    """``unchanged``, ``updated``, ``repaired`` or ``deferred`` for an existing child."""
    meta = desired["metadata"]
    wanted = {
        "metadata": {"labels": meta["labels"], "annotations": dict(meta["annotations"])},
        "spec": desired["spec"],
    }
    drift = tuple(find_drift(wanted, current))
    stored = ((current.get("metadata") or {}).get("annotations") or {}).get(SPEC_HASH_ANNOTATION)
    if not drift:
        action = UNCHANGED
    elif stored != meta["annotations"][SPEC_HASH_ANNOTATION]:
        action = UPDATED if spec_changes else DEFERRED
    else:
        action = REPAIRED
    return Applied(kind, meta["name"], action, drift)


def needs_write(compared: Applied) -> bool:
    """The child's fields must still be written (``compare_child`` said updated or repaired)."""
    return compared.action in (UPDATED, REPAIRED)


def as_adopted(compared: Applied) -> Applied:
    """What applying did when the owner reference was also put back: a repair."""
    owner = Drift("metadata.ownerReferences", "this group", MISSING)
    return Applied(compared.kind, compared.name, REPAIRED, (owner, *compared.drift))
