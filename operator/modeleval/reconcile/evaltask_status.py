"""The operator-owned status keys of an EvalTask besides state, message, conditions and times.

Pure: the typed task, what was observed and the state machine's decision in, status keys out
(``target``, ``resultsLocation``, ``evalType``, ``serviceGroup``, ``jobs``, ``manual``).
"""

from __future__ import annotations

from typing import Any

from modeleval import constants as c
from modeleval.api import EvalTask, TaskState
from modeleval.builders.evaltask import job_name, results_location, target_summary
from modeleval.reconcile.evaltask_state import Decision, Observed, Phase, has_manual


def job_refs(task_name: str, observed: Observed, created: Phase | None) -> dict[str, str]:
    present = set(observed.jobs) | ({created} if created else set())
    refs = {}
    for phase in present:
        key = {Phase.SCORE: "scoring", Phase.PERF: "performance", Phase.MANUAL: "manual"}.get(
            phase, "inference"
        )
        refs[key] = job_name(task_name, phase.value)
    return refs


def creating_group(task: EvalTask) -> str | None:
    """The ModelEvalServiceGroup that created this task (its controlling owner), if any:
    ``status.serviceGroup``, ZStack's ``modelServiceGroupUuid``."""
    refs = (task.metadata.model_extra or {}).get("ownerReferences") or []
    for ref in refs:
        if (
            isinstance(ref, dict)
            and ref.get("kind") == c.SERVICE_GROUP_KIND
            and str(ref.get("apiVersion", "")).startswith(f"{c.GROUP}/")
        ):
            return str(ref.get("name"))
    return None


def operator_keys(task: EvalTask, observed: Observed, decision: Decision) -> dict[str, Any]:
    """Operator-owned status keys besides state, message, conditions and times."""
    name = task.metadata.name or ""
    extra: dict[str, Any] = {
        "target": target_summary(task.spec),
        "resultsLocation": results_location(task),
        "evalType": "manual" if has_manual(task.spec) else "auto",
    }
    group = creating_group(task)
    if group is not None:
        extra["serviceGroup"] = group
    refs = job_refs(name, observed, decision.create)
    if refs:
        extra["jobs"] = refs
    if decision.state == TaskState.RUNNING_WITH_MANUAL_BEGIN and observed.manual_pending is None:
        scoring = task.spec.scoring
        dims = [
            d.dimension
            for d in (scoring.manual.eval_dimension if scoring and scoring.manual else [])
        ]
        extra["manual"] = {"dimensions": ["satisfaction", *dims], "pending": True}
    return extra
