"""The manual phase: ``python -m modeleval.runner manual``, after the console's completion.

Fetches the task's annotations from the console, puts each item's scores into
``scores.jsonl`` (raw 1-5 as ``manual``, ÷5 as the ``manual.<dimension>`` metrics), adds the
per-dimension means to ``summary.json`` (recomputing every totalScore with the manual weights,
see ``modeleval.scoring.manual``), rewrites ``report.html``, patches the task's
``status.totalScore``, ``status.scores`` and ``status.manual`` and sends the results back to the
console. A task scored by rules or a judge first keeps those metrics; a manual-only task gets
its ``scores.jsonl`` and summary here from the predictions.

Exit codes as every phase: 0 done; 1 failed (no console configured, console unreachable or
refusing, no predictions) with the reason in the termination log — the Job retries.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modeleval.runner.console import ConsoleError, ConsoleTarget, fetch_annotations, send_results
from modeleval.runner.exits import EXIT_FAILED, EXIT_OK, write_termination_message
from modeleval.runner.score import (
    StatusSink,
    _patch,
    load_task_predictions,
    scoring_config,
)
from modeleval.scoring.config import ScoringConfig
from modeleval.scoring.engine import (
    REPORT_FILE,
    SCORES_FILE,
    SUMMARY_FILE,
    ScoringConfigError,
    summarize,
)
from modeleval.scoring.manual import annotate_records, apply_manual, dimension_means, status_manual
from modeleval.scoring.records import ItemRecord, align_items, read_jsonl, write_jsonl
from modeleval.scoring.report import write_report
from modeleval.scoring.summary import Summary

log = logging.getLogger("modeleval.runner.manual")


def summary_from_dict(data: Mapping[str, Any]) -> Summary:
    return Summary(
        total_score=data.get("totalScore"),
        metrics=dict(data.get("metrics") or {}),
        per_model=dict(data.get("perModel") or {}),
        gsb=data.get("gsb"),
        counts=dict(data.get("counts") or {}),
        manual=data.get("manual"),
        weights=dict(data.get("weights") or {}),
        definition=str(data.get("definition") or ""),
        eval_mode=list(data.get("evalMode") or []),
        failures=list(data.get("failures") or []),
    )


def _records(
    spec: Mapping[str, Any], results: Path, config: ScoringConfig
) -> tuple[list[ItemRecord], dict[str, Any]]:
    """Item records and the summary so far: from scoring when it ran, else from predictions."""
    scores, summary = results / SCORES_FILE, results / SUMMARY_FILE
    if scores.exists() and summary.exists():
        return read_jsonl(scores), json.loads(summary.read_text(encoding="utf-8"))
    records = align_items(load_task_predictions(spec, results))
    return records, summarize(records, config, [], None, None).to_dict()


def write_manual_results(
    task: Mapping[str, Any], results: Path, document: Mapping[str, Any], env: Mapping[str, str]
) -> Summary:
    """Merge the console's annotations ``document`` into the results; returns the summary."""
    spec = task.get("spec") or {}
    config = scoring_config(spec, results, env)
    records, base = _records(spec, results, config)
    dimensions = list(document.get("dimensions") or []) or [
        d.model_dump(by_alias=True) for d in config.manual.eval_dimension
    ]
    names = [str(d["dimension"]) for d in dimensions]
    by_item = {str(a["id"]): a.get("scores") or {} for a in document.get("annotations") or []}
    annotated = annotate_records(records, by_item)
    models = list(dict.fromkeys(m for r in records for m in r.models))
    known = {r.id for r in records}
    means, counts = dimension_means(
        (scores for key, scores in by_item.items() if key in known), models, names
    )
    manual_doc = ((document.get("task") or {}).get("manual")) or {}
    merged = apply_manual(
        base,
        dimensions=dimensions,
        means=means,
        counts=counts,
        weights=config.weights,
        annotated_items=annotated,
        items=len(records),
        completed_by=manual_doc.get("completedBy"),
    )
    merged["evalMode"] = list(config.eval_mode)
    summary = summary_from_dict(merged)
    results.mkdir(parents=True, exist_ok=True)
    write_jsonl(results / SCORES_FILE, records)
    (results / SUMMARY_FILE).write_text(
        json.dumps(merged, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    title = f"modeleval: {(task.get('metadata') or {}).get('name', 'task')}"
    write_report(results / REPORT_FILE, summary, records, config, title=title)
    return summary


async def run_manual_phase(
    task: Mapping[str, Any],
    results: Path,
    *,
    env: Mapping[str, str],
    sink: StatusSink | None = None,
) -> Summary:
    target = ConsoleTarget.from_env(env)
    if target is None:
        raise ConsoleError(
            "the manual phase needs the console (MODELEVAL_CONSOLE_URL and "
            "MODELEVAL_CONSOLE_TOKEN_FILE): the operator sets them when it knows one"
        )
    document = await fetch_annotations(target, task)
    summary = await asyncio.to_thread(write_manual_results, task, results, document, env)
    patch = summary.status_patch()
    patch["manual"] = status_manual(summary.to_dict())
    await _patch(sink, patch)
    try:
        await send_results(target, task, results, phase="manual")
    except ConsoleError as exc:
        log.warning("results not sent back to the console: %s", exc)
    log.info(
        "manual scores of %s item(s) merged: totalScore %s",
        (summary.manual or {}).get("annotatedItems"),
        summary.total_score,
    )
    return summary


def main(task_file: str | None = None, results_dir: str | None = None) -> int:
    from modeleval.runner.s3results import S3ResultsError, results_from_task, synced_results
    from modeleval.runner.taskfile import TaskFileError, start_phase

    env = dict(os.environ)
    try:
        task, results, sink = start_phase(task_file, results_dir, env)
    except TaskFileError as exc:
        return _fail(str(exc))

    async def run() -> Summary:
        try:
            async with synced_results(results_from_task(task, env), results):
                return await run_manual_phase(task, results, env=env, sink=sink)
        finally:
            close = getattr(sink, "close", None)
            if close is not None:
                await close()

    try:
        asyncio.run(run())
    except (ConsoleError, ScoringConfigError, S3ResultsError) as exc:
        return _fail(str(exc))
    return EXIT_OK


def _fail(message: str) -> int:
    log.error("manual scoring failed: %s", message)
    write_termination_message(message)
    return EXIT_FAILED
