"""Field errors worded the way the Kubernetes API server words them.

A `FieldError` is one cause of a 422 Invalid answer: the field path (``spec.models[0].name``),
the reason (``FieldValueInvalid``, ``FieldValueRequired``…) and the full message
(``spec.parallel: Invalid value: -1: spec.parallel in body should be greater than or equal to 1``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

PathItem = str | int


@dataclass(frozen=True)
class FieldError:
    """One invalid field: ``str(error)`` is the message the API server would print."""

    field: str
    reason: str
    message: str

    def __str__(self) -> str:
        return self.message

    def as_cause(self) -> dict[str, str]:
        """The entry of a Status object's ``details.causes``."""
        return {"reason": self.reason, "message": self.message, "field": self.field}


def format_path(path: Iterable[PathItem]) -> str:
    """``["spec", "models", 0, "name"]`` → ``spec.models[0].name``."""
    text = ""
    for item in path:
        if isinstance(item, int):
            text += f"[{item}]"
        else:
            text += f".{item}" if text else str(item)
    return text


def format_value(value: Any) -> str:
    """A value as the API server shows it after ``Invalid value:``."""
    if isinstance(value, dict):
        return '"object"'
    if isinstance(value, list):
        return '"array"'
    return json.dumps(value)


def type_name(value: Any) -> str:
    """The OpenAPI type name of a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError(
        path, "FieldValueInvalid", f"{path}: Invalid value: {format_value(value)}: {detail}"
    )


def required(path: str, detail: str = "") -> FieldError:
    suffix = f": {detail}" if detail else ""
    return FieldError(path, "FieldValueRequired", f"{path}: Required value{suffix}")


def not_supported(path: str, value: Any, supported: list[Any]) -> FieldError:
    values = ", ".join(json.dumps(v) for v in supported)
    return FieldError(
        path,
        "FieldValueNotSupported",
        f"{path}: Unsupported value: {format_value(value)}: supported values: {values}",
    )


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(path, "FieldValueForbidden", f"{path}: Forbidden: {detail}")


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(
        path, "FieldValueDuplicate", f"{path}: Duplicate value: {format_value(value)}"
    )


def too_many(path: str, count: int, limit: int) -> FieldError:
    return FieldError(
        path, "FieldValueTooMany", f"{path}: Too many: {count}: must have at most {limit} items"
    )
