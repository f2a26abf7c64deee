"""A benchmark task's scoring: predictions in; scores.jsonl, summary.json, report.html out.

Every predictions line of a benchmark item carries what scoring needs (``benchmark``: subset,
gold, reference, the scored choice strings; ``logprobs`` for log-likelihood items), so the
benchmark's files are not read again. An item whose inference failed (error after retries, or
an unusable answer) is left out of every average and counted as ``excluded``; the inference
phase's error budget (``maxErrorRatio``) already failed the task if there were too many.

totalScore (per model) is the benchmark's headline metric over all scored items (micro
average, as the harnesses report it) x 100; the task's totalScore is the mean over models.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modeleval.benchmarks.aggregate import BenchmarkResult, GroupScore, aggregate
from modeleval.benchmarks.definitions import LOGLIKELIHOOD, Benchmark, Variant
from modeleval.benchmarks.metrics import generation_scores, likelihood_scores


def read_records(paths: Path | Sequence[Path]) -> list[dict[str, Any]]:
    """A model's predictions files (one, or one per shard); blank lines skipped. Per id an
    answer wins over a failure, otherwise the last line wins (as the runner's checkpoint and
    the scoring reader do)."""
    by_id: dict[str, dict[str, Any]] = {}
    for path in [paths] if isinstance(paths, Path) else paths:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                record = json.loads(line)
                key = str(record["id"])
                kept = by_id.get(key)
                if kept is not None and kept.get("error") is None and record.get("error"):
                    continue
                by_id[key] = record
    return list(by_id.values())


@dataclass(frozen=True, slots=True)
class ItemScore:
    id: str
    subset: str
    question: str
    target: str
    answer: str | None
    scores: dict[str, float] = field(default_factory=dict)
    extracted: dict[str, str] = field(default_factory=dict)
    logprobs: list[float] | None = None
    error: str | None = None


def score_record(variant: Variant, record: Mapping[str, Any]) -> ItemScore:
    """One predictions line -> its verdicts (or why it is excluded)."""
    meta = record.get("benchmark") or {}
    output = record.get("output")

    def item(**outcome: Any) -> ItemScore:
        return ItemScore(
            id=str(record["id"]),
            subset=str(meta.get("subset", "")),
            question=str(record.get("input") or ""),
            target=str(record.get("target") or ""),
            answer=None if output is None else str(output),
            **outcome,
        )

    if record.get("error") or output is None:
        return item(error=str(record.get("error") or "no output"))
    if not meta:
        return item(error="not a benchmark item (no 'benchmark' field)")
    if variant.mode == LOGLIKELIHOOD:
        logprobs = [float(pair[0]) for pair in record.get("logprobs") or []]
        if len(logprobs) != len(meta["choices"]):
            return item(error="log-likelihoods missing")
        scores = likelihood_scores(
            logprobs, meta["choices"], int(meta["gold"]), variant.likelihood_metrics
        )
        return item(scores=scores, logprobs=logprobs)
    scores, extracted = generation_scores(
        str(output),
        str(meta["reference"]),
        variant.generation_metrics,
        int(meta.get("options") or 0),
    )
    return item(scores=scores, extracted=extracted)


@dataclass(frozen=True, slots=True)
class ModelResult:
    model: str
    items: list[ItemScore]
    result: BenchmarkResult
    headline: str

    @property
    def excluded(self) -> int:
        return sum(1 for item in self.items if item.error is not None)

    @property
    def total_score(self) -> float | None:
        if not self.result.items:
            return None
        return round(self.result.micro[self.headline] * 100, 4)


def _pct(scores: Mapping[str, float]) -> dict[str, float]:
    return {k: round(v * 100, 4) for k, v in scores.items()}


def _group_scores(group: GroupScore) -> dict[str, Any]:
    """What a subset and a category entry share: name, items scored and scores."""
    return {"name": group.name, "items": group.items, "scores": _pct(group.scores)}


def _subset(subset: GroupScore) -> dict[str, Any]:
    """One ``subsets[]`` entry (``evaltask_status.SubsetScores``): a subject and its category."""
    out = _group_scores(subset)
    if subset.category:
        out["category"] = subset.category
    return out


def _category(category: GroupScore) -> dict[str, Any]:
    """One ``categories[]`` entry (``evaltask_status.CategoryScores``): with its macro."""
    out = _group_scores(category)
    if category.macro:
        out["macro"] = _pct(category.macro)
    return out


@dataclass(frozen=True, slots=True)
class BenchmarkSummary:
    """Scores of a benchmark task (``summary.json`` and the status fields)."""

    benchmark: Benchmark
    variant: Variant
    shots: int
    models: list[ModelResult]

    @property
    def definition(self) -> str:
        return (
            f"{self.benchmark.title} ({self.variant.reference}, {self.shots}-shot, "
            f"{self.variant.mode}): totalScore = {self.variant.headline}, "
            f"{self.benchmark.total_score}. Items whose inference failed are excluded and "
            "counted; with several models the task's totalScore is their mean."
        )

    @property
    def total_score(self) -> float | None:
        scores = [m.total_score for m in self.models if m.total_score is not None]
        return round(sum(scores) / len(scores), 4) if scores else None

    def metrics(self) -> dict[str, float]:
        scored = [m for m in self.models if m.result.items]
        names = self.variant.metric_names
        return {
            name: round(sum(m.result.micro[name] for m in scored) / len(scored) * 100, 4)
            for name in names
            if scored
        }

    def run_info(self) -> dict[str, Any]:
        return {
            "name": self.benchmark.name,
            "mode": self.variant.mode,
            "fewShot": self.shots,
            "metric": self.variant.headline,
            "reference": self.variant.reference,
        }

    def model_block(self, model: ModelResult) -> dict[str, Any]:
        return {
            "totalScore": model.total_score,
            "metrics": _pct(model.result.micro) if model.result.items else {},
            "macro": _pct(model.result.macro) if model.result.items else {},
            "subsets": [_subset(s) for s in model.result.subsets],
            "categories": [_category(c) for c in model.result.categories],
            "counts": {
                "items": len(model.items),
                "scored": model.result.items,
                "excluded": model.excluded,
            },
        }

    def to_dict(self) -> dict[str, Any]:
        """``summary.json``."""
        return {
            "totalScore": self.total_score,
            "metrics": self.metrics(),
            "perModel": {m.model: self.model_block(m) for m in self.models},
            "gsb": None,
            "counts": {
                "items": max((len(m.items) for m in self.models), default=0),
                "models": len(self.models),
                "inferenceFailed": sum(m.excluded for m in self.models),
                "judgeFailed": 0,
            },
            "manual": None,
            "weights": {self.variant.headline: 1.0},
            "definition": self.definition,
            "evalMode": ["benchmark"],
            "benchmark": self.run_info(),
        }

    def status_patch(self) -> dict[str, Any]:
        """``status.totalScore`` and ``status.scores`` (``modeleval.api.evaltask_status``)."""
        per_model = []
        for model in self.models:
            block = self.model_block(model)
            per_model.append(
                {
                    "model": model.model,
                    "totalScore": block["totalScore"],
                    "metrics": block["metrics"],
                    "macro": block["macro"],
                    "subsets": block["subsets"],
                    "categories": block["categories"],
                }
            )
        return {
            "totalScore": self.total_score,
            "scores": {
                "metrics": self.metrics(),
                "perModel": per_model,
                "scored": sum(m.result.items for m in self.models),
                "excluded": sum(m.excluded for m in self.models),
                "definition": self.definition,
                "benchmark": self.run_info(),
            },
        }


def score_models(
    benchmark: Benchmark,
    variant: Variant,
    shots: int,
    records_by_model: Mapping[str, Sequence[Mapping[str, Any]]],
) -> BenchmarkSummary:
    models = []
    for name, records in records_by_model.items():
        items = [score_record(variant, record) for record in records]
        result = aggregate(
            benchmark, variant, ((i.subset, i.scores) for i in items if i.error is None)
        )
        models.append(ModelResult(name, items, result, variant.headline))
    return BenchmarkSummary(benchmark, variant, shots, models)
