"""Failed judge items decide how a task ends: Failed over the budget, degraded within it."""

from __future__ import annotations

from typing import Any

import pytest

from modeleval.api import TaskState
from modeleval.reconcile.evaltask_scores import (
    MetricFailuresView,
    degraded_message,
    failed_message,
    failures_in_status,
    read_failures,
)
from modeleval.reconcile.evaltask_state import (
    DEGRADED,
    Decision,
    JobView,
    Observed,
    Phase,
    degraded_event,
    next_step,
    status_patch,
)

S = TaskState
DONE = {
    Phase.INFER: JobView("t-infer", complete=True),
    Phase.SCORE: JobView("t-score", complete=True),
}
NOW = "2026-12-20T10:00:00Z"
ECHO = "the judge repeated the prompt instead of judging"
NO_SCORE = "no score in the judge's reply (expected a line 'Score: N' or '[[N]]')"


def entry(metric: str, failed: int, total: int, ratio: float = 0.1, **kw: Any) -> dict[str, Any]:
    """A ``status.scores.failures`` entry as the scoring Job writes it."""
    return {
        "metric": metric,
        "total": total,
        "failed": failed,
        "maxErrorRatio": ratio,
        "overBudget": failed > ratio * total,
        "cause": kw.get("cause", NO_SCORE if failed else None),
        "causeItems": kw.get("cause_items", failed),
    }


def finished(*entries: dict[str, Any], **kw: Any) -> Observed:
    status = {"scores": {"failures": list(entries)}}
    base: dict[str, Any] = {
        "task": "t",
        "state": S.RUNNING_WITH_METRICS_CALCULATING,
        "phases": (Phase.INFER, Phase.SCORE),
        "jobs": DONE,
        "score_failures": failures_in_status(status),
    }
    base.update(kw)
    return Observed(**base)


def test_a_metric_over_budget_fails_the_task_naming_metric_count_and_cause() -> None:
    decision = next_step(finished(entry("judge", 16, 16, cause=ECHO), entry("gsb", 0, 8)))
    assert decision == Decision(
        S.FAILED,
        "MetricFailed",
        "scoring failed: too many failed items: judge failed on 16 of 16 items "
        f"(100.0%, allowed 10.0%), most common cause (16 items): {ECHO}",
    )


def test_every_metric_over_budget_is_named() -> None:
    decision = next_step(finished(entry("judge", 3, 20), entry("gsb", 8, 8, cause=ECHO)))
    assert decision.state == S.FAILED and decision.message is not None
    assert "judge failed on 3 of 20 items (15.0%, allowed 10.0%)" in decision.message
    assert (
        f"; gsb failed on 8 of 8 items (100.0%, allowed 10.0%), most common cause (8 items): {ECHO}"
        in decision.message
    )


def test_failed_items_within_the_budget_succeed_degraded() -> None:
    decision = next_step(finished(entry("judge", 2, 20, ratio=0.15), entry("gsb", 0, 10)))
    detail = (
        "judge failed on 2 of 20 items (10.0%, allowed 15.0%), "
        f"most common cause (2 items): {NO_SCORE}"
    )
    assert decision == Decision(
        S.SUCCEEDED,
        "Succeeded",
        f"evaluation finished with failed items: {detail}",
        degraded=detail,
    )
    patch = status_patch({}, decision, generation=1, now=NOW)
    conditions = {c["type"]: c for c in patch["conditions"]}
    assert conditions["Succeeded"]["status"] == "True"
    assert conditions[DEGRADED] == {
        "type": "Degraded",
        "status": "True",
        "reason": "ItemsFailed",
        "message": detail,
        "lastTransitionTime": NOW,
        "observedGeneration": 1,
    }
    # The Warning Event is posted once: when the condition turns True.
    assert degraded_event({}, decision) == detail
    assert degraded_event({"conditions": patch["conditions"]}, decision) is None


def test_no_failed_item_is_a_plain_success() -> None:
    decision = next_step(finished(entry("judge", 0, 20), entry("gsb", 0, 10)))
    assert decision == Decision(S.SUCCEEDED, "Succeeded", "evaluation finished")
    conditions = {
        c["type"]: c for c in status_patch({}, decision, generation=1, now=NOW)["conditions"]
    }
    assert conditions[DEGRADED]["status"] == "False"
    assert conditions[DEGRADED]["reason"] == "Succeeded"
    assert degraded_event({}, decision) is None


def test_rule_only_tasks_have_no_failures() -> None:
    assert next_step(finished()).message == "evaluation finished"


def test_degraded_survives_later_reconciles_of_the_finished_task() -> None:
    """A spec edit after Succeeded reconciles again: the Degraded condition must stay True."""
    observed = finished(entry("judge", 1, 20), state=S.SUCCEEDED)
    first = next_step(finished(entry("judge", 1, 20)))
    status = status_patch({}, first, generation=1, now=NOW)
    again = next_step(observed)
    assert again.state == S.SUCCEEDED and again.degraded == first.degraded
    assert status_patch(status, again, generation=1, now="2026-12-20T11:00:00Z") == {}


def test_the_budget_decides_before_manual_annotation() -> None:
    over = next_step(finished(entry("judge", 5, 20), manual=True))
    assert over.state == S.FAILED
    within = next_step(finished(entry("judge", 1, 20), manual=True))
    assert within.state == S.RUNNING_WITH_MANUAL_BEGIN and within.degraded is not None


def test_failures_are_read_only_once_every_phase_is_complete() -> None:
    running = finished(
        entry("judge", 16, 16),
        jobs={Phase.INFER: DONE[Phase.INFER], Phase.SCORE: JobView("t-score")},
    )
    assert next_step(running).state == S.RUNNING_WITH_METRICS_CALCULATING


@pytest.mark.parametrize(
    "raw",
    [None, [], [{"metric": "judge"}], [{"metric": "judge", "failed": "x", "total": 3}]],
)
def test_malformed_entries_are_skipped(raw: Any) -> None:
    assert read_failures(raw) == ()


def test_messages_of_views() -> None:
    views = (
        MetricFailuresView("judge", 0, 10, 0.1, False),
        MetricFailuresView("gsb", 1, 5, 0.1, True),
    )
    assert degraded_message(views) is None  # over budget: failed, not degraded
    assert failed_message(views) == (
        "scoring failed: too many failed items: gsb failed on 1 of 5 items (20.0%, allowed 10.0%)"
    )
    assert failed_message(views[:1]) is None and degraded_message(views[:1]) is None
