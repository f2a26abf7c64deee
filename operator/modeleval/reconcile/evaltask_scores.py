"""Failed judge items as the EvalTask state machine sees them, and what the task says of them.

The scoring Job writes ``status.scores.failures`` (one entry per judged metric: ``judge``,
``gsb``; see :mod:`modeleval.scoring.failures`) before it exits. Once the Job is complete:

- a metric over its error budget (more than ``scoring.judge.client.maxErrorRatio`` of its
  items failed) fails the task: :func:`failed_message`;
- failed items within the budget leave it Succeeded but *degraded*: a ``Degraded`` condition,
  a Warning Event and the message say so: :func:`degraded_message`.

Pure: status dicts in, views and messages out. ``modeleval run`` reads the same entries from
``summary.json`` and says the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FAILED_PREFIX = "scoring failed: too many failed items: "
DEGRADED_PREFIX = "evaluation finished with failed items: "


@dataclass(frozen=True)
class MetricFailuresView:
    """One judged metric's failed items, as the scoring Job reported them."""

    metric: str
    failed: int
    total: int
    max_error_ratio: float
    over_budget: bool
    cause: str | None = None
    cause_items: int = 0

    def describe(self) -> str:
        """``judge failed on 2 of 20 items (10.0%, allowed 15.0%), most common cause (2
        items): …``"""
        share = self.failed / self.total * 100 if self.total else 0.0
        text = (
            f"{self.metric} failed on {self.failed} of {self.total} items "
            f"({share:.1f}%, allowed {self.max_error_ratio * 100:.1f}%)"
        )
        if self.cause:
            text += f", most common cause ({self.cause_items} items): {self.cause}"
        return text


def read_failures(entries: Iterable[Mapping[str, Any]] | None) -> tuple[MetricFailuresView, ...]:
    """Views of ``scores.failures`` entries (status or summary.json); malformed ones skipped."""
    views = []
    for entry in entries or ():
        try:
            views.append(
                MetricFailuresView(
                    metric=str(entry["metric"]),
                    failed=int(entry["failed"]),
                    total=int(entry["total"]),
                    max_error_ratio=float(entry.get("maxErrorRatio") or 0.0),
                    over_budget=bool(entry.get("overBudget")),
                    cause=entry.get("cause"),
                    cause_items=int(entry.get("causeItems") or 0),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return tuple(views)


def failures_in_status(status: Mapping[str, Any]) -> tuple[MetricFailuresView, ...]:
    return read_failures((status.get("scores") or {}).get("failures"))


def failed_message(views: Sequence[MetricFailuresView]) -> str | None:
    """Why the task fails, naming each metric over its budget; None when none is."""
    over = [v for v in views if v.over_budget]
    if not over:
        return None
    return FAILED_PREFIX + "; ".join(v.describe() for v in over)


def degraded_message(views: Sequence[MetricFailuresView]) -> str | None:
    """The failed items of a task that is within its budget; None when no item failed."""
    if any(v.over_budget for v in views):
        return None
    failed = [v for v in views if v.failed]
    if not failed:
        return None
    return "; ".join(v.describe() for v in failed)
