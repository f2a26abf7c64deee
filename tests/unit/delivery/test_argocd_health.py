"""Argo CD health checks run under Lua 5.1 (the dialect of Argo CD's gopher-lua)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from lupa.lua51 import LuaRuntime

from modeleval.api import GroupPhase, TaskState
from modeleval.argocd import argocd_cm_snippet, customization_key, health_lua
from tests.support.paths import REPO


def health(kind: str, obj: dict[str, Any]) -> tuple[str, str]:
    """Run the health check as Argo CD does: ``obj`` is a global, the script returns a table."""
    lua = LuaRuntime(unpack_returned_tuples=False)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(health_lua(kind))
    return str(result["status"]), str(result["message"])


def task(state: str | None = None, generation: int = 1, **status: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": "t", "namespace": "ns", "generation": generation},
    }
    if state is not None:
        status["state"] = state
    if status:
        obj["status"] = status
    return obj


def group(phase: str | None = None, generation: int = 1, **status: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "ModelEvalServiceGroup",
        "metadata": {"name": "g", "namespace": "ns", "generation": generation},
    }
    if phase is not None:
        status["phase"] = phase
    if status:
        obj["status"] = status
    return obj


TASK_HEALTH = {
    "Succeeded": "Healthy",
    "Queued": "Progressing",
    "Running": "Progressing",
    "RunningWithManualBegin": "Progressing",
    "RunningWithMetricsCalculating": "Progressing",
    "Stopping": "Progressing",
    "Failed": "Degraded",
    "Stopped": "Suspended",
}
GROUP_HEALTH = {
    "Running": "Healthy",
    "Pending": "Progressing",
    "Deploying": "Progressing",
    "Degraded": "Degraded",
    "Failed": "Degraded",
}


@pytest.mark.parametrize(("state", "expected"), TASK_HEALTH.items())
def test_task_state_maps_to_health(state: str, expected: str) -> None:
    status, _ = health("EvalTask", task(state, observedGeneration=1))
    assert status == expected


@pytest.mark.parametrize(("phase", "expected"), GROUP_HEALTH.items())
def test_group_phase_maps_to_health(phase: str, expected: str) -> None:
    status, _ = health("ModelEvalServiceGroup", group(phase, observedGeneration=1))
    assert status == expected


def test_every_state_and_phase_of_the_api_is_covered() -> None:
    assert set(TASK_HEALTH) == {s.value for s in TaskState}
    assert set(GROUP_HEALTH) == {p.value for p in GroupPhase}


@pytest.mark.parametrize(
    ("kind", "obj"),
    [
        ("EvalTask", task()),
        ("EvalTask", task(percentage=10)),  # runner progress before the operator's state
        ("ModelEvalServiceGroup", group()),
        ("ModelEvalServiceGroup", group(message="")),
    ],
)
def test_no_state_yet_is_progressing(kind: str, obj: dict[str, Any]) -> None:
    status, message = health(kind, obj)
    assert status == "Progressing"
    assert message.startswith("Waiting for the operator")


@pytest.mark.parametrize(
    ("kind", "obj"),
    [
        ("EvalTask", task("Succeeded", generation=3, observedGeneration=2)),
        ("EvalTask", task("Failed", generation=2, observedGeneration=1)),
        ("ModelEvalServiceGroup", group("Running", generation=5, observedGeneration=4)),
    ],
)
def test_stale_status_is_progressing(kind: str, obj: dict[str, Any]) -> None:
    status, message = health(kind, obj)
    assert (status, message) == (
        "Progressing",
        f"Waiting for the operator to observe generation {obj['metadata']['generation']}",
    )


def test_current_or_missing_observed_generation_uses_the_state() -> None:
    assert health("EvalTask", task("Failed", generation=2, observedGeneration=2))[0] == "Degraded"
    assert health("EvalTask", task("Failed", generation=2))[0] == "Degraded"


def test_unknown_values_are_unknown() -> None:
    assert health("EvalTask", task("Exploded")) == ("Unknown", "Unknown state Exploded")
    assert health("ModelEvalServiceGroup", group("Sleeping")) == (
        "Unknown",
        "Unknown phase Sleeping",
    )


def test_messages_carry_progress_score_and_reason() -> None:
    _, running = health("EvalTask", task("Running", percentage=42))
    assert running == "Running (42%)"
    _, done = health(
        "EvalTask", task("Succeeded", percentage=100, totalScore=0.875, message="3 metrics")
    )
    assert done == "Succeeded (100%), total score 0.875: 3 metrics"
    _, failed = health("EvalTask", task("Failed", message="endpoint http://m:8000 unreachable"))
    assert failed == "Failed: endpoint http://m:8000 unreachable"
    _, ready = health("ModelEvalServiceGroup", group("Running", url="http://g.ns.svc:8000/v1"))
    assert ready == "Running at http://g.ns.svc:8000/v1"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="no Argo CD health check for kind 'Pod'"):
        health_lua("Pod")


def test_snippet_registers_the_package_lua_files() -> None:
    config_map = yaml.safe_load(argocd_cm_snippet())
    assert config_map["metadata"]["name"] == "argocd-cm"
    assert config_map["data"] == {
        "resource.customizations.health.modeleval.io_EvalTask": health_lua("EvalTask"),
        "resource.customizations.health.modeleval.io_ModelEvalServiceGroup": health_lua(
            "ModelEvalServiceGroup"
        ),
    }
    assert customization_key("EvalTask") in config_map["data"]


def test_docs_show_the_generated_snippet() -> None:
    doc = (REPO / "docs" / "argocd.md").read_text(encoding="utf-8")
    assert f"```yaml\n{argocd_cm_snippet()}```" in doc, (
        "docs/argocd.md is stale: paste the output of `python -m modeleval.argocd`"
    )
