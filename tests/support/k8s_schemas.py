"""Kubernetes' own schemas (the OpenAPI of each release, as packaged by kubernetes-validate)
for the objects our code writes, over every Kubernetes version the chart supports.

    schemas = KubernetesSchemas(supported_versions())
    schemas.errors(job)      # {"1.29": ["spec.template.spec.containers.0.foo: ..."], ...}

Strict: unknown fields are errors, as ``kubernetes-validate --strict`` (and the API server
with ``fieldValidation=Strict``) reports them. Custom resources have no schema here
(``None``): the API emulator validates them against our CRDs on every write.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import kubernetes_validate.utils as kv
import yaml
from referencing import Registry, Resource

from tests.support.paths import CHART

_RANGE = re.compile(r"^>=\s*1\.(\d+)\.\d+(?:-0)?\s+<\s*1\.(\d+)\.\d+(?:-0)?$")


def supported_versions() -> list[str]:
    """The minor versions of the chart's ``kubeVersion`` (``>=1.29.0-0 <1.36.0-0``)."""
    text = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))["kubeVersion"]
    match = _RANGE.match(text.strip())
    if match is None:
        raise ValueError(f"Chart.yaml kubeVersion {text!r} is not a '>=1.A.0-0 <1.B.0-0' range")
    first, end = int(match[1]), int(match[2])
    return [f"1.{minor}" for minor in range(first, end)]


def _schema_file(api_version: str, kind: str) -> str:
    # rbac.authorization.k8s.io/v1 -> rbac-v1, apps/v1 -> apps-v1, v1 -> v1
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{group_version}.json"


@dataclass
class KubernetesSchemas:
    """Validators per (version, apiVersion, kind), loaded once."""

    versions: Sequence[str]
    strict: bool = True
    _validators: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    _registries: dict[str, Registry[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        packaged = set(kv.all_versions())
        missing = [v for v in self.versions if f"{v}.0" not in packaged]
        if missing:
            raise ValueError(f"kubernetes-validate has no schemas for {missing}")

    def _folder(self, version: str) -> str:
        return f"kubernetes-json-schema/v{version}.0-local" + ("-strict" if self.strict else "")

    def validator(self, version: str, api_version: str, kind: str) -> Any | None:
        """The validator of one kind in one version; ``None`` for kinds it has no schema of."""
        key = (version, api_version, kind)
        if key not in self._validators:
            try:
                schema = kv.schema_contents(
                    f"{self._folder(version)}/{_schema_file(api_version, kind)}", version
                )
            except FileNotFoundError:
                self._validators[key] = None
                return None
            registry = self._registries.get(version)
            if registry is None:
                folder = self._folder(version)
                definitions = kv.schema_contents(f"{folder}/_definitions.json", version)
                registry = Resource.from_contents(definitions) @ Registry()
                self._registries[version] = registry
            registry = Resource.from_contents(schema) @ registry
            self._validators[key] = jsonschema.Draft202012Validator(schema, registry=registry)
        return self._validators[key]

    def has_schema(self, api_version: str, kind: str) -> bool:
        return self.validator(self.versions[0], api_version, kind) is not None

    def errors(self, obj: dict[str, Any]) -> dict[str, list[str]]:
        """Version -> messages (``path: problem``), for the versions where ``obj`` is invalid."""
        found: dict[str, list[str]] = {}
        for version in self.versions:
            validator = self.validator(version, obj.get("apiVersion", ""), obj.get("kind", ""))
            if validator is None:
                continue
            messages = sorted(
                f"{'.'.join(str(p) for p in error.absolute_path) or '(object)'}: {error.message}"
                for error in validator.iter_errors(obj)
            )
            if messages:
                found[version] = messages
        return found


def describe(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    name = meta.get("name") or f"{meta.get('generateName', '')}*"
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {where}{name}"


def report(schemas: KubernetesSchemas, objects: Iterable[dict[str, Any]]) -> list[str]:
    """One line per invalid object: what, and the problems per version (grouped)."""
    lines = []
    for obj in objects:
        errors = schemas.errors(obj)
        if not errors:
            continue
        by_problem: dict[str, list[str]] = {}
        for version, messages in errors.items():
            for message in messages:
                by_problem.setdefault(message, []).append(version)
        details = "; ".join(
            f"{message} [{', '.join(versions)}]" for message, versions in by_problem.items()
        )
        lines.append(f"{describe(obj)}: {details}")
    return lines
