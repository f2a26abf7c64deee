"""``python -m modeleval.runner judge``: one shard's judge calls of a sharded task.

A task with ``spec.runner.shards`` > 1 whose scoring asks a judge (``model`` mode, or GSB) runs
a judge phase between inference and scoring: an Indexed Job like inference's, each shard
judging the items of its slice (the same round-robin slice: ``index % shards``) of every
model's predictions, and keeping each verdict in ``judgments/<k>-of-<n>.jsonl`` the moment it
is given (:mod:`modeleval.scoring.judgments`). The score phase then reads every shard's
verdicts and asks the judge nothing they answered: the slow, endpoint-bound part of scoring
runs N times wider, and the scores are those of an unsharded run.

A retried or resumed shard asks again only what no judgment file answers. Progress is the
shard's own ``status.shards`` entry (phase ``judging``), as in inference. SIGTERM stops taking
new items; the verdicts kept stay kept (exit 143).

Exit codes: 0 judged; 1 cannot judge (no predictions, judge configured wrongly, the final
status not written); 143 stopped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from modeleval.runner.exits import EXIT_FAILED, EXIT_OK, EXIT_STOPPED, write_termination_message
from modeleval.runner.progress import ProgressReporter, ProgressTracker, StatusNotWritten
from modeleval.runner.score import judge_from_task, scoring_config, task_prediction_files
from modeleval.runner.shards import Shard, ShardError, shard_from_env
from modeleval.scoring.engine import (
    ScoringConfigError,
    gsb_pair,
    judge_calls_of,
    keeper,
    kept_calls,
    score_with_judge,
)
from modeleval.scoring.judge import JudgeClient
from modeleval.scoring.judgments import (
    JUDGMENTS_DIR,
    JudgmentWriter,
    fingerprint,
    judgment_files,
)
from modeleval.scoring.ordered import PredictionsError, order_predictions

log = logging.getLogger("modeleval.scoring")

JUDGING = "judging"


async def run_judge_phase(
    task: Mapping[str, Any],
    results_dir: Path,
    *,
    env: Mapping[str, str],
    shard: Shard,
    judge_client: JudgeClient | None = None,
    sink: Any = None,
) -> int:
    """Judge this shard's items; returns how many new verdicts were given."""
    spec = task.get("spec") or {}
    config = scoring_config(spec, results_dir, env)
    files = await asyncio.to_thread(task_prediction_files, spec, results_dir)
    pair = gsb_pair(config, list(files))
    if not (config.enabled("model") or pair is not None):
        log.info("judge phase: the task asks no judge; nothing to do")
        return 0
    async with AsyncExitStack() as stack:
        if judge_client is None:
            http_judge = judge_from_task(task, env)
            if http_judge is None:
                raise ScoringConfigError(
                    "judge scoring or GSB is enabled but no judge client is configured"
                )
            judge_client = await stack.enter_async_context(http_judge)
        fp = fingerprint(config, str(getattr(judge_client, "model", "") or ""))
        kept = await asyncio.to_thread(judgment_files, results_dir)
        try:
            ordered = await asyncio.to_thread(
                order_predictions, files, pair=pair, judgments=kept, fingerprint=fp
            )
        except PredictionsError as exc:
            raise ScoringConfigError(str(exc)) from None
        stack.enter_context(ordered)
        tracker = ProgressTracker(
            judge_calls_of(ordered, config, pair, owns=shard.owns), phase=JUDGING
        )
        reporter = ProgressReporter(tracker, sink)
        writer = JudgmentWriter(results_dir / JUDGMENTS_DIR / shard.file_name)
        stack.callback(writer.close)
        keep = keeper(writer, fp, pair)
        await reporter.start()
        required = False
        try:
            batches = ordered.keyed_batches()
            while (keyed := await asyncio.to_thread(next, batches, None)) is not None:
                mine = [(key, record) for key, record in keyed if shard.owns(key)]
                keys = {id(record): key for key, record in mine}
                records = [record for _, record in mine]
                tracker.resume(kept_calls(records, config, pair), 0)

                def judged(record: Any, model: str | None, keys: dict[int, int] = keys) -> None:
                    assert keep is not None
                    keep(keys[id(record)], record, model)
                    result = record.models[model] if model is not None else None
                    failed = result.judge_error if result else (record.gsb or {}).get("error")
                    tracker.record(not failed)

                await score_with_judge(records, config, judge_client, pair, on_judged=judged)
            required = True
        finally:
            await reporter.stop(required=required)
        log.info(
            "judge phase (%s): %d verdicts given, %d kept from earlier",
            shard.label,
            writer.written,
            tracker.resumed,
        )
        return writer.written


def main(task_file: str | None = None, results_dir: str | None = None) -> int:
    """Entry point of a judge Job's pod (logging is configured by the runner's ``__main__``)."""
    from modeleval.runner.s3results import S3ResultsError, results_from_task, synced_results
    from modeleval.runner.shard_status import ShardStatusSink
    from modeleval.runner.taskfile import TaskFileError, start_phase

    env = dict(os.environ)
    try:
        shard = shard_from_env(env)
        task, results, inner = start_phase(task_file, results_dir, env)
    except (ShardError, TaskFileError) as exc:
        return _fail(str(exc))
    sink = ShardStatusSink(inner, shard) if inner is not None and shard.sharded else inner

    async def run() -> int:
        current = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            if current is not None:
                loop.add_signal_handler(sig, current.cancel)
        try:
            async with synced_results(results_from_task(task, env), results):
                await run_judge_phase(task, results, env=env, shard=shard, sink=sink)
            return EXIT_OK
        except asyncio.CancelledError:
            log.warning("stopped: the verdicts given so far are kept")
            return EXIT_STOPPED

    try:
        return asyncio.run(run())
    except (ScoringConfigError, S3ResultsError, StatusNotWritten) as exc:
        return _fail(str(exc))
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"cannot keep the verdicts: {where}{exc.strerror or exc}")


def _fail(message: str) -> int:
    log.error("judge phase failed: %s", message)
    write_termination_message(message)
    return EXIT_FAILED
