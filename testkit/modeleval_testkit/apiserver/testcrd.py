"""A small CRD (``widgets.example.test``) that exercises every schema feature the emulator knows.

Used by the emulator's own tests, its benchmark and its CLI (``--demo-crd``): a status
subresource, printer columns, defaults, enums, ranges, patterns, int-or-string, nullable,
preserve-unknown-fields, a map, a list-map and CEL rules (plain and transition).
"""

from __future__ import annotations

import copy
from typing import Any

GROUP = "example.test"
VERSION = "v1"
PLURAL = "widgets"
KIND = "Widget"

_SPEC: dict[str, Any] = {
    "type": "object",
    "required": ["size"],
    "x-kubernetes-validations": [
        {
            "rule": "!has(self.size) || self.replicas <= self.size * 10",
            "message": "replicas may be at most ten times size",
            "fieldPath": ".replicas",
        },
    ],
    "properties": {
        "size": {"type": "integer", "minimum": 1, "maximum": 100},
        "replicas": {"type": "integer", "default": 1, "minimum": 0},
        "mode": {
            "type": "string",
            "enum": ["fast", "slow"],
            "default": "fast",
            "x-kubernetes-validations": [
                {"rule": "self == oldSelf", "message": "mode is immutable"}
            ],
        },
        "name": {"type": "string", "pattern": "^[a-z][a-z0-9-]*$", "maxLength": 20},
        "port": {"x-kubernetes-int-or-string": True},
        "comment": {"type": "string", "nullable": True},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "parts": {
            "type": "array",
            "maxItems": 3,
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": {
                "type": "object",
                "required": ["name"],
                "x-kubernetes-validations": [
                    {
                        "rule": "!has(self.name) || self.name.startsWith('p')",
                        "message": "part names start with p",
                    }
                ],
                "properties": {
                    "name": {"type": "string"},
                    "weight": {
                        "type": "number",
                        "default": 1.0,
                        "exclusiveMinimum": True,
                        "minimum": 0,
                    },
                },
            },
        },
    },
}

_STATUS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "phase": {"type": "string"},
        "observedGeneration": {"type": "integer"},
        "conditions": {
            "type": "array",
            "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    },
}

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {
            "plural": PLURAL,
            "singular": "widget",
            "kind": KIND,
            "listKind": f"{KIND}List",
            "shortNames": ["wd"],
            "categories": ["all", "examples"],
        },
        "versions": [
            {
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                    {
                        "name": "First",
                        "type": "string",
                        "jsonPath": ".spec.parts[0].name",
                        "priority": 1,
                    },
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "apiVersion": {"type": "string"},
                            "kind": {"type": "string"},
                            "metadata": {"type": "object"},
                            "spec": _SPEC,
                            "status": _STATUS,
                        },
                    }
                },
            }
        ],
    },
}


def widget_crd() -> dict[str, Any]:
    """A fresh copy of `WIDGET_CRD`."""
    return copy.deepcopy(WIDGET_CRD)


def widget(name: str, /, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    """A Widget object; ``spec`` defaults to ``{"size": 1}``."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec or {"size": 1},
    }
