"""Scores summed up as item records stream past: the summary and the report's data without
holding the records.

:class:`ScoreAccumulator` takes batches of scored :class:`ItemRecord` in output order and keeps
only counts, exact sums, histogram bins and the worst rows; :meth:`ScoreAccumulator.summary`
gives the same :class:`Summary` as scoring every record at once (``aggregate`` defines it):
means are exact (the sums are kept as Shewchuk partials, so a mean equals ``statistics.fmean``
of the same values whatever the batch sizes), ties among failure causes and worst rows go to
the first in output order, as a stable sort would.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from modeleval.scoring.aggregate import (
    DEFINITION,
    GSB,
    JUDGE,
    default_weights,
    gsb_as_score,
    task_metric_means,
    weighted_mean,
)
from modeleval.scoring.config import ScoringConfig
from modeleval.scoring.failures import MetricFailures
from modeleval.scoring.pairwise import GsbCounts, PairOutcome
from modeleval.scoring.records import ItemRecord
from modeleval.scoring.summary import Summary

BINS = 10
"""Histogram bins of the report (0-10, 10-20, ... 90-100)."""


class ExactMean:
    """A running mean equal to ``statistics.fmean`` of every value added (exact sum)."""

    __slots__ = ("count", "partials")

    def __init__(self) -> None:
        self.partials: list[float] = []
        self.count = 0

    def add(self, x: float) -> None:
        """Shewchuk's exact addition: ``partials`` always sum to the exact total."""
        self.count += 1
        partials = self.partials
        i = 0
        for y in partials:
            if abs(x) < abs(y):
                x, y = y, x
            hi = x + y
            lo = y - (hi - x)
            if lo:
                partials[i] = lo
                i += 1
            x = hi
        partials[i:] = [x]

    def mean(self) -> float | None:
        return math.fsum(self.partials) / self.count if self.count else None


@dataclass(slots=True)
class _ModelTally:
    answered: int = 0
    inference_failed: int = 0
    judge_failed: int = 0
    means: dict[str, ExactMean] = field(default_factory=dict)


class FailureTally:
    """``MetricFailures.count`` of a stream of per-item causes (None = succeeded)."""

    def __init__(self) -> None:
        self.total = 0
        self.causes: Counter[str] = Counter()

    def add(self, cause: str | None) -> None:
        self.total += 1
        if cause is not None:
            self.causes[cause] += 1

    def result(self, metric: str, max_error_ratio: float) -> MetricFailures:
        top = self.causes.most_common(1)
        return MetricFailures(
            metric=metric,
            total=self.total,
            failed=sum(self.causes.values()),
            max_error_ratio=max_error_ratio,
            cause=top[0][0] if top else None,
            cause_items=top[0][1] if top else 0,
        )


@dataclass(frozen=True, slots=True)
class ReportData:
    """What the HTML report shows beyond the summary: score histograms and the worst rows."""

    histograms: dict[str, dict[str, list[int]]]
    """metric -> model -> counts per bin (0-100 in ``BINS`` bins)."""
    worst: list[dict[str, Any]]
    """The lowest-scoring (item, model) answers, failures first."""


def item_score(record: ItemRecord, model: str, max_score: float) -> float | None:
    """Mean of one answer's scores on 0-100 (rule metrics and the normalised judge score)."""
    result = record.models[model]
    values = [v * 100 for v in result.metrics.values()]
    if result.judge_score is not None:
        values.append(result.judge_score / max_score * 100)
    return math.fsum(values) / len(values) if values else None


def bin_of(value: float) -> int:
    return min(int(max(value, 0.0) / 100 * BINS), BINS - 1)


class ScoreAccumulator:
    """Everything the summary and report need, added batch by batch in output order."""

    def __init__(
        self,
        config: ScoringConfig,
        models: Sequence[str],
        metric_names: Sequence[str],
        pair: tuple[str, str] | None,
    ) -> None:
        self.config = config
        self.models = list(models)
        self.metric_names = list(metric_names)
        self.pair = pair
        self.items = 0
        self.tallies = {
            m: _ModelTally(means={n: ExactMean() for n in metric_names}) for m in models
        }
        self.judge_failures = FailureTally()
        self.gsb_failures = FailureTally()
        self.gsb = {"good": 0, "same": 0, "bad": 0, "failed": 0, "flipped": 0}
        self.histograms = {n: {m: [0] * BINS for m in models} for n in metric_names}
        self._worst: list[tuple[Any, ...]] = []
        self._seq = 0

    def add(self, records: Iterable[ItemRecord], pair_outcomes: Sequence[PairOutcome] = ()) -> None:
        """One batch of scored records and its pair outcomes (both in output order)."""
        max_score = self.config.judge.max_score
        judged = JUDGE in self.metric_names
        for record in records:
            self.items += 1
            for model, result in record.models.items():
                tally = self.tallies[model]
                if result.error is None:
                    tally.answered += 1
                    if judged:
                        self.judge_failures.add(_cause(result.judge_error, result.judge_cause))
                else:
                    tally.inference_failed += 1
                if result.judge_error:
                    tally.judge_failed += 1
                for name in self.metric_names:
                    if name == JUDGE:
                        if result.judge_score is None:
                            continue
                        value = result.judge_score / max_score * 100
                    elif name in result.metrics:
                        value = result.metrics[name] * 100
                    else:
                        continue
                    tally.means[name].add(value)
                    self.histograms[name][model][bin_of(value)] += 1
                self._consider_worst(record, model, max_score)
        for outcome in pair_outcomes:
            self.gsb_failures.add(_cause(outcome.gsb is None, outcome.cause))
            key = outcome.gsb if outcome.gsb is not None else "failed"
            self.gsb[key] += 1
            if outcome.flipped:
                self.gsb["flipped"] += 1

    def _consider_worst(self, record: ItemRecord, model: str, max_score: float) -> None:
        limit = self.config.worst_items
        if limit <= 0:
            return
        result = record.models[model]
        score = item_score(record, model, max_score)
        error = result.error or result.judge_error
        key = (error is None, score if score is not None else -1.0, self._seq)
        self._seq += 1
        inverted = (not key[0], -key[1], -key[2])
        if len(self._worst) >= limit and inverted <= self._worst[0][:3]:
            return  # not among the worst: skip building the row
        row = {
            "id": record.id,
            "model": model,
            "score": score,
            "input": record.input,
            "target": record.target,
            "answer": result.answer or "",
            "error": error,
            "reason": result.judge_reason or "",
        }
        entry = (*inverted, row)
        if len(self._worst) < limit:
            heapq.heappush(self._worst, entry)
        else:
            heapq.heapreplace(self._worst, entry)

    def gsb_counts(self) -> GsbCounts | None:
        if self.pair is None:
            return None
        swapped = self.config.pairwise.swap_positions
        return GsbCounts(
            good=self.gsb["good"],
            same=self.gsb["same"],
            bad=self.gsb["bad"],
            failed=self.gsb["failed"],
            flipped=self.gsb["flipped"] if swapped else None,
        )

    def failures(self) -> list[MetricFailures]:
        budget = self.config.judge.max_error_ratio
        found = []
        if JUDGE in self.metric_names:
            found.append(self.judge_failures.result(JUDGE, budget))
        if self.pair is not None:
            found.append(self.gsb_failures.result(GSB, budget))
        return found

    def summary(
        self,
        *,
        gsb: GsbCounts | bool | None = True,
        failures: Sequence[MetricFailures] | None = None,
    ) -> Summary:
        """The task summary (see ``aggregate`` for the definition). ``gsb`` and ``failures``
        replace what the pair outcomes added here say (``gsb=True``: those)."""
        config = self.config
        failures = self.failures() if failures is None else list(failures)
        gsb = self.gsb_counts() if gsb is True else (gsb or None)
        weights = default_weights(config, self.metric_names)
        over_budget = any(f.over_budget for f in failures)
        per_model: dict[str, dict[str, Any]] = {}
        means_by_model: dict[str, dict[str, float | None]] = {}
        for model in self.models if self.items else []:
            tally = self.tallies[model]
            means: dict[str, float | None] = {}
            counts: dict[str, int] = {}
            for name in self.metric_names:
                mean = tally.means[name].mean()
                means[name] = round(mean, 4) if mean is not None else None
                counts[name] = tally.means[name].count
            means_by_model[model] = means
            per_model[model] = {
                "totalScore": None if over_budget else _round(weighted_mean(means, weights)),
                "metrics": {k: v for k, v in means.items() if v is not None},
                "counts": {
                    "items": self.items,
                    "answered": tally.answered,
                    "inferenceFailed": tally.inference_failed,
                    "judgeFailed": tally.judge_failed,
                    "scored": counts,
                },
            }
            if model in config.model_ids:
                per_model[model]["modelId"] = config.model_ids[model]
        metrics: dict[str, float | None] = dict(task_metric_means(means_by_model))
        gsb_block: dict[str, Any] | None = None
        if gsb is not None and self.pair is not None:
            gsb_block = {
                "candidate": self.pair[0],
                "baseline": self.pair[1],
                "good": gsb.good,
                "same": gsb.same,
                "bad": gsb.bad,
                "failed": gsb.failed,
                "flipped": gsb.flipped,
                "net": round(gsb.net, 6),
            }
            if weights.get(GSB, 0) > 0:
                metrics[GSB] = round(gsb_as_score(gsb.net), 4)
        manual = None
        if config.enabled("manual"):
            dims = [d.model_dump(by_alias=True) for d in config.manual.eval_dimension]
            manual = {"dimensions": dims, "pending": True}
        return Summary(
            total_score=None if over_budget else _round(weighted_mean(metrics, weights)),
            metrics={k: v for k, v in metrics.items() if v is not None},
            per_model=per_model,
            gsb=gsb_block,
            counts={
                "items": self.items,
                "models": len(per_model),
                "judgeFailed": sum(m["counts"]["judgeFailed"] for m in per_model.values()),
                "inferenceFailed": sum(m["counts"]["inferenceFailed"] for m in per_model.values()),
            },
            manual=manual,
            weights={k: v for k, v in weights.items() if k in metrics},
            definition=DEFINITION,
            eval_mode=list(config.eval_mode),
            failures=[f.to_dict() for f in failures],
        )

    def report_data(self) -> ReportData:
        worst = sorted(self._worst, key=lambda e: (not e[0], -e[1], -e[2]))
        return ReportData(histograms=self.histograms, worst=[e[3] for e in worst])


def _cause(failed: object, cause: str | None) -> str | None:
    """A failed item's cause for the failure tally (None: the item succeeded)."""
    return (cause or "judge failed") if failed else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
