"""Deletion: finalizers, ``deletionTimestamp``, garbage collection and namespace termination.

- An object with finalizers is only marked (``deletionTimestamp``); it goes away when an update
  empties its finalizers (see `Objects._commit`).
- Removing an object deletes its dependents (objects whose ``ownerReferences`` name it) once
  none of their owners exists any more, cascading; ``propagationPolicy=Orphan`` removes the
  owner references instead. The real API server does this in the background: here it happens
  right after the owner is removed, in the same request.
- Deleting a namespace marks it Terminating, deletes everything in it and removes it once
  it is empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modeleval_testkit.apiserver import errors
from modeleval_testkit.apiserver.objects import CRDS, NAMESPACES, Obj, now
from modeleval_testkit.apiserver.resources import ResourceInfo
from modeleval_testkit.apiserver.selectors import Matcher

if TYPE_CHECKING:
    from modeleval_testkit.apiserver.objects import Objects


def delete(
    objects: Objects,
    info: ResourceInfo,
    namespace: str,
    name: str,
    options: dict[str, Any] | None = None,
) -> Obj:
    """DELETE one object; returns it (marked, or as it was when removed)."""
    options = options or {}
    current = objects.store.get(info.key, namespace if info.namespaced else "", name)
    if current is None:
        raise errors.not_found(info.group, info.plural, name)
    pre = options.get("preconditions") or {}
    meta = current["metadata"]
    if (pre.get("uid") and pre["uid"] != meta["uid"]) or (
        pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]
    ):
        raise errors.conflict(info.group, info.plural, name)
    if options.get("propagationPolicy") == "Orphan":
        _orphan(objects, meta["uid"])
    if info.key == NAMESPACES:
        return _delete_namespace(objects, info, current)
    if meta.get("finalizers"):
        if meta.get("deletionTimestamp"):
            return objects.present(info, current)
        marked = {
            **current,
            "metadata": {
                **meta,
                "deletionTimestamp": now(),
                "deletionGracePeriodSeconds": 0,
                "resourceVersion": objects.store.next_rv(),
            },
        }
        objects.store.put(info.key, marked, "MODIFIED", old=current)
        return objects.present(info, marked)
    return objects.present(info, remove(objects, info, current))


def delete_collection(
    objects: Objects,
    info: ResourceInfo,
    namespace: str | None,
    matcher: Matcher | None,
    options: dict[str, Any] | None = None,
) -> Obj:
    """DELETE on a collection: delete every matching object; returns the list deleted."""
    listing = objects.list(info, namespace, matcher)
    items = []
    for obj in listing["items"]:
        meta = obj["metadata"]
        items.append(delete(objects, info, meta.get("namespace", ""), meta["name"], options))
    return {**listing, "items": items}


def remove(objects: Objects, info: ResourceInfo, obj: Obj) -> Obj:
    """Remove ``obj`` for good, then collect its garbage."""
    meta = obj["metadata"]
    objects.store.remove(info.key, obj)
    objects.uids.pop(meta["uid"], None)
    where = (info.key, meta.get("namespace", ""), meta["name"])
    for ref in meta.get("ownerReferences") or []:
        objects.dependents.get(ref.get("uid"), set()).discard(where)
    if info.key == CRDS:
        _drop_crd(objects, obj)
    for dependent in sorted(objects.dependents.pop(meta["uid"], set())):
        _collect(objects, dependent)
    namespace = meta.get("namespace")
    if namespace:
        _finish_namespace(objects, namespace)
    return obj


def _collect(objects: Objects, where: tuple[tuple[str, str], str, str]) -> None:
    kind, namespace, name = where
    dependent = objects.store.get(kind, namespace, name)
    if dependent is None:
        return
    owners = dependent["metadata"].get("ownerReferences") or []
    if any(ref.get("uid") in objects.uids for ref in owners):
        return
    info = _info_for(objects, dependent)
    if info is not None:
        delete(objects, info, namespace, name, {"propagationPolicy": "Background"})


def _info_for(objects: Objects, obj: Obj) -> ResourceInfo | None:
    return objects.registry.for_object(obj)


def _orphan(objects: Objects, uid: str) -> None:
    for where in sorted(objects.dependents.pop(uid, set())):
        kind, namespace, name = where
        dependent = objects.store.get(kind, namespace, name)
        info = _info_for(objects, dependent) if dependent else None
        if dependent is None or info is None:
            continue
        refs = [r for r in dependent["metadata"].get("ownerReferences") or [] if r["uid"] != uid]
        patch = {"metadata": {"ownerReferences": refs or None}}
        objects.patch(info, namespace, name, patch, "application/merge-patch+json")


def _delete_namespace(objects: Objects, info: ResourceInfo, ns: Obj) -> Obj:
    name = ns["metadata"]["name"]
    if not ns["metadata"].get("deletionTimestamp"):
        marked = {
            **ns,
            "metadata": {
                **ns["metadata"],
                "deletionTimestamp": now(),
                "resourceVersion": objects.store.next_rv(),
            },
            "status": {"phase": "Terminating"},
        }
        objects.store.put(info.key, marked, "MODIFIED", old=ns)
        ns = marked
    for content_info in list(objects.registry.by_path.values()):
        if not content_info.namespaced or content_info.version != _storage_version(content_info):
            continue
        for obj in list(objects.store.iter(content_info.key, name)):
            if not obj["metadata"].get("deletionTimestamp"):
                delete(objects, content_info, name, obj["metadata"]["name"])
    current = objects.store.get(info.key, "", name)
    if current is not None and not _has_content(objects, name):
        remove(objects, info, current)
    return objects.present(info, current or ns)


def _storage_version(info: ResourceInfo) -> str:
    """One version per stored kind, so each object is visited once."""
    if info.crd is None:
        return info.version
    versions = info.crd["spec"]["versions"]
    return str(next((v["name"] for v in versions if v.get("storage")), versions[0]["name"]))


def _has_content(objects: Objects, namespace: str) -> bool:
    return any(
        namespace in spaces for kind, spaces in objects.store.objects.items() if kind != NAMESPACES
    )


def _finish_namespace(objects: Objects, namespace: str) -> None:
    ns = objects.store.get(NAMESPACES, "", namespace)
    if ns is None or not ns["metadata"].get("deletionTimestamp"):
        return
    if not _has_content(objects, namespace):
        info = objects.registry.lookup("", "v1", "namespaces")
        assert info is not None
        remove(objects, info, ns)


def _drop_crd(objects: Objects, crd: Obj) -> None:
    for info in objects.registry.remove_crd(crd["metadata"]["name"]):
        for obj in list(objects.store.iter(info.key)):
            if (
                objects.store.get(
                    info.key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
                )
                is not None
            ):
                remove(objects, info, obj)
