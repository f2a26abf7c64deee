"""Manual evaluation: annotators' scores in; per-dimension means and the updated summary out.

Pure functions shared by the console (progress, live means) and the runner's ``manual`` phase
(which writes them into ``summary.json``, ``scores.jsonl`` and the EvalTask status).

Definition (also appended to the summary's ``definition``):

- Every answer (item × model) is scored on each dimension — ``satisfaction`` first, then the
  task's declared ones (``spec.scoring.manual.evalDimension``, at most 4) — with an integer from
  1 to 5.
- A model's mean on a dimension is taken over the answers annotated on it and put on 0-100 as
  ``mean ÷ 5 × 100`` (as the judge score is ``÷ maxScore × 100``). It enters the model's
  metrics as ``manual.<dimension>``; the task's metric is the mean over models.
- Weights in totalScore: together the manual dimensions weigh 1, split equally (as the
  similarity metrics share theirs); ``weights.manual`` sets that total and
  ``weights["manual.<dimension>"]`` one dimension's weight (0 leaves it out).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from statistics import fmean
from typing import Any

from modeleval.scoring.aggregate import task_metric_means, weighted_mean
from modeleval.scoring.config import SATISFACTION
from modeleval.scoring.records import ItemRecord

PREFIX = "manual."
GROUP_WEIGHT = "manual"
SCALE_MIN = 1
SCALE_MAX = 5
DEFINITION = (
    " Manual dimensions (satisfaction and the declared ones) are scored 1-5 per answer; each "
    "dimension's mean over the annotated answers ÷5×100 enters as manual.<dimension>; together "
    "they weigh 1 (weights.manual), split equally unless weights['manual.<dimension>'] is set."
)

Scores = Mapping[str, Mapping[str, float]]
"""One item's annotation: ``{model: {dimension: score}}``."""


def metric_key(dimension: str) -> str:
    """The metric name of a manual dimension (``manual.satisfaction``)."""
    return PREFIX + dimension


def dimension_names(declared: Iterable[str]) -> list[str]:
    """``satisfaction`` first, then the declared dimensions in order, without repeats."""
    return list(dict.fromkeys([SATISFACTION, *declared]))


def check_score(value: object) -> int:
    """A score as an int in 1..5; ``ValueError`` (with the reason) otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"score must be an integer from {SCALE_MIN} to {SCALE_MAX}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(
            f"score {value!r} is not a number from {SCALE_MIN} to {SCALE_MAX}"
        ) from None
    if not number.is_integer() or not SCALE_MIN <= number <= SCALE_MAX:
        raise ValueError(f"score {value!r} is not an integer from {SCALE_MIN} to {SCALE_MAX}")
    return int(number)


def to_percent(mean: float) -> float:
    return round(mean / SCALE_MAX * 100, 4)


def dimension_means(
    annotations: Iterable[Scores], models: Sequence[str], dimensions: Sequence[str]
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, int]]]:
    """Per model and dimension: the mean on 0-100 and how many answers it is over.

    Models or dimensions nobody scored are absent from the means (and count 0).
    """
    values: dict[str, dict[str, list[float]]] = {m: {d: [] for d in dimensions} for m in models}
    for scores in annotations:
        for model, by_dimension in scores.items():
            if model not in values:
                continue
            for dimension, score in by_dimension.items():
                if dimension in values[model] and score is not None:
                    values[model][dimension].append(float(score))
    means = {
        model: {d: to_percent(fmean(v)) for d, v in dims.items() if v}
        for model, dims in values.items()
    }
    counts = {model: {d: len(v) for d, v in dims.items()} for model, dims in values.items()}
    return means, counts


def annotate_records(records: Sequence[ItemRecord], annotations: Mapping[str, Scores]) -> int:
    """Put each annotated item's scores into its record: the 1-5 scores as ``manual`` and,
    per model, ``score ÷ 5`` (0-1, like the rule metrics) as the ``manual.<dimension>``
    metric, so the report's distributions and worst items include them. Returns how many
    records were annotated (an empty annotation counts: no model answered that item)."""
    annotated = 0
    for record in records:
        scores = annotations.get(record.id)
        if scores is None:
            continue
        annotated += 1  # an empty annotation: looked at, nothing to score (no answer)
        record.manual = {m: {d: int(v) for d, v in dims.items()} for m, dims in scores.items()}
        for model, by_dimension in scores.items():
            result = record.models.get(model)
            if result is None:
                continue
            for dimension, value in by_dimension.items():
                result.metrics[metric_key(dimension)] = round(float(value) / SCALE_MAX, 6)
    return annotated


def manual_weights(dimensions: Sequence[str], weights: Mapping[str, float]) -> dict[str, float]:
    """The weight of each ``manual.<dimension>`` metric (see the module docstring)."""
    if not dimensions:
        return {}
    total = float(weights.get(GROUP_WEIGHT, 1.0))
    result = {metric_key(d): total / len(dimensions) for d in dimensions}
    for dimension in dimensions:
        key = metric_key(dimension)
        if key in weights:
            result[key] = float(weights[key])
    return result


def apply_manual(
    summary: Mapping[str, Any],
    *,
    dimensions: Sequence[Mapping[str, Any]],
    means: Mapping[str, Mapping[str, float]],
    counts: Mapping[str, Mapping[str, int]],
    weights: Mapping[str, float],
    annotated_items: int,
    items: int,
    completed_by: str | None = None,
) -> dict[str, Any]:
    """``summary`` (a ``summary.json`` document) with the manual means added.

    ``dimensions``: ``[{dimension, description}]``, satisfaction first. The per-model and task
    metrics gain ``manual.<dimension>``; every totalScore is recomputed from all metrics with
    the summary's weights plus the manual ones; ``manual`` says what was annotated.
    """
    names = [str(d["dimension"]) for d in dimensions]
    all_weights = {**(summary.get("weights") or {}), **manual_weights(names, weights)}
    # A judged metric over its error budget leaves no totalScore (scoring.failures).
    over_budget = any(f.get("overBudget") for f in summary.get("failures") or [])
    per_model: dict[str, dict[str, Any]] = {}
    model_means: dict[str, dict[str, float | None]] = {}
    for model, data in (summary.get("perModel") or {}).items():
        metrics = dict(data.get("metrics") or {})
        for dimension, value in (means.get(model) or {}).items():
            metrics[metric_key(dimension)] = value
        model_means[model] = dict(metrics)
        per_model[model] = {
            **data,
            "metrics": metrics,
            "totalScore": None if over_budget else _round(weighted_mean(metrics, all_weights)),
        }
    task_metrics: dict[str, float] = dict(summary.get("metrics") or {})
    manual_only = {
        model: {k: v for k, v in m.items() if k.startswith(PREFIX)}
        for model, m in model_means.items()
    }
    task_metrics.update(task_metric_means(manual_only))
    used = {k: v for k, v in all_weights.items() if k in task_metrics}
    definition = str(summary.get("definition") or "")
    if DEFINITION not in definition:
        definition += DEFINITION
    return {
        **summary,
        "totalScore": None if over_budget else _round(weighted_mean(task_metrics, all_weights)),
        "metrics": task_metrics,
        "perModel": per_model,
        "weights": used,
        "definition": definition.strip(),
        "manual": {
            "dimensions": [dict(d) for d in dimensions],
            "pending": False,
            "scale": [SCALE_MIN, SCALE_MAX],
            "annotatedItems": annotated_items,
            "items": items,
            "means": {model: dict(m) for model, m in means.items()},
            "counts": {model: dict(c) for model, c in counts.items()},
            "completedBy": completed_by,
        },
    }


def status_manual(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The runner's part of ``status.manual``: task means per dimension and the counts."""
    manual = summary.get("manual") or {}
    metrics = summary.get("metrics") or {}
    scores = {
        str(d["dimension"]): metrics[metric_key(str(d["dimension"]))]
        for d in manual.get("dimensions") or []
        if metric_key(str(d["dimension"])) in metrics
    }
    return {
        "scores": scores,
        "annotatedItems": manual.get("annotatedItems"),
        "items": manual.get("items"),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
