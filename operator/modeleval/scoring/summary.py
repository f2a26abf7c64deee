"""The task-level result of scoring, as written to ``summary.json`` and patched into status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Summary:
    """Scores of one EvalTask. All scores are on a 0-100 scale.

    ``to_dict()`` is the ``summary.json`` document (camelCase keys):
    ``totalScore``, ``metrics`` ({metric: mean}), ``perModel`` ({model: {totalScore, metrics,
    counts; modelId for an existing result set that names its model}}), ``gsb`` ({candidate,
    baseline, good, same, bad, failed, flipped, net} or null),
    ``counts``, ``manual`` ({dimensions: [{dimension, description}], pending: true} when
    manual evaluation is on, else null), ``weights``, ``definition``, ``evalMode``,
    ``failures`` (one entry per judged metric: {metric, total, failed, maxErrorRatio,
    overBudget, cause, causeItems}; see :mod:`modeleval.scoring.failures`).
    """

    total_score: float | None
    """Weighted mean of the task's metric means; None when nothing could be scored or a
    metric is over its error budget."""
    metrics: dict[str, float]
    per_model: dict[str, dict[str, Any]]
    gsb: dict[str, Any] | None
    counts: dict[str, int]
    manual: dict[str, Any] | None
    weights: dict[str, float]
    definition: str
    eval_mode: list[str] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def over_budget(self) -> list[dict[str, Any]]:
        """The ``failures`` entries of metrics over the error budget (the task fails)."""
        return [f for f in self.failures if f.get("overBudget")]

    @property
    def manual_pending(self) -> bool:
        """True when humans still have to annotate (the task goes RunningWithManualBegin)."""
        return bool(self.manual and self.manual.get("pending"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "totalScore": self.total_score,
            "metrics": self.metrics,
            "perModel": self.per_model,
            "gsb": self.gsb,
            "counts": self.counts,
            "manual": self.manual,
            "weights": self.weights,
            "definition": self.definition,
            "evalMode": self.eval_mode,
            "failures": self.failures,
        }

    def status_patch(self) -> dict[str, Any]:
        """The runner-owned EvalTask status fields: ``totalScore``, ``scores``, ``gsb``.

        Shapes follow ``modeleval.api.evaltask_status`` (``scores.perModel`` is a list).
        ``scores.failures`` is always written (empty without judged metrics), so a merge patch
        replaces whatever an earlier run left there; the operator reads it when the scoring
        Job is complete.
        """
        excluded = self.counts.get("judgeFailed", 0) + self.counts.get("inferenceFailed", 0)
        patch: dict[str, Any] = {
            "totalScore": self.total_score,
            "scores": {
                "metrics": self.metrics,
                "perModel": [_model_scores(name, data) for name, data in self.per_model.items()],
                "scored": sum(d["counts"]["answered"] for d in self.per_model.values()),
                "excluded": excluded,
                "definition": self.definition,
                "failures": self.failures,
            },
        }
        if self.gsb is not None:
            patch["gsb"] = {
                "candidate": self.gsb["candidate"],
                "baseline": self.gsb["baseline"],
                "good": self.gsb["good"],
                "same": self.gsb["same"],
                "bad": self.gsb["bad"],
                "failed": self.gsb["failed"],
                "flipped": self.gsb["flipped"],
                "netScore": self.gsb["net"],
            }
        return patch


def _model_scores(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """One ``status.scores.perModel[]`` entry (``evaltask_status.ModelScores``)."""
    entry = {"model": name, "totalScore": data["totalScore"], "metrics": data["metrics"]}
    if data.get("modelId"):
        entry["modelId"] = data["modelId"]
    return entry
