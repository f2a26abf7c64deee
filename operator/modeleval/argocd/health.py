"""Argo CD health checks for the two kinds, and the argocd-cm snippet that installs them.

The Lua sources ship as package data next to this module; docs/argocd.md shows
the output of :func:`argocd_cm_snippet` (a test keeps the two identical).
"""

from __future__ import annotations

from importlib.resources import files

from modeleval.constants import EVAL_TASK_KIND, GROUP, SERVICE_GROUP_KIND

HEALTH_CHECK_FILES: dict[str, str] = {
    EVAL_TASK_KIND: "health_evaltask.lua",
    SERVICE_GROUP_KIND: "health_modelevalservicegroup.lua",
}
"""Kind -> file name of its health check in this package."""


def health_lua(kind: str) -> str:
    """Return the health-check Lua source of ``kind`` (EvalTask or ModelEvalServiceGroup)."""
    try:
        name = HEALTH_CHECK_FILES[kind]
    except KeyError:
        known = ", ".join(sorted(HEALTH_CHECK_FILES))
        raise ValueError(f"no Argo CD health check for kind {kind!r}; known: {known}") from None
    return files("modeleval.argocd").joinpath(name).read_text(encoding="utf-8")


def customization_key(kind: str) -> str:
    """The argocd-cm data key of a kind's health check."""
    return f"resource.customizations.health.{GROUP}_{kind}"


def argocd_cm_snippet(*, namespace: str = "argocd") -> str:
    """An ``argocd-cm`` ConfigMap (YAML) that registers both health checks."""
    lines = [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: argocd-cm",
        f"  namespace: {namespace}",
        "  labels:",
        "    app.kubernetes.io/name: argocd-cm",
        "    app.kubernetes.io/part-of: argocd",
        "data:",
    ]
    for kind in (SERVICE_GROUP_KIND, EVAL_TASK_KIND):
        lines.append(f"  {customization_key(kind)}: |")
        lines.extend(f"    {line}" if line else "" for line in health_lua(kind).splitlines())
    return "\n".join(lines) + "\n"
