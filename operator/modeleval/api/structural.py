"""Turn a pydantic JSON schema into a Kubernetes *structural* OpenAPI v3 schema.

Kubernetes accepts only a subset of JSON Schema in a CRD: every node typed, no ``$ref``,
no ``const``, no ``anyOf`` with ``null``, boolean ``exclusiveMinimum``, no
``additionalProperties: false``, no ``title``. This module rewrites pydantic's output into
that subset; :func:`structural_problems` checks the result (used by tests).
"""

from __future__ import annotations

import copy
from typing import Any

_DROP_KEYS = {"title", "discriminator", "examples"}
_ALLOWED_KEYS = {
    "type",
    "description",
    "properties",
    "required",
    "items",
    "enum",
    "default",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "pattern",
    "additionalProperties",
    "nullable",
    "anyOf",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-embedded-resource",
    "uniqueItems",
}


def to_structural(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline ``$defs`` and rewrite ``schema`` (pydantic output) into a structural schema."""
    defs = schema.get("$defs", {})
    root = {k: v for k, v in schema.items() if k != "$defs"}
    return _convert(root, defs)


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Replace a ``$ref`` node by its definition, keeping sibling keys (description…)."""
    if "$ref" not in node:
        return node
    name = node["$ref"].rsplit("/", 1)[-1]
    merged = copy.deepcopy(defs[name])
    for key, value in node.items():
        if key != "$ref":
            merged[key] = value
    return _resolve(merged, defs)


def _strip_null(node: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [X, {type: null}]`` → X with the outer keys (description, default)."""
    options = node.get("anyOf")
    if not options:
        return node
    non_null = [o for o in options if o.get("type") != "null"]
    if len(non_null) == len(options) or len(non_null) != 1:
        return node
    merged = {k: v for k, v in node.items() if k != "anyOf"}
    inner = non_null[0]
    for key, value in inner.items():
        merged.setdefault(key, value)
    return merged


def _convert(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    node = _strip_null(_resolve(node, defs))
    node = _resolve(node, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP_KEYS:
            continue
        if key == "default" and value is None:
            continue
        out[key] = value

    if "const" in out:
        out["enum"] = [out.pop("const")]
    if "enum" in out and "type" not in out:
        out["type"] = _type_of(out["enum"][0])
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out.get(bound), bool):
            out[plain] = out.pop(bound)
            out[bound] = True

    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.pop("anyOf", None)
        return out

    if out.get("type") == "object" or "properties" in out or "additionalProperties" in out:
        out["type"] = "object"
        if "properties" in out:
            out["properties"] = {k: _convert(v, defs) for k, v in out["properties"].items()}
            if not out["properties"]:
                del out["properties"]
        extra = out.pop("additionalProperties", None)
        if isinstance(extra, dict) and extra:
            out["additionalProperties"] = _convert(extra, defs)
        elif extra is True or extra == {}:
            # extra="allow": the named fields are checked, any others are kept as written.
            out["x-kubernetes-preserve-unknown-fields"] = True
        if "required" in out and not out["required"]:
            del out["required"]
    elif out.get("type") == "array":
        out["items"] = _convert(out.get("items", {}), defs)
    elif not out.get("type") and not out.get("x-kubernetes-preserve-unknown-fields"):
        # Any: keep whatever is written.
        out["x-kubernetes-preserve-unknown-fields"] = True
    if out.get("x-kubernetes-preserve-unknown-fields") and out.get("type") is None:
        out["type"] = "object"
    if "anyOf" in out:
        raise ValueError(f"cannot express a union in a structural schema: {out['anyOf']}")
    return {k: out[k] for k in _ordered(out)}


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _ordered(node: dict[str, Any]) -> list[str]:
    first = ["type", "description"]
    return [k for k in first if k in node] + sorted(k for k in node if k not in first)


def structural_problems(schema: dict[str, Any], path: str = "") -> list[str]:
    """Every way ``schema`` breaks the structural-schema rules; empty when it is fine."""
    problems: list[str] = []
    where = path or "<root>"
    for key in schema:
        if key not in _ALLOWED_KEYS:
            problems.append(f"{where}: forbidden keyword {key!r}")
    int_or_string = schema.get("x-kubernetes-int-or-string") is True
    if "type" not in schema and not int_or_string:
        problems.append(f"{where}: no type")
    if schema.get("additionalProperties") is False:
        problems.append(f"{where}: additionalProperties: false is not allowed")
    if "properties" in schema and "additionalProperties" in schema:
        problems.append(f"{where}: properties and additionalProperties together")
    if "anyOf" in schema and not int_or_string:
        problems.append(f"{where}: anyOf outside int-or-string")
    for bound in ("exclusiveMinimum", "exclusiveMaximum"):
        if bound in schema and not isinstance(schema[bound], bool):
            problems.append(f"{where}: {bound} must be a boolean")
    for name, sub in schema.get("properties", {}).items():
        problems += structural_problems(sub, f"{path}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        problems += structural_problems(schema["additionalProperties"], f"{path}.*")
    if "items" in schema:
        problems += structural_problems(schema["items"], f"{path}[]")
    return problems


def preserved_paths(schema: dict[str, Any], path: str = "") -> list[str]:
    """Paths where unknown fields are kept (``x-kubernetes-preserve-unknown-fields``)."""
    found = [path or "<root>"] if schema.get("x-kubernetes-preserve-unknown-fields") else []
    for name, sub in schema.get("properties", {}).items():
        found += preserved_paths(sub, f"{path}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        found += preserved_paths(schema["additionalProperties"], f"{path}.*")
    if "items" in schema:
        found += preserved_paths(schema["items"], f"{path}[]")
    return found
