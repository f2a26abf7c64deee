"""Validate custom resources against a CRD's ``openAPIV3Schema`` as the API server does.

The steps run in the API server's order:

1. drop ``null`` values of fields that are not ``nullable``;
2. apply ``default`` values (only where the parent object exists);
3. prune fields the schema does not declare (kept under
   ``x-kubernetes-preserve-unknown-fields: true`` and in ``additionalProperties`` maps;
   ``apiVersion``, ``kind`` and ``metadata`` at the root are never pruned);
4. validate with JSON Schema (draft 4, the dialect of OpenAPI v3.0) after converting
   ``nullable`` → a ``null`` type and ``x-kubernetes-int-or-string`` → ``anyOf``;
5. evaluate ``x-kubernetes-validations`` CEL rules (see `modeleval_testkit.apiserver.cel`).

Usage::

    result = validate_custom_resource(crd, obj)          # crd and obj are plain dicts
    result.object   # the defaulted and pruned copy
    result.errors   # ["spec.parallel: Invalid value: -1: spec.parallel in body should be ..."]
    result.causes   # FieldError(field="spec.parallel", reason="FieldValueInvalid", message=...)
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from modeleval_testkit.apiserver import cel
from modeleval_testkit.apiserver.fielderrors import (
    FieldError,
    PathItem,
    format_path,
    invalid,
    not_supported,
    required,
    too_many,
    type_name,
)

__all__ = [
    "ValidationResult",
    "apply_defaults",
    "crd_version_schema",
    "prune",
    "to_json_schema",
    "validate_against_schema",
    "validate_custom_resource",
]

Schema = dict[str, Any]
ROOT_KEEP = ("apiVersion", "kind", "metadata")
TYPE_INVALID = "FieldValueTypeInvalid"


@dataclass
class ValidationResult:
    """What `validate_custom_resource` found: the cleaned object and the causes of failure."""

    object: dict[str, Any]
    causes: list[FieldError] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    """Paths of the unknown fields that pruning removed (``spec.bogus``)."""

    @property
    def errors(self) -> list[str]:
        return [str(cause) for cause in self.causes]

    @property
    def ok(self) -> bool:
        return not self.causes


def crd_version_schema(crd: dict[str, Any], version: str | None = None) -> Schema:
    """The ``openAPIV3Schema`` of ``version`` (default: the storage version) of a CRD."""
    versions = crd["spec"]["versions"]
    if version is None and not any(entry.get("storage") for entry in versions):
        version = versions[0]["name"]
    for entry in versions:
        if (version is None and entry.get("storage")) or entry["name"] == version:
            schema: Schema = entry.get("schema", {}).get("openAPIV3Schema", {})
            return schema
    raise KeyError(f"CRD {crd['metadata']['name']} has no version {version!r}")


def validate_custom_resource(
    crd: dict[str, Any], obj: dict[str, Any], *, old: dict[str, Any] | None = None
) -> ValidationResult:
    """Default, prune and validate ``obj`` (a custom resource) against ``crd``.

    ``old`` is the stored object on updates: CEL transition rules (``oldSelf``) see it.
    The input is not modified.
    """
    api_version = obj.get("apiVersion", "")
    version = api_version.split("/", 1)[1] if "/" in api_version else None
    try:
        schema = crd_version_schema(crd, version)
    except KeyError:
        schema = crd_version_schema(crd)
    return validate_against_schema(schema, obj, old=old)


def validate_against_schema(
    schema: Schema, obj: dict[str, Any], *, old: dict[str, Any] | None = None
) -> ValidationResult:
    """`validate_custom_resource` for a bare ``openAPIV3Schema``."""
    value = copy.deepcopy(obj)
    value = drop_nulls(schema, value)
    value = apply_defaults(schema, value)
    pruned: list[str] = []
    value = prune(schema, value, root=True, removed=pruned)
    causes = schema_errors(schema, value)
    if not any(cause.reason == TYPE_INVALID for cause in causes):
        # Like the API server: CEL rules are skipped while the object has type errors.
        causes += cel.rule_errors(schema, value, old)
    return ValidationResult(object=value, causes=causes, pruned=pruned)


def drop_nulls(schema: Schema, value: Any) -> Any:
    """Remove ``null`` values of non-nullable properties (done before defaulting)."""
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key in list(value):
            sub = props.get(key) if props else extra if isinstance(extra, dict) else None
            if sub is None:
                continue
            if value[key] is None and not sub.get("nullable"):
                del value[key]
            else:
                value[key] = drop_nulls(sub, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [drop_nulls(schema["items"], item) for item in value]
    return value


def apply_defaults(schema: Schema, value: Any) -> Any:
    """Fill in ``default`` values below ``value`` (in place; returns ``value``)."""
    if isinstance(value, dict):
        for key, sub in schema.get("properties", {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                value[key] = apply_defaults(sub, value[key])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in value:
                value[key] = apply_defaults(extra, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            value[index] = apply_defaults(schema["items"], item)
    return value


def prune(
    schema: Schema,
    value: Any,
    *,
    root: bool = False,
    removed: list[str] | None = None,
    path: tuple[PathItem, ...] = (),
) -> Any:
    """Remove fields ``schema`` does not declare (in place; returns ``value``).

    The paths of removed fields are appended to ``removed`` when given.
    """
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        keep_unknown = schema.get("x-kubernetes-preserve-unknown-fields") is True
        for key in list(value):
            if root and key in ROOT_KEEP:
                continue
            if key in props:
                value[key] = prune(props[key], value[key], removed=removed, path=(*path, key))
            elif isinstance(extra, dict):
                value[key] = prune(extra, value[key], removed=removed, path=(*path, key))
            elif not keep_unknown and extra is not True:
                del value[key]
                if removed is not None:
                    removed.append(format_path((*path, key)))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            value[index] = prune(schema["items"], item, removed=removed, path=(*path, index))
    return value


def to_json_schema(schema: Schema) -> Schema:
    """Convert an OpenAPI v3.0 structural schema into a JSON Schema (draft 4)."""
    out: Schema = {}
    for key, sub in schema.items():
        if key.startswith("x-kubernetes-") or key in ("nullable", "default", "description"):
            continue
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {name: to_json_schema(s) for name, s in sub.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(sub, dict):
            out[key] = to_json_schema(sub)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(s) for s in sub]
        else:
            out[key] = sub
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}, *out.get("anyOf", [])]
    if schema.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


@functools.lru_cache(maxsize=256)
def _validator(schema_json: str) -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(to_json_schema(json.loads(schema_json)))


def schema_errors(schema: Schema, value: Any) -> list[FieldError]:
    """JSON Schema violations of ``value``, worded as the API server words them."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    errors = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    return [_field_error(error) for error in errors]


def _field_error(error: jsonschema.ValidationError) -> FieldError:
    path: list[PathItem] = list(error.absolute_path)
    name = format_path(path)
    kind = error.validator
    limit: Any = error.validator_value
    instance: Any = error.instance
    schema: Any = error.schema
    if kind == "required":
        missing = re.match(r"'(.*)' is a required property", error.message)
        prop = missing.group(1) if missing else str(limit)
        return required(format_path([*path, prop]))
    if kind == "enum":
        return not_supported(name, instance, list(limit))
    if kind == "maxItems":
        return too_many(name, len(instance), limit)
    if kind == "type":
        detail = f"{name} in body {_type(schema, instance)}"
        return FieldError(name, TYPE_INVALID, invalid(name, type_name(instance), detail).message)
    describe = _DETAILS.get(str(kind))
    detail = describe(schema, instance) if describe else str(error.message)
    return invalid(name, instance, f"{name} in body {detail}")


def _minimum(schema: Schema, _: Any) -> str:
    op = "greater than" if schema.get("exclusiveMinimum") else "greater than or equal to"
    return f"should be {op} {schema['minimum']}"


def _maximum(schema: Schema, _: Any) -> str:
    op = "less than" if schema.get("exclusiveMaximum") else "less than or equal to"
    return f"should be {op} {schema['maximum']}"


def _type(schema: Schema, instance: Any) -> str:
    expected = schema["type"]
    if isinstance(expected, list):
        expected = next(t for t in expected if t != "null")
    return f"must be of type {expected}: {json.dumps(type_name(instance))}"


_DETAILS: dict[str, Callable[[Schema, Any], str]] = {
    "minimum": _minimum,
    "maximum": _maximum,
    "minLength": lambda s, i: f"should be at least {s['minLength']} chars long",
    "maxLength": lambda s, i: f"should be at most {s['maxLength']} chars long",
    "pattern": lambda s, i: f"should match '{s['pattern']}'",
    "minItems": lambda s, i: f"should have at least {s['minItems']} items",
    "minProperties": lambda s, i: f"should have at least {s['minProperties']} properties",
    "maxProperties": lambda s, i: f"should have at most {s['maxProperties']} properties",
    "multipleOf": lambda s, i: f"should be a multiple of {s['multipleOf']}",
    "uniqueItems": lambda s, i: "shouldn't contain duplicates",
    "anyOf": lambda s, i: "must match at least one schema",
    "oneOf": lambda s, i: "must match exactly one schema",
}
