"""Per-subset, per-category and overall scores, averaged as each reference harness reports them.

lm-eval (``aggregation="lm-eval"``): a subset's score is the mean of its items' verdicts; a
group's score is computed over all items of its subsets (``weight_by_size: true``), so the
overall **micro** average is the mean over all evaluated questions; the **macro** average is
the unweighted mean of the subset scores (``weight_by_size: false``). Categories are micro
within themselves, with their own macro beside.

EvalScope (``aggregation="evalscope"``): subset scores are rounded to 4 places first; a
category's score is the item-weighted mean of its rounded subset scores (rounded), its macro
the plain mean of them; the overall score is the item-weighted mean of the category scores,
the overall macro the plain mean of the category scores (categories, not subjects), each
rounded to 4 places.

Scores here are fractions (0-1); the status and reports show them x 100.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from modeleval.benchmarks.definitions import Benchmark, Variant


@dataclass(frozen=True, slots=True)
class GroupScore:
    name: str
    items: int
    scores: dict[str, float]
    """Metric -> score (micro within the group)."""
    macro: dict[str, float] = field(default_factory=dict)
    """Metric -> mean of its subsets' scores (categories only)."""
    category: str = ""
    """A subset's category."""


@dataclass(frozen=True, slots=True)
class BenchmarkResult:
    subsets: list[GroupScore]
    categories: list[GroupScore]
    micro: dict[str, float]
    """Overall score per metric (the headline one is totalScore / 100)."""
    macro: dict[str, float]
    items: int


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _weighted(groups: Sequence[GroupScore], metric: str) -> float:
    total = sum(g.items for g in groups)
    return sum(g.scores[metric] * g.items for g in groups) / total if total else 0.0


def aggregate(
    benchmark: Benchmark,
    variant: Variant,
    verdicts: Iterable[tuple[str, Mapping[str, float]]],
) -> BenchmarkResult:
    """Aggregate ``(subset, {metric: verdict})`` pairs of the scored items."""
    metrics = variant.metric_names
    by_subset: dict[str, list[Mapping[str, float]]] = {}
    for subset, scores in verdicts:
        by_subset.setdefault(subset, []).append(scores)
    order = [s for s in benchmark.subsets if s.name in by_subset]
    evalscope = variant.aggregation == "evalscope"

    def round4(value: float) -> float:
        return round(value, 4) if evalscope else value

    subsets = [
        GroupScore(
            name=s.name,
            items=len(by_subset[s.name]),
            scores={m: round4(_mean([v[m] for v in by_subset[s.name]])) for m in metrics},
            category=s.category,
        )
        for s in order
    ]
    names = list(benchmark.categories) + sorted(
        {s.category for s in subsets} - set(benchmark.categories)
    )
    categories = []
    for name in names:
        members = [s for s in subsets if s.category == name]
        if not members:
            continue
        if evalscope:
            scores = {m: round4(_weighted(members, m)) for m in metrics}
        else:
            scores = {m: _mean([v[m] for s in members for v in by_subset[s.name]]) for m in metrics}
        categories.append(
            GroupScore(
                name=name,
                items=sum(s.items for s in members),
                scores=scores,
                macro={m: round4(_mean([s.scores[m] for s in members])) for m in metrics},
            )
        )
    if evalscope:
        micro = {m: round4(_weighted(categories, m)) for m in metrics}
        macro = {m: round4(_mean([c.scores[m] for c in categories])) for m in metrics}
    else:
        micro = {m: _mean([v[m] for rows in by_subset.values() for v in rows]) for m in metrics}
        macro = {m: _mean([s.scores[m] for s in subsets]) for m in metrics}
    return BenchmarkResult(
        subsets=subsets,
        categories=categories,
        micro=micro,
        macro=macro,
        items=sum(s.items for s in subsets),
    )
