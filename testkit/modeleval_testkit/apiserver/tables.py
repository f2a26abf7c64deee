"""The ``Table`` format that kubectl asks for (``Accept: application/json;as=Table;…``).

Custom resources get their CRD's ``additionalPrinterColumns`` (JSONPath subset: ``.a.b``,
``.a[0].b``); built-ins get Name, a few well-known columns and Age.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from modeleval_testkit.apiserver.resources import ResourceInfo, crd_version

Obj = dict[str, Any]
Column = tuple[dict[str, Any], Callable[[Obj], Any]]
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\['([^']+)'\]")


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def jsonpath(obj: Any, path: str) -> Any:
    """Evaluate a simple JSONPath (``.status.conditions[0].type``); None when absent."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    value = obj
    for match in _STEP.finditer(path):
        key = match.group(1) or match.group(3)
        if key is not None:
            value = value.get(key) if isinstance(value, dict) else None
        else:
            index = int(match.group(2))
            value = value[index] if isinstance(value, list) and index < len(value) else None
        if value is None:
            return None
    return value


def human_age(timestamp: str | None) -> str:
    """``5s``, ``3m20s``, ``4h``, ``12d`` — as ``kubectl get`` shows ages."""
    if not timestamp:
        return "<unknown>"
    then = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    seconds = int((datetime.now(UTC) - then).total_seconds())
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


def _cell(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "date":
        return human_age(value) if isinstance(value, str) else None
    if kind in ("integer", "number", "boolean") and not isinstance(value, dict | list):
        return value
    return value if isinstance(value, str) else json.dumps(value)


def _column(
    name: str,
    kind: str,
    getter: Callable[[Obj], Any],
    priority: int = 0,
    description: str = "",
    fmt: str = "",
) -> Column:
    definition = {
        "name": name,
        "type": kind,
        "format": fmt,
        "description": description,
        "priority": priority,
    }
    return definition, getter


def _name(obj: Obj) -> Any:
    return obj["metadata"]["name"]


def _age(obj: Obj) -> Any:
    return human_age(obj["metadata"].get("creationTimestamp"))


def _involved(event: Obj) -> str:
    kind = str(jsonpath(event, ".involvedObject.kind") or "").lower()
    return f"{kind}/{jsonpath(event, '.involvedObject.name') or ''}"


_BUILTIN_EXTRA: dict[tuple[str, str], list[Column]] = {
    ("", "pods"): [_column("Status", "string", lambda o: jsonpath(o, ".status.phase"))],
    ("", "namespaces"): [_column("Status", "string", lambda o: jsonpath(o, ".status.phase"))],
    ("batch", "jobs"): [
        _column("Succeeded", "integer", lambda o: jsonpath(o, ".status.succeeded") or 0),
        _column("Failed", "integer", lambda o: jsonpath(o, ".status.failed") or 0),
    ],
    ("apps", "deployments"): [
        _column("Ready", "integer", lambda o: jsonpath(o, ".status.readyReplicas") or 0),
        _column("Replicas", "integer", lambda o: jsonpath(o, ".spec.replicas")),
    ],
    ("", "events"): [
        _column("Type", "string", lambda o: o.get("type")),
        _column("Reason", "string", lambda o: o.get("reason")),
        _column("Object", "string", lambda o: _involved(o)),
        _column("Message", "string", lambda o: o.get("message")),
    ],
    ("", "services"): [
        _column("Cluster-IP", "string", lambda o: jsonpath(o, ".spec.clusterIP")),
    ],
}


def columns(info: ResourceInfo) -> list[Column]:
    """Column definitions and cell getters for ``info``."""
    name = _column("Name", "string", _name, fmt="name", description="Name of the object")
    if info.crd is None:
        return [name, *_BUILTIN_EXTRA.get(info.key, []), _column("Age", "string", _age)]
    printer = crd_version(info).get("additionalPrinterColumns")
    if not printer:
        return [name, _column("Age", "date", _age)]
    out = [name]
    for col in printer:
        kind = col.get("type", "string")

        def getter(obj: Obj, path: str = col["jsonPath"], kind: str = kind) -> Any:
            return _cell(jsonpath(obj, path), kind)

        out.append(
            _column(
                col["name"],
                kind,
                getter,
                col.get("priority", 0),
                col.get("description", ""),
                col.get("format", ""),
            )
        )
    return out


def _row_object(info: ResourceInfo, obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }


def table(
    info: ResourceInfo, items: list[Obj], resource_version: str, include: str = "Metadata"
) -> Obj:
    """A ``meta.k8s.io/v1`` Table of ``items``."""
    cols = columns(info)
    rows = []
    for obj in items:
        row: Obj = {"cells": [getter(obj) for _, getter in cols]}
        partial = _row_object(info, obj, include)
        if partial is not None:
            row["object"] = partial
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [definition for definition, _ in cols],
        "rows": rows,
    }
