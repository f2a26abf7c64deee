"""Object semantics: create, read, update, patch; the rules the API server applies on each write.

- uid, a global ``resourceVersion``, ``generation`` (bumped only when something other than
  ``metadata`` and ``status`` changes), ``creationTimestamp``;
- namespaces must exist (and not be terminating) for namespaced creates; names are checked;
  ``generateName`` is honoured;
- ``status`` is a real subresource: main writes keep the stored status, status writes keep
  everything else;
- custom resources are defaulted, pruned and validated against their CRD (422 with causes);
- some fields of built-in kinds are immutable (see `immutability`);
- ``resourceVersion`` in a PUT or PATCH body is a precondition (409 when stale);
- writes that change nothing do not bump ``resourceVersion`` and emit no event;
- CRDs register their resources when created.

Deletion, finalizers and garbage collection live in `modeleval_testkit.apiserver.deletion`.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from modeleval_testkit.apiserver import builtins, errors, fielderrors, names, patches
from modeleval_testkit.apiserver.errors import ApiError
from modeleval_testkit.apiserver.immutability import immutable_errors
from modeleval_testkit.apiserver.resources import Registry, ResourceInfo, from_crd
from modeleval_testkit.apiserver.schema import validate_custom_resource
from modeleval_testkit.apiserver.selectors import Matcher
from modeleval_testkit.apiserver.store import Store

Obj = dict[str, Any]
Location = tuple[tuple[str, str], str, str]
CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACES = ("", "namespaces")
IMMUTABLE_META = (
    "uid",
    "creationTimestamp",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "name",
    "namespace",
)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _content(obj: Obj) -> Obj:
    """What ``generation`` tracks: everything but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _same(a: Obj, b: Obj) -> bool:
    strip = ("resourceVersion", "managedFields")
    return {**a, "metadata": {k: v for k, v in a["metadata"].items() if k not in strip}} == {
        **b,
        "metadata": {k: v for k, v in b["metadata"].items() if k not in strip},
    }


@dataclass(frozen=True)
class WriteOptions:
    """Query options of a write."""

    strict: bool = False
    """``fieldValidation=Strict``: unknown fields of custom resources are a 400 error."""
    dry_run: bool = False
    """``dryRun=All``: validate and answer, store nothing."""


PLAIN = WriteOptions()


class Objects:
    """The emulator's state and its write rules. All methods run on the server's event loop."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store or Store()
        self.registry = Registry()
        self.uids: dict[str, Location] = {}
        self.dependents: dict[str, set[Location]] = {}

    # -- reads -----------------------------------------------------------------------------

    def get(self, info: ResourceInfo, namespace: str, name: str) -> Obj:
        obj = self.store.get(info.key, namespace if info.namespaced else "", name)
        if obj is None:
            raise errors.not_found(info.group, info.plural, name)
        return self.present(info, obj)

    def list(self, info: ResourceInfo, namespace: str | None, matcher: Matcher | None) -> Obj:
        ns = namespace if info.namespaced and namespace else None
        items = [
            self.present(info, o)
            for o in self.store.iter(info.key, ns)
            if matcher is None or matcher(o)
        ]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return {
            "apiVersion": info.api_version,
            "kind": f"{info.kind}List",
            "metadata": {"resourceVersion": str(self.store.rv)},
            "items": items,
        }

    def present(self, info: ResourceInfo, obj: Obj) -> Obj:
        """The stored object as served under ``info``'s version."""
        if obj.get("apiVersion") == info.api_version:
            return obj
        return {**obj, "apiVersion": info.api_version}

    # -- writes ----------------------------------------------------------------------------

    def create(
        self, info: ResourceInfo, namespace: str, body: Any, options: WriteOptions = PLAIN
    ) -> Obj:
        obj = self._check_body(info, body)
        meta = obj.setdefault("metadata", {})
        if info.namespaced:
            namespace = namespace or meta.get("namespace") or ""
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise ApiError(
                    400,
                    "the namespace of the provided object does not match the"
                    " namespace sent on the request",
                )
            self._check_namespace(namespace)
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
            namespace = ""
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise errors.invalid(
                    info.kind,
                    info.group,
                    "",
                    [fielderrors.invalid("metadata.name", "", "name or generateName is required")],
                )
            meta["name"] = names.generate_name(meta["generateName"])
        name = meta["name"]
        bad_name = names.name_errors(info.key, name)
        if bad_name:
            raise errors.invalid(info.kind, info.group, name, bad_name)
        if self.store.get(info.key, namespace, name) is not None:
            raise errors.already_exists(info.group, info.plural, name)
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
            meta.pop(key, None)
        meta.update(uid=str(uuid.uuid4()), generation=1, creationTimestamp=now())
        if info.crd is not None:
            if info.has_status:
                obj.pop("status", None)
            obj = self._validated(info, obj, None, options.strict)
        else:
            builtins.prepare_create(info.key, obj)
        if options.dry_run:
            return self.present(info, obj)
        if info.key == CRDS:
            obj = self._register_crd(obj)
        obj["metadata"]["resourceVersion"] = self.store.next_rv()
        self._index(info, obj, None)
        self.store.put(info.key, obj, "ADDED")
        return self.present(info, obj)

    def update(
        self,
        info: ResourceInfo,
        namespace: str,
        name: str,
        body: Any,
        subresource: str = "",
        options: WriteOptions = PLAIN,
    ) -> Obj:
        current = self._current(info, namespace, name)
        obj = self._check_body(info, body)
        meta = obj.setdefault("metadata", {})
        if meta.get("name", name) != name:
            raise ApiError(
                400,
                f"the name of the object ({meta['name']}) does not match the name"
                f" on the URL ({name})",
            )
        self._precondition(info, current, meta.get("resourceVersion"))
        new = self._merge_write(info, current, obj, subresource)
        return self._commit(info, current, new, options)

    def patch(
        self,
        info: ResourceInfo,
        namespace: str,
        name: str,
        patch: Any,
        content_type: str,
        subresource: str = "",
        options: WriteOptions = PLAIN,
    ) -> Obj:
        ns = namespace if info.namespaced else ""
        current = self.store.get(info.key, ns, name)
        if current is None:
            if content_type == patches.APPLY_PATCH and isinstance(patch, dict):
                return self.create(info, namespace, patch, options)
            raise errors.not_found(info.group, info.plural, name)
        patched = patches.apply_patch(current, patch, content_type)
        if not isinstance(patched, dict):
            raise ApiError(422, "patched object is not a JSON object")
        patched["metadata"] = dict(patched.get("metadata") or {})  # never alias the stored dict
        self._precondition(info, current, patched["metadata"].get("resourceVersion"))
        new = self._merge_write(info, current, patched, subresource)
        return self._commit(info, current, new, options)

    # -- helpers ---------------------------------------------------------------------------

    def _current(self, info: ResourceInfo, namespace: str, name: str) -> Obj:
        current = self.store.get(info.key, namespace if info.namespaced else "", name)
        if current is None:
            raise errors.not_found(info.group, info.plural, name)
        return current

    def _check_body(self, info: ResourceInfo, body: Any) -> Obj:
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        version, kind = body.get("apiVersion"), body.get("kind")
        if version and version != info.api_version:
            raise ApiError(
                400,
                f"the API version in the data ({version}) does not match the"
                f" expected API version ({info.api_version})",
            )
        if kind and kind != info.kind:
            raise ApiError(
                400, f"the kind in the data ({kind}) does not match the expected kind ({info.kind})"
            )
        obj = copy.deepcopy(body)
        obj["apiVersion"], obj["kind"] = info.api_version, info.kind
        if not isinstance(obj.get("metadata", {}), dict):
            raise ApiError(400, "metadata must be an object")
        return obj

    def _check_namespace(self, namespace: str) -> None:
        if not namespace:
            raise ApiError(400, "the namespace of the object is required")
        ns = self.store.get(NAMESPACES, "", namespace)
        if ns is None:
            raise errors.not_found("", "namespaces", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise ApiError(
                403,
                f"unable to create new content in namespace {namespace} because"
                " it is being terminated",
                reason="Forbidden",
            )

    def _precondition(self, info: ResourceInfo, current: Obj, rv: Any) -> None:
        if rv and str(rv) != current["metadata"]["resourceVersion"]:
            raise errors.conflict(info.group, info.plural, current["metadata"]["name"])

    def _merge_write(self, info: ResourceInfo, current: Obj, obj: Obj, subresource: str) -> Obj:
        if subresource == "status":
            new = {**current, "metadata": dict(current["metadata"])}
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
            return new
        if subresource:
            raise ApiError(405, f"subresource {subresource!r} cannot be written")
        meta = obj["metadata"]
        for key in IMMUTABLE_META:
            if key in current["metadata"]:
                meta[key] = current["metadata"][key]
            else:
                meta.pop(key, None)
        if info.has_status:
            if "status" in current:
                obj["status"] = current["status"]
            else:
                obj.pop("status", None)
        return obj

    def _commit(
        self, info: ResourceInfo, current: Obj, new: Obj, options: WriteOptions = PLAIN
    ) -> Obj:
        if info.crd is not None:
            new = self._validated(info, new, current, options.strict)
        else:
            builtins.apply_defaults(info.key, new)
            if frozen := immutable_errors(info.key, current, new):
                raise errors.invalid(info.kind, info.group, current["metadata"]["name"], frozen)
        old_meta = current["metadata"]
        if old_meta.get("deletionTimestamp"):
            added = set(new["metadata"].get("finalizers") or []) - set(
                old_meta.get("finalizers") or []
            )
            if added:
                raise errors.invalid(
                    info.kind,
                    info.group,
                    old_meta["name"],
                    [
                        fielderrors.invalid(
                            "metadata.finalizers",
                            sorted(added)[0],
                            "no new finalizers can be added if the object is being deleted",
                        )
                    ],
                )
        if _content(new) != _content(current):
            new["metadata"]["generation"] = old_meta.get("generation", 1) + 1
        new["metadata"]["resourceVersion"] = old_meta["resourceVersion"]
        if _same(new, current) or options.dry_run:
            return self.present(info, new)
        if info.key == CRDS:
            new = self._register_crd(new)
        new["metadata"]["resourceVersion"] = self.store.next_rv()
        self._index(info, new, current)
        self.store.put(info.key, new, "MODIFIED", old=current)
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            from modeleval_testkit.apiserver.deletion import remove

            return self.present(info, remove(self, info, new))
        return self.present(info, new)

    def _validated(self, info: ResourceInfo, obj: Obj, old: Obj | None, strict: bool) -> Obj:
        """Default, prune and validate a custom resource (422 when invalid).

        ``strict`` is ``?fieldValidation=Strict`` (what kubectl sends): unknown fields are then
        a 400 error instead of being pruned silently.
        """
        assert info.crd is not None
        result = validate_custom_resource(info.crd, obj, old=old)
        if strict and result.pruned:
            unknown = ", ".join(f'unknown field "{path}"' for path in result.pruned)
            raise ApiError(
                400,
                f'{info.kind} in version "{info.version}" cannot be handled as a'
                f" {info.kind}: strict decoding error: {unknown}",
            )
        if not result.ok:
            raise errors.invalid(
                info.kind, info.group, obj["metadata"].get("name", ""), result.causes
            )
        return result.object

    def _index(self, info: ResourceInfo, new: Obj, old: Obj | None) -> None:
        """Keep the uid and owner → dependents indexes (for garbage collection) current."""
        meta = new["metadata"]
        where: Location = (info.key, meta.get("namespace", ""), meta["name"])
        self.uids[meta["uid"]] = where
        before = {
            r.get("uid") for r in (old or {}).get("metadata", {}).get("ownerReferences") or []
        }
        after = {r.get("uid") for r in meta.get("ownerReferences") or []}
        for uid in before - after:
            self.dependents.get(uid, set()).discard(where)
        for uid in after - before:
            self.dependents.setdefault(uid, set()).add(where)

    def _register_crd(self, crd: Obj) -> Obj:
        """Serve the resources of ``crd`` and mark it Established."""
        crd = copy.deepcopy(crd)
        self.registry.remove_crd(crd["metadata"]["name"])
        for info in from_crd(crd):
            self.registry.add(info)
        stamp = crd["metadata"].get("creationTimestamp", now())
        crd["status"] = {
            "acceptedNames": crd["spec"]["names"],
            "storedVersions": [v["name"] for v in crd["spec"]["versions"] if v.get("storage")],
            "conditions": [
                {
                    "type": t,
                    "status": "True",
                    "reason": r,
                    "message": m,
                    "lastTransitionTime": stamp,
                }
                for t, r, m in (
                    ("NamesAccepted", "NoConflicts", "no conflicts found"),
                    ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
                )
            ],
        }
        return crd
