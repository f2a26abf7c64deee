"""docs/install.md keeps up with the chart: every value and every operator env var."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from tests.support.paths import CHART, MANIFESTS, REPO

DOC = (REPO / "docs" / "install.md").read_text(encoding="utf-8")
OBJECT_VALUES = {"resources", "runner.resources", "livenessProbe", "podSecurityContext"}
OBJECT_VALUES |= {"securityContext", "console.resources"}
"""Values documented as one row (Kubernetes objects passed through as they are)."""


def value_keys(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and path not in OBJECT_VALUES:
            yield from value_keys(value, f"{path}.")
        else:
            yield path


def documented(table_heading: str) -> set[str]:
    section = DOC.split(table_heading, 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([\w.]+)` \|", section, re.M))


def test_every_value_is_in_the_values_table() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    assert documented("## Helm values") == set(value_keys(values))


CONSOLE_ONLY = {"MODELEVAL_CONSOLE_URL", "MODELEVAL_CONSOLE_AUDIENCE"}
"""Operator env vars the chart and kustomize set only with the console."""


def test_every_operator_env_var_is_in_the_env_table() -> None:
    deployment = yaml.safe_load((MANIFESTS / "base" / "deployment.yaml").read_text("utf-8"))
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    base = {env["name"] for env in container["env"]}
    assert documented("## Operator environment") == base | CONSOLE_ONLY
    overlay = (MANIFESTS / "overlays" / "console" / "kustomization.yaml").read_text("utf-8")
    template = (CHART / "templates" / "deployment.yaml").read_text("utf-8")
    for name in CONSOLE_ONLY:
        assert f"name: {name}" in overlay and f"name: {name}" in template
