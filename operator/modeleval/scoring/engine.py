"""The scoring phase end to end: predictions in; scores.jsonl, summary.json, report.html out.

Records are scored a batch at a time (rule metrics batched, judge calls ``concurrency`` at a
time) and written as they are done; :class:`~modeleval.scoring.accumulate.ScoreAccumulator`
keeps what the summary and the report need. Memory does not grow with the number of items:
:func:`score_prediction_files` reads the predictions files in dataset order a bucket at a time
(:mod:`modeleval.scoring.ordered`); :func:`score_results` scores predictions already in memory
the same way.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from modeleval.redact import mask
from modeleval.scoring.accumulate import ScoreAccumulator
from modeleval.scoring.aggregate import JUDGE
from modeleval.scoring.config import ScoringConfig
from modeleval.scoring.failures import MetricFailures
from modeleval.scoring.judge import JudgeClient, gather_limited, judge_answer
from modeleval.scoring.judgments import (
    JudgmentWriter,
    answer_line,
    compared,
    fingerprint,
    judged,
    pair_line,
    pair_outcome,
)
from modeleval.scoring.ordered import (
    BUCKET,
    OrderedPredictions,
    PredictionsError,
    order_predictions,
)
from modeleval.scoring.pairwise import GsbCounts, PairOutcome, compare_pair
from modeleval.scoring.records import ItemRecord, Prediction, align_items
from modeleval.scoring.report import write_report_data
from modeleval.scoring.rules import RuleScorer
from modeleval.scoring.summary import Summary

ProgressCallback = Callable[[int, int], None]
"""Called with (done, total) judge calls as they finish."""

SCORES_FILE = "scores.jsonl"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"


NO_JUDGE = "judge scoring or GSB is enabled but no judge client is configured"


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
    *,
    on_call_done: Callable[[], None] | None = None,
    on_judged: Callable[[ItemRecord, str | None], None] | None = None,
) -> list[PairOutcome]:
    """Judge every answered (item, model) and, with a pair, compare it GSB-style.

    Returns the pair outcomes in item order (items without both answers are not compared).
    An answer or pair that already has a verdict (kept from an earlier call,
    :mod:`modeleval.scoring.judgments`) is not asked again. ``progress(done, total)`` counts
    this call's judge jobs; ``on_call_done`` is called once per finished job (a caller scoring
    batch after batch counts them itself); ``on_judged(record, model)`` after each new verdict
    (``model`` None: the pair's comparison).
    """
    jc = config.judge
    jobs: list[Callable[[], Awaitable[None]]] = []
    outcomes: dict[int, PairOutcome] = {}
    done = 0

    def tick(record: ItemRecord, model: str | None) -> None:
        nonlocal done
        done += 1
        if on_judged is not None:
            on_judged(record, model)
        if progress is not None:
            progress(done, len(jobs))
        if on_call_done is not None:
            on_call_done()

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
            tick(record, model)

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
            tick(record, None)

        return run

    judge_answers = config.enabled("model")
    for index, record in enumerate(records):
        for model, result in record.models.items():
            if judge_answers and result.error is None and not judged(result):
                jobs.append(answer_job(record, model))
        if pair is not None:
            candidate, baseline = pair
            if all(record.models[m].error is None for m in pair):
                if compared(record):
                    outcomes[index] = pair_outcome(record)
                else:
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
    pair = ("", "") if pair_outcomes is not None else None
    accumulator = ScoreAccumulator(config, _models_of(records), metric_names, pair)
    accumulator.add(records, pair_outcomes or ())
    return accumulator.failures()


def summarize(
    records: list[ItemRecord],
    config: ScoringConfig,
    metric_names: Sequence[str],
    gsb: GsbCounts | None,
    pair: tuple[str, str] | None,
    failures: Sequence[MetricFailures] = (),
) -> Summary:
    """Aggregate item records held in memory into the task summary (see ``aggregate`` for the
    definition; :class:`ScoreAccumulator` does the counting for both this and the streaming
    path).

    A metric over its error budget leaves the task (and every model) without a totalScore: the
    task fails, and a total without that metric would pass for the whole result.
    """
    accumulator = ScoreAccumulator(config, _models_of(records), metric_names, pair)
    accumulator.add(records)
    return accumulator.summary(gsb=gsb if pair is not None else None, failures=failures)


def _models_of(records: Iterable[ItemRecord]) -> list[str]:
    return list(dict.fromkeys(m for r in records for m in r.models))


def judge_jobs(
    records: Iterable[ItemRecord], config: ScoringConfig, pair: tuple[str, str] | None
) -> int:
    """How many judge calls scoring ``records`` takes (answers judged, pairs compared)."""
    total = 0
    for record in records:
        if config.enabled("model"):
            total += sum(1 for result in record.models.values() if result.error is None)
        if pair is not None and all(record.models[m].error is None for m in pair):
            total += 1
    return total


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
    ``report.html`` into ``out_dir``; records in order of first appearance.

    Raises :class:`ScoringConfigError` when judge mode has no ``judge_client`` or the GSB
    setup does not fit the models; per-item failures never raise (they are recorded).
    """
    preds = {
        model: [p if isinstance(p, Prediction) else Prediction.from_dict(p) for p in items]
        for model, items in predictions_by_model.items()
    }
    records = align_items(preds)
    pair = gsb_pair(config, list(preds))
    calls = judge_jobs(records, config, pair) if _judged(config, pair) else 0
    keyed = list(enumerate(records))
    batches = (keyed[i : i + BUCKET] for i in range(0, len(keyed), BUCKET))
    return await score_batches(
        config, list(preds), batches, Path(out_dir), judge_client,
        pair=pair, judge_calls=calls, progress=progress, title=title,
    )  # fmt: skip


async def score_prediction_files(
    config: ScoringConfig,
    files_by_model: Mapping[str, Sequence[Path]],
    out_dir: str | Path,
    judge_client: JudgeClient | None = None,
    *,
    progress: ProgressCallback | None = None,
    title: str = "modeleval report",
    spill_dir: Path | None = None,
    judgments: Sequence[Path] = (),
    keep_judgments: Path | None = None,
    judge_model: str = "",
) -> Summary:
    """Score predictions files (several per model for a sharded run) in dataset order, in
    memory that does not grow with their size; writes what :func:`score_results` writes.

    ``spill_dir``: where the ordering pass may keep temporary files (default ``$TMPDIR``).
    ``judgments``: files of verdicts kept earlier (a judge phase's shards, an earlier attempt)
    whose answers the judge is not asked again; ``keep_judgments``: the file each new verdict
    is appended to; ``judge_model``: the judge model's name (part of what a verdict answered).
    """
    models = list(files_by_model)
    pair = gsb_pair(config, models)
    if _judged(config, pair) and judge_client is None:
        raise ScoringConfigError(NO_JUDGE)
    fp = fingerprint(config, judge_model)
    try:
        ordered = await asyncio.to_thread(
            order_predictions, files_by_model, spill_dir=spill_dir, pair=pair,
            judgments=judgments, fingerprint=fp,
        )  # fmt: skip
    except PredictionsError as exc:
        raise ScoringConfigError(str(exc)) from None
    writer = JudgmentWriter(keep_judgments) if keep_judgments is not None else None
    try:
        with ordered:
            calls = judge_calls_of(ordered, config, pair)
            return await score_batches(
                config, models, _in_thread(ordered.keyed_batches()), Path(out_dir),
                judge_client, pair=pair, judge_calls=calls, progress=progress, title=title,
                on_judged=keeper(writer, fp, pair),
            )  # fmt: skip
    finally:
        if writer is not None:
            writer.close()


def judge_calls_of(
    ordered: OrderedPredictions,
    config: ScoringConfig,
    pair: tuple[str, str] | None,
    owns: Callable[[int], bool] | None = None,
) -> int:
    """The judge calls the records of ``ordered`` take (of the keys ``owns`` accepts)."""
    calls = 0
    if config.enabled("model"):
        for mark in ordered.marks.values():
            calls += sum(1 for key, x in enumerate(mark) if x and (owns is None or owns(key)))
    if pair is not None:
        a, b = (ordered.marks.get(m, bytearray()) for m in pair)
        calls += sum(
            1 for key, (x, y) in enumerate(zip(a, b, strict=False))
            if x and y and (owns is None or owns(key))
        )  # fmt: skip
    return calls


OnJudged = Callable[[int, ItemRecord, str | None], None]
"""Called with (key, record, model) after each new verdict (model None: the pair's)."""


def keeper(writer: JudgmentWriter | None, fp: str, pair: tuple[str, str] | None) -> OnJudged | None:
    """An ``on_judged`` that appends each new verdict to ``writer``'s file."""
    if writer is None:
        return None

    def keep(key: int, record: ItemRecord, model: str | None) -> None:
        if model is not None:
            writer.write(answer_line(key, record, model, fp))
        elif pair is not None:
            writer.write(pair_line(key, record, pair, fp))

    return keep


async def _in_thread(batches: Iterator[Any]) -> Any:
    """An async iterator over ``batches`` whose reads (files, JSON) run in a worker thread."""
    end = object()
    while True:
        batch = await asyncio.to_thread(next, batches, end)
        if batch is end:
            return
        yield batch


def _judged(config: ScoringConfig, pair: tuple[str, str] | None) -> bool:
    return config.enabled("model") or pair is not None


def kept_calls(
    records: Iterable[ItemRecord], config: ScoringConfig, pair: tuple[str, str] | None
) -> int:
    """Judge calls ``records`` need no more: their verdicts were kept from earlier."""
    kept = 0
    for record in records:
        if config.enabled("model"):
            kept += sum(1 for r in record.models.values() if r.error is None and judged(r))
        if pair is not None and compared(record):
            kept += 1
    return kept


async def score_batches(
    config: ScoringConfig,
    models: Sequence[str],
    batches: Iterable[list[tuple[int, ItemRecord]]] | Any,
    out: Path,
    judge_client: JudgeClient | None,
    *,
    pair: tuple[str, str] | None,
    judge_calls: int = 0,
    progress: ProgressCallback | None = None,
    title: str = "modeleval report",
    on_judged: OnJudged | None = None,
) -> Summary:
    """Score batches of ``(key, record)`` in output order; write the outputs; the summary.

    ``batches``: an iterable or async iterable. ``judge_calls``: how many judge calls there
    are (the ``total`` given to ``progress``; verdicts kept from earlier count as done).
    """
    metric_names: list[str] = []
    scorer: RuleScorer | None = None
    if config.enabled("rule"):
        scorer = RuleScorer(config.rule)
        metric_names.extend(scorer.metric_names)
    judged_mode = _judged(config, pair)
    if judged_mode:
        if judge_client is None:
            raise ScoringConfigError(NO_JUDGE)
        if config.enabled("model"):
            metric_names.append(JUDGE)
    accumulator = ScoreAccumulator(config, models, metric_names, pair)
    done = 0

    def call_done() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, judge_calls)

    partial = out / f".{SCORES_FILE}.partial"
    scores = await asyncio.to_thread(_open_partial, partial)
    try:
        async for keyed in _each(batches):
            batch = [record for _, record in keyed]
            if scorer is not None:
                score_rules(batch, scorer)
            outcomes: list[PairOutcome] = []
            if judged_mode:
                assert judge_client is not None
                done += kept_calls(batch, config, pair)
                hook = _by_key(on_judged, keyed)
                outcomes = await score_with_judge(
                    batch, config, judge_client, pair, on_call_done=call_done, on_judged=hook
                )
            accumulator.add(batch, outcomes)
            await asyncio.to_thread(_write_records, scores, batch)
    finally:
        await asyncio.to_thread(scores.close)
    summary = accumulator.summary()
    await asyncio.to_thread(_finish_outputs, out, partial, summary, accumulator, config, title)
    return summary


def _by_key(
    on_judged: OnJudged | None, keyed: list[tuple[int, ItemRecord]]
) -> Callable[[ItemRecord, str | None], None] | None:
    """``on_judged`` given each record's key (``score_with_judge`` knows only records)."""
    if on_judged is None:
        return None
    keys = {id(record): key for key, record in keyed}
    return lambda record, model: on_judged(keys[id(record)], record, model)


def _open_partial(partial: Path) -> IO[str]:
    partial.parent.mkdir(parents=True, exist_ok=True)
    return partial.open("w", encoding="utf-8")


async def _each(batches: Iterable[list[ItemRecord]] | Any) -> Any:
    if hasattr(batches, "__aiter__"):
        async for batch in batches:
            yield batch
    else:
        for batch in batches:
            yield batch


def _write_records(fh: IO[str], records: Iterable[ItemRecord]) -> None:
    for record in records:
        fh.write(mask(json.dumps(record.to_dict(), ensure_ascii=False)) + "\n")


def _finish_outputs(
    out: Path,
    partial: Path,
    summary: Summary,
    accumulator: ScoreAccumulator,
    config: ScoringConfig,
    title: str,
) -> None:
    os.replace(partial, out / SCORES_FILE)
    (out / SUMMARY_FILE).write_text(
        mask(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2)), encoding="utf-8"
    )
    write_report_data(out / REPORT_FILE, summary, accumulator.report_data(), config, title=title)
