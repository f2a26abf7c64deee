"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

Strategic merge is a reasonable subset of Kubernetes': lists of objects merge by a known key
(``name`` for containers, env, volumes…; ``type`` for conditions; ``uid`` for owner
references), ``finalizers`` merge as a set, ``$patch: delete``/``replace`` and
``$deleteFromPrimitiveList/…`` are honoured, ``$setElementOrder/…`` and ``$retainKeys`` are
accepted and ignored. Other lists are replaced.
"""

from __future__ import annotations

import copy
from typing import Any

from modeleval_testkit.apiserver.errors import ApiError

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "ownerReferences": "uid",
    "conditions": "type",
    "hostAliases": "ip",
    "subjects": "name",
}
SET_LISTS = {"finalizers"}


def apply_patch(target: dict[str, Any], patch: Any, content_type: str) -> Any:
    """Return a patched copy of ``target``."""
    if content_type == JSON_PATCH:
        if not isinstance(patch, list):
            raise ApiError(400, "json patch must be a list of operations")
        return json_patch(target, patch)
    if not isinstance(patch, dict):
        raise ApiError(400, "patch body must be a JSON object")
    if content_type == STRATEGIC_PATCH:
        return strategic_merge(target, patch)
    if content_type in (MERGE_PATCH, APPLY_PATCH):
        return merge_patch(target, patch)
    raise ApiError(415, f"unsupported patch content type: {content_type!r}")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(target: Any, patch: Any, field: str = "") -> Any:
    """Kubernetes' strategic merge patch (the subset described in the module docstring)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            result[name] = [v for v in result.get(name) or [] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, key)
        else:
            merged = strategic_merge(result.get(key), value, key)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    return result


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field == "ports":
        return "containerPort" if any("containerPort" in i for i in items) else "port"
    return MERGE_KEYS.get(field)


def _merge_list(current: Any, patch: list[Any], field: str) -> list[Any]:
    existing: list[Any] = list(current) if isinstance(current, list) else []
    if field in SET_LISTS:
        return existing + [v for v in patch if v not in existing]
    if not patch or not all(isinstance(item, dict) for item in patch):
        return list(copy.deepcopy(patch))
    key = _merge_key(field, patch)
    if key is None or not all(isinstance(item, dict) for item in existing):
        return [copy.deepcopy(i) for i in patch if i.get("$patch") != "delete"]
    result = list(existing)
    for item in patch:
        index = next((n for n, c in enumerate(result) if c.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(copy.deepcopy(item))
        else:
            result[index] = strategic_merge(result[index], item, field)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(400, f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], path: str) -> Any:
    node = doc
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise ApiError(422, f"doc is missing path: {path!r}") from None
    return node


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent = _parent(doc, parts, path)
    try:
        return parent[int(parts[-1])] if isinstance(parent, list) else parent[parts[-1]]
    except (KeyError, IndexError, ValueError, TypeError):
        raise ApiError(422, f"doc is missing path: {path!r}") from None


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    parent = _parent(doc, parts, path)
    try:
        if isinstance(parent, list):
            return parent.pop(int(parts[-1]))
        return parent.pop(parts[-1])
    except (KeyError, IndexError, ValueError, TypeError):
        raise ApiError(422, f"unable to remove nonexistent key: {path!r}") from None


def _add(doc: Any, path: str, value: Any, *, replace: bool = False) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if index > len(parent) or index < 0 or (replace and index >= len(parent)):
            raise ApiError(422, f"index out of range: {path!r}")
        if replace:
            parent[index] = value
        else:
            parent.insert(index, value)
    elif isinstance(parent, dict):
        if replace and last not in parent:
            raise ApiError(422, f"replace operation does not apply: doc is missing key: {path!r}")
        parent[last] = value
    else:
        raise ApiError(422, f"doc is missing path: {path!r}")
    return doc


def json_patch(target: dict[str, Any], operations: list[dict[str, Any]]) -> Any:
    """RFC 6902. A failed ``test`` and a missing path are 422 errors, as in Kubernetes."""
    doc: Any = copy.deepcopy(target)
    for op in operations:
        kind, path = op.get("op"), op.get("path", "")
        if kind == "test":
            if _get(doc, path) != op.get("value"):
                raise ApiError(422, f"testing value {path} failed: test operation failed")
        elif kind == "remove":
            _remove(doc, path)
        elif kind in ("add", "replace"):
            doc = _add(doc, path, copy.deepcopy(op.get("value")), replace=kind == "replace")
        elif kind in ("move", "copy"):
            source = op.get("from", "")
            value = _remove(doc, source) if kind == "move" else copy.deepcopy(_get(doc, source))
            doc = _add(doc, path, value)
        else:
            raise ApiError(400, f"unexpected json patch operation: {kind!r}")
    return doc
