"""From item records to the task's numbers: metric means, per-model scores and totalScore.

Definition of totalScore (also written into ``summary.json`` as ``definition``):

- Every metric is first averaged over the items that were scored (items whose inference or
  judge call failed are left out and counted; a judged metric with more than the error budget
  of failed items leaves the task without a totalScore, see ``failures``) and put on a 0-100
  scale: rule metrics
  (0-1 per item) ×100; the judge score ÷ maxScore ×100.
- A model's totalScore is the weighted mean of its metric means. Default weights give each
  enabled *mode* the same say: ``accuracy`` 1, ``judge`` 1, and the similarity metrics
  (``rougeL``, ``bleu``, ``editDistance``) share a weight of 1 equally. ``weights`` in the
  config overrides any of these (0 removes a metric).
- The task's ``metrics`` are the means over models of the per-model metric means; the task's
  totalScore is their weighted mean, plus GSB's net score mapped to 0-100,
  ``(net + 1) / 2 × 100``, only when a ``gsb`` weight is configured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from statistics import fmean

from modeleval.scoring.config import ScoringConfig
from modeleval.scoring.records import ItemRecord

JUDGE = "judge"
GSB = "gsb"
SIMILARITY_METRICS = ("rougeL", "bleu", "editDistance")

DEFINITION = (
    "totalScore = weighted mean of the enabled metric means on a 0-100 scale. Rule metrics "
    "(accuracy, rougeL, bleu, editDistance; 0-1 per item) are averaged and ×100; the judge "
    "score is averaged and ÷maxScore×100. Default weights: accuracy 1, judge 1, the "
    "similarity metrics share 1 equally; configurable per metric via weights. Items whose "
    "inference or judge call failed are excluded from a metric's mean and counted; when more "
    "than scoring.judge.client.maxErrorRatio of a judged metric's items (judge, gsb) failed, "
    "the task fails and reports no totalScore. Task "
    "metrics are means over models of per-model means. GSB adds (net+1)/2×100 only when "
    "weights.gsb is set; net = (G-B)/(G+S+B)."
)


def default_weights(config: ScoringConfig, metric_names: Iterable[str]) -> dict[str, float]:
    """Weights used for totalScore: defaults overridden by ``config.weights``."""
    names = list(metric_names)
    similarity = [n for n in names if n in SIMILARITY_METRICS]
    weights: dict[str, float] = {}
    for name in names:
        weights[name] = 1.0 / len(similarity) if name in SIMILARITY_METRICS else 1.0
    weights.update(config.weights)
    return weights


def weighted_mean(values: Mapping[str, float | None], weights: Mapping[str, float]) -> float | None:
    """Weighted mean over metrics that have a value and a positive weight."""
    pairs = [(v, weights.get(k, 0.0)) for k, v in values.items() if v is not None]
    pairs = [(v, w) for v, w in pairs if w > 0]
    total_weight = sum(w for _, w in pairs)
    if not total_weight:
        return None
    return sum(v * w for v, w in pairs) / total_weight


def model_metric_means(
    records: list[ItemRecord], model: str, metric_names: Iterable[str], max_score: float
) -> tuple[dict[str, float | None], dict[str, int]]:
    """Per-metric means (0-100) for one model and how many items each mean is over."""
    means: dict[str, float | None] = {}
    counts: dict[str, int] = {}
    for name in metric_names:
        if name == JUDGE:
            judged = (r.models[model].judge_score for r in records)
            values = [s / max_score * 100 for s in judged if s is not None]
        else:
            values = [
                r.models[model].metrics[name] * 100
                for r in records
                if name in r.models[model].metrics
            ]
        means[name] = round(fmean(values), 4) if values else None
        counts[name] = len(values)
    return means, counts


def task_metric_means(per_model: Mapping[str, Mapping[str, float | None]]) -> dict[str, float]:
    """Mean over models of each metric's per-model mean (models without a value skipped)."""
    names = dict.fromkeys(n for means in per_model.values() for n in means)
    result: dict[str, float] = {}
    for name in names:
        values = [m[name] for m in per_model.values() if m.get(name) is not None]
        if values:
            result[name] = round(fmean(v for v in values if v is not None), 4)
    return result


def gsb_as_score(net: float) -> float:
    """GSB net score in [-1, 1] mapped to 0-100."""
    return (net + 1) / 2 * 100
