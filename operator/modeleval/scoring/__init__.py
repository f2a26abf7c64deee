"""Scoring of inference results: rule metrics, judge model, GSB pairwise, totalScore, report.

Public API (used by ``python -m modeleval.runner score``)::

    from modeleval.scoring import ScoringConfig, load_predictions_dir, score_results

    config = ScoringConfig.model_validate(task["spec"]["evalConfig"])  # camelCase fields
    summary = await score_results(config, load_predictions_dir(results / "predictions"),
                                  results, judge_client=judge)      # judge: JudgeClient
    summary.to_dict()        # what summary.json holds; summary.manual_pending for manual mode

Writes ``scores.jsonl``, ``summary.json`` and ``report.html`` into the output directory.
Modules: ``text`` (normalisation, CJK, stop words), ``choice`` (A/B/C/D extraction),
``rules`` (accuracy, ROUGE-L, BLEU, edit similarity), ``judge`` (prompt, retries),
``verdicts`` (the strict verdict formats a judge reply is read in), ``pairwise`` (GSB),
``failures`` (per-metric failed items and the error budget), ``aggregate`` (totalScore
definition), ``engine`` (orchestration), ``report``/``charts`` (HTML), ``http_judge``
(OpenAI-compatible judge client).

Errors: :class:`ScoringConfigError` for configurations the inputs cannot satisfy (e.g. judge
mode without a judge client, GSB without exactly two models); per-item failures never raise:
they are counted per metric (``Summary.failures``), and a metric over the error budget
(``Summary.over_budget``) leaves the task without a totalScore.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modeleval.scoring.aggregate import DEFINITION as TOTAL_SCORE_DEFINITION
    from modeleval.scoring.bleu import SentenceBleu
    from modeleval.scoring.choice import extract_choice
    from modeleval.scoring.config import (
        JudgeConfig,
        ManualConfig,
        NormalizationConfig,
        RuleConfig,
        ScoringConfig,
    )
    from modeleval.scoring.engine import ScoringConfigError, score_results
    from modeleval.scoring.failures import MetricFailures
    from modeleval.scoring.http_judge import JudgeHTTPError, OpenAIJudge
    from modeleval.scoring.judge import JudgeClient
    from modeleval.scoring.pairwise import GsbCounts
    from modeleval.scoring.records import Prediction, load_predictions_dir, read_predictions
    from modeleval.scoring.rules import RuleScorer, edit_similarity, rouge_l
    from modeleval.scoring.summary import Summary
    from modeleval.scoring.verdicts import JudgeParseError, PromptText, parse_score, parse_verdict

_HOME = {
    "TOTAL_SCORE_DEFINITION": ("aggregate", "DEFINITION"),
    "SentenceBleu": ("bleu", "SentenceBleu"),
    "extract_choice": ("choice", "extract_choice"),
    "JudgeConfig": ("config", "JudgeConfig"),
    "ManualConfig": ("config", "ManualConfig"),
    "NormalizationConfig": ("config", "NormalizationConfig"),
    "RuleConfig": ("config", "RuleConfig"),
    "ScoringConfig": ("config", "ScoringConfig"),
    "ScoringConfigError": ("engine", "ScoringConfigError"),
    "score_results": ("engine", "score_results"),
    "JudgeHTTPError": ("http_judge", "JudgeHTTPError"),
    "OpenAIJudge": ("http_judge", "OpenAIJudge"),
    "MetricFailures": ("failures", "MetricFailures"),
    "JudgeClient": ("judge", "JudgeClient"),
    "JudgeParseError": ("verdicts", "JudgeParseError"),
    "PromptText": ("verdicts", "PromptText"),
    "parse_score": ("verdicts", "parse_score"),
    "parse_verdict": ("verdicts", "parse_verdict"),
    "GsbCounts": ("pairwise", "GsbCounts"),
    "Prediction": ("records", "Prediction"),
    "load_predictions_dir": ("records", "load_predictions_dir"),
    "read_predictions": ("records", "read_predictions"),
    "RuleScorer": ("rules", "RuleScorer"),
    "edit_similarity": ("rules", "edit_similarity"),
    "rouge_l": ("rules", "rouge_l"),
    "Summary": ("summary", "Summary"),
}
"""Public name -> (module, attribute). Imported on first use: a scoring process loads only
what its metrics need (BLEU brings numpy and sacrebleu, the judge client aiohttp)."""


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _HOME[name]
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value
    return value


__all__ = [
    "TOTAL_SCORE_DEFINITION",
    "GsbCounts",
    "JudgeClient",
    "JudgeConfig",
    "JudgeHTTPError",
    "JudgeParseError",
    "ManualConfig",
    "MetricFailures",
    "NormalizationConfig",
    "OpenAIJudge",
    "Prediction",
    "PromptText",
    "RuleConfig",
    "RuleScorer",
    "ScoringConfig",
    "ScoringConfigError",
    "SentenceBleu",
    "Summary",
    "edit_similarity",
    "extract_choice",
    "load_predictions_dir",
    "parse_score",
    "parse_verdict",
    "read_predictions",
    "rouge_l",
    "score_results",
]
