"""The scoring phase end to end: predictions in; scores.jsonl, summary.json, report.html out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from modeleval.redact import mask
from modeleval.scoring.aggregate import (
    DEFINITION,
    GSB,
    JUDGE,
    default_weights,
    gsb_as_score,
    model_metric_means,
    task_metric_means,
    weighted_mean,
)
from modeleval.scoring.config import ScoringConfig
from modeleval.scoring.failures import MetricFailures
from modeleval.scoring.judge import JudgeClient, gather_limited, judge_answer
from modeleval.scoring.pairwise import GsbCounts, PairOutcome, compare_pair
from modeleval.scoring.records import ItemRecord, Prediction, align_items, write_jsonl
from modeleval.scoring.report import write_report
from modeleval.scoring.rules import RuleScorer
from modeleval.scoring.summary import Summary

ProgressCallback = Callable[[int, int], None]
"""Called with (done, total) judge calls as they finish."""

SCORES_FILE = "scores.jsonl"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"


class ScoringConfigError(ValueError):
    """The configuration asks for something the inputs cannot provide (a permanent error)."""


def score_rules(records: list[ItemRecord], scorer: RuleScorer) -> None:
    """Fill every answered model result with the enabled rule metrics (0-1).

    One batched call (``RuleScorer.score_many``: the same values as ``score`` item by item,
    about twice as fast on large tasks).
    """
    slots = []
    pairs = []
    for record in records:
        for result in record.models.values():
            if result.error is None and result.answer is not None:
                slots.append(result)
                pairs.append((result.answer, record.target))
    for result, metrics in zip(slots, scorer.score_many(pairs), strict=True):
        result.metrics.update(metrics)


def gsb_pair(config: ScoringConfig, models: Sequence[str]) -> tuple[str, str] | None:
    """(candidate, baseline) when GSB is enabled; it needs a baseline and exactly two models."""
    if not config.pairwise_enabled:
        return None
    if config.baseline is None:
        raise ScoringConfigError("GSB needs a baseline model (isBaseline)")
    if config.baseline not in models:
        raise ScoringConfigError(
            f"baseline {config.baseline!r} is not one of the models {sorted(models)}"
        )
    if len(models) != 2:
        raise ScoringConfigError(f"GSB needs exactly two models, got {len(models)}")
    candidate = next(m for m in models if m != config.baseline)
    return candidate, config.baseline


async def score_with_judge(
    records: list[ItemRecord],
    config: ScoringConfig,
    judge: JudgeClient,
    pair: tuple[str, str] | None,
    progress: ProgressCallback | None = None,
) -> list[PairOutcome]:
    """Judge every answered (item, model) and, with a pair, compare it GSB-style.

    Returns the pair outcomes in item order (items without both answers are not compared).
    """
    jc = config.judge
    jobs: list[Callable[[], Awaitable[None]]] = []
    outcomes: dict[int, PairOutcome] = {}
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(jobs))

    def answer_job(record: ItemRecord, model: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            result = record.models[model]
            outcome = await judge_answer(
                judge,
                jc,
                question=record.input,
                reference=record.target,
                answer=result.answer or "",
            )
            result.judge_score, result.judge_error = outcome.score, outcome.error
            result.judge_cause = outcome.cause
            result.judge_reason = outcome.reason if outcome.error is None else None
            tick()

        return run

    def pair_job(
        index: int, record: ItemRecord, candidate: str, baseline: str
    ) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            outcome = await compare_pair(
                judge,
                jc,
                question=record.input,
                reference=record.target,
                candidate=record.models[candidate].answer or "",
                baseline=record.models[baseline].answer or "",
                swap=config.pairwise.swap_positions,
            )
            outcomes[index] = outcome
            record.gsb = {
                "candidate": candidate,
                "baseline": baseline,
                "verdicts": {
                    "candidateFirst": outcome.verdicts[0],
                    "baselineFirst": outcome.verdicts[1],
                },
                "reasons": list(outcome.reasons),
                "result": outcome.gsb,
                "flipped": outcome.flipped,
                "error": outcome.error,
                "cause": outcome.cause,
            }
            tick()

        return run

    judge_answers = config.enabled("model")
    for index, record in enumerate(records):
        for model, result in record.models.items():
            if judge_answers and result.error is None:
                jobs.append(answer_job(record, model))
        if pair is not None:
            candidate, baseline = pair
            if all(record.models[m].error is None for m in pair):
                jobs.append(pair_job(index, record, candidate, baseline))
            else:
                record.gsb = {
                    "candidate": candidate,
                    "baseline": baseline,
                    "result": None,
                    "error": "skipped: a model has no answer",
                }
    await gather_limited(jobs, jc.concurrency)
    return [outcomes[i] for i in sorted(outcomes)]


def metric_failures(
    records: list[ItemRecord],
    config: ScoringConfig,
    metric_names: Sequence[str],
    pair_outcomes: Sequence[PairOutcome] | None,
) -> list[MetricFailures]:
    """Failed items of the judged metrics (``judge``, ``gsb``), in item order.

    An answer whose inference failed is not a judge failure (the inference phase has its own
    budget): only answers the judge was asked about count.
    """
    budget = config.judge.max_error_ratio
    found: list[MetricFailures] = []
    if JUDGE in metric_names:
        causes = [
            (result.judge_cause or "judge failed") if result.judge_error else None
            for record in records
            for result in record.models.values()
            if result.error is None
        ]
        found.append(MetricFailures.count(JUDGE, causes, budget))
    if pair_outcomes is not None:
        pair_causes = [
            (o.cause or "judge failed") if o.gsb is None else None for o in pair_outcomes
        ]
        found.append(MetricFailures.count(GSB, pair_causes, budget))
    return found


def summarize(
    records: list[ItemRecord],
    config: ScoringConfig,
    metric_names: Sequence[str],
    gsb: GsbCounts | None,
    pair: tuple[str, str] | None,
    failures: Sequence[MetricFailures] = (),
) -> Summary:
    """Aggregate item records into the task summary (see ``aggregate`` for the definition).

    A metric over its error budget leaves the task (and every model) without a totalScore: the
    task fails, and a total without that metric would pass for the whole result.
    """
    weights = default_weights(config, metric_names)
    over_budget = any(f.over_budget for f in failures)
    per_model: dict[str, dict[str, Any]] = {}
    means_by_model: dict[str, dict[str, float | None]] = {}
    for model in dict.fromkeys(m for r in records for m in r.models):
        means, counts = model_metric_means(records, model, metric_names, config.judge.max_score)
        means_by_model[model] = means
        per_model[model] = {
            "totalScore": None if over_budget else _round(weighted_mean(means, weights)),
            "metrics": {k: v for k, v in means.items() if v is not None},
            "counts": {
                "items": len(records),
                "answered": sum(1 for r in records if r.models[model].error is None),
                "inferenceFailed": sum(1 for r in records if r.models[model].error is not None),
                "judgeFailed": sum(1 for r in records if r.models[model].judge_error),
                "scored": counts,
            },
        }
    metrics: dict[str, float | None] = dict(task_metric_means(means_by_model))
    gsb_block: dict[str, Any] | None = None
    if gsb is not None and pair is not None:
        gsb_block = {
            "candidate": pair[0],
            "baseline": pair[1],
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
            "items": len(records),
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


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


async def score_results(
    config: ScoringConfig,
    predictions_by_model: Mapping[str, Sequence[Prediction | Mapping[str, Any]]],
    out_dir: str | Path,
    judge_client: JudgeClient | None = None,
    *,
    progress: ProgressCallback | None = None,
    title: str = "modeleval report",
) -> Summary:
    """Score every model's predictions and write ``scores.jsonl``, ``summary.json`` and
    ``report.html`` into ``out_dir``.

    Raises :class:`ScoringConfigError` when judge mode has no ``judge_client`` or the GSB
    setup does not fit the models; per-item failures never raise (they are recorded).
    """
    preds = {
        model: [p if isinstance(p, Prediction) else Prediction.from_dict(p) for p in items]
        for model, items in predictions_by_model.items()
    }
    records = align_items(preds)
    pair = gsb_pair(config, list(preds))
    metric_names: list[str] = []
    if config.enabled("rule"):
        scorer = RuleScorer(config.rule)
        score_rules(records, scorer)
        metric_names.extend(scorer.metric_names)
    gsb: GsbCounts | None = None
    pair_outcomes: list[PairOutcome] | None = None
    if config.enabled("model") or pair is not None:
        if judge_client is None:
            raise ScoringConfigError(
                "judge scoring or GSB is enabled but no judge client is configured"
            )
        outcomes = await score_with_judge(records, config, judge_client, pair, progress)
        if config.enabled("model"):
            metric_names.append(JUDGE)
        if pair is not None:
            pair_outcomes = outcomes
            gsb = GsbCounts.tally(outcomes, swapped=config.pairwise.swap_positions)
    failures = metric_failures(records, config, metric_names, pair_outcomes)
    summary = summarize(records, config, metric_names, gsb, pair, failures)
    await asyncio.to_thread(write_outputs, Path(out_dir), summary, records, config, title)
    return summary


def write_outputs(
    out: Path, summary: Summary, records: list[ItemRecord], config: ScoringConfig, title: str
) -> None:
    """Write ``scores.jsonl``, ``summary.json`` and ``report.html`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / SCORES_FILE, records)
    (out / SUMMARY_FILE).write_text(
        mask(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2)), encoding="utf-8"
    )
    write_report(out / REPORT_FILE, summary, records, config, title=title)
