"""docs/troubleshooting.md lists every reason the operator can put in status and Events."""

from __future__ import annotations

import ast
import re

from modeleval.reconcile.pod_failures import Cause
from tests.support.paths import REPO

DOC = (REPO / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
STATE_MACHINE = REPO / "operator" / "modeleval" / "reconcile" / "evaltask_state.py"


def _decision_reasons() -> set[str]:
    """Literal CamelCase reasons passed to Decision(...) in the EvalTask state machine."""
    tree = ast.parse(STATE_MACHINE.read_text(encoding="utf-8"))
    reasons = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Decision":
            for arg in node.args[1:2]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value:
                    reasons.add(arg.value)
    return reasons


def test_state_machine_reasons_are_documented() -> None:
    reasons = _decision_reasons()
    assert len(reasons) >= 8
    missing = sorted(r for r in reasons if f"`{r}`" not in DOC)
    assert not missing


def test_service_group_causes_are_documented() -> None:
    missing = sorted(c.value for c in Cause if f"`{c.value}`" not in DOC)
    assert not missing


def test_running_reasons_follow_the_phase_names() -> None:
    for phase in ("Infer", "Score", "Perf"):
        assert re.search(rf"`{phase}Running`", DOC)
