"""The operator-owned status keys of an EvalTask besides state, message, conditions and times.

Pure: the typed task, what was observed and the state machine's decision in, status keys out
(``target``, ``resultsLocation``, ``evalType``, ``serviceGroup``, ``jobs``, ``manual``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from modeleval import constants as c
from modeleval.api import EvalTask, TaskState
from modeleval.builders.evaltask import job_name, results_location, target_summary
from modeleval.reconcile.evaltask_state import Decision, Observed, Phase, has_manual


def job_refs(task_name: str, observed: Observed, created: Phase | None) -> dict[str, str]:
    present = set(observed.jobs) | ({created} if created else set())
    refs = {}
    for phase in present:
        key = {
            Phase.JUDGE: "judging",
            Phase.SCORE: "scoring",
            Phase.PERF: "performance",
            Phase.MANUAL: "manual",
        }.get(phase, "inference")
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


DROPPED_PARAMETERS = "ParametersDropped"
"""Event reason: a model's requests go without some generation parameters."""


def dropped_parameter_events(
    task_name: str, uid: str, status: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """``(Event name, message)`` for each ``status.droppedParameters`` entry (written by the
    runner). The name is derived from the entry, so each is posted once however often the
    operator looks."""
    events = []
    for entry in status.get("droppedParameters") or []:
        if not isinstance(entry, Mapping) or not entry.get("parameters"):
            continue
        model, parameters = str(entry.get("model", "")), [str(p) for p in entry["parameters"]]
        reason = str(entry.get("reason") or "")
        digest = hashlib.sha256(f"{uid}/{model}/{parameters}/{reason}".encode()).hexdigest()[:10]
        message = f"model {model}: {', '.join(parameters)} not sent: {reason}"
        events.append((f"{task_name}.params-{digest}", message))
    return events
