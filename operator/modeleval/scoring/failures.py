"""Per-metric item failures and the task's error budget for them.

A judged metric (``judge``: one judge call per answer; ``gsb``: one comparison per item, both
orders) can fail item by item: the judge was unreachable, timed out, or gave no verdict that
can be trusted. Those items are left out of the metric, and counted here with their most
common cause. The rule (documented in docs/results.md):

- more than ``scoring.judge.client.maxErrorRatio`` (default 0.1) of a metric's items failed →
  the metric is *over budget*: the task fails and reports no totalScore;
- some failed, within the budget → the task succeeds, marked degraded (a ``Degraded``
  condition and a Warning Event), the counts in ``status.scores.failures``.

The scoring phase writes :meth:`MetricFailures.to_dict` into ``summary.json`` (``failures``)
and the task's ``status.scores.failures``; the operator turns it into state and condition.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_ERROR_RATIO = 0.1


@dataclass(frozen=True, slots=True)
class MetricFailures:
    """How many of one metric's items failed, and why (the most common cause)."""

    metric: str
    total: int
    """Items the metric was computed for (answers judged, or pairs compared)."""
    failed: int
    max_error_ratio: float
    cause: str | None = None
    """The most common cause among the failed items (first seen wins a tie)."""
    cause_items: int = 0
    """How many failed items had that cause."""

    @property
    def ratio(self) -> float:
        return self.failed / self.total if self.total else 0.0

    @property
    def over_budget(self) -> bool:
        """More than ``max_error_ratio`` of the items failed (exactly at the ratio is allowed)."""
        return self.failed > self.max_error_ratio * self.total + 1e-9

    @classmethod
    def count(
        cls, metric: str, causes: Iterable[str | None], max_error_ratio: float
    ) -> MetricFailures:
        """From one entry per item: ``None`` when the item succeeded, else its failure cause."""
        listed = list(causes)
        counted = Counter(c for c in listed if c is not None)
        top = counted.most_common(1)
        return cls(
            metric=metric,
            total=len(listed),
            failed=sum(counted.values()),
            max_error_ratio=max_error_ratio,
            cause=top[0][0] if top else None,
            cause_items=top[0][1] if top else 0,
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``summary.json`` / ``status.scores.failures[]`` entry (camelCase)."""
        return {
            "metric": self.metric,
            "total": self.total,
            "failed": self.failed,
            "maxErrorRatio": self.max_error_ratio,
            "overBudget": self.over_budget,
            "cause": self.cause,
            "causeItems": self.cause_items,
        }
