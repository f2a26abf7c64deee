"""The inference phase: every model x every item of this shard, resumable, with progress and an
error budget.

The task's models run at the same time, each with its own ``parallel`` workers and its own
checkpoint, so a task of two models takes about as long as the slower one. Items are read from
the dataset as the workers take them (an :class:`ItemSource` pass per model), never held all in
memory; what an earlier run answered is one byte per position (:mod:`resume`).

With shards (:mod:`shards`) the error budget is the task's, not the shard's: a shard stops early
and fails once its own failures alone exceed what the whole task may have, and otherwise
reports its counts (``status.shards``) for the operator to hold the task's total against the
budget when every shard is done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from modeleval.runner.checkpoint import CheckpointWriter
from modeleval.runner.config import ModelRun, RunConfig
from modeleval.runner.dataset_index import DatasetIndex, index_dataset
from modeleval.runner.datasets import Item
from modeleval.runner.engine import ErrorBudget, ModelOutcome, run_model
from modeleval.runner.progress import ProgressReporter, ProgressTracker, StatusSink
from modeleval.runner.resume import Resumed, read_checkpoints
from modeleval.runner.server_compat import ParameterDrops, parameter_drops
from modeleval.runner.shards import Shard, prediction_files, predictions_location
from modeleval.runner.sources import ItemSource, ListItems

log = logging.getLogger("modeleval.runner")


@dataclass(slots=True)
class InferenceSummary:
    total: int
    succeeded: int = 0
    failed: int = 0
    stopped: bool = False
    """SIGTERM arrived before every item was finished."""
    budget_exceeded: bool = False
    outcomes: list[ModelOutcome] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    """``status.inferenceResults`` entries."""
    shard: Shard = field(default_factory=Shard)
    task_total: int | None = None
    """Items x models of the whole task (of all shards)."""

    @property
    def error_ratio(self) -> float:
        return self.failed / self.total if self.total else 0.0

    def top_error(self) -> str | None:
        errors = [o.top_error() for o in self.outcomes if o.top_error()]
        return errors[0] if errors else None

    def failure_message(self, max_ratio: float) -> str | None:
        """Why the phase failed, or None when it succeeded."""
        if self.stopped:
            return None
        error = self.top_error()
        why = f"; most common error: {error}" if error else ""
        if self.shard.sharded:
            # Only the task's total can be held against the budget (the operator does that);
            # a shard fails alone when its own failures are already more than the task's share.
            if not self.budget_exceeded:
                return None
            task_total = self.task_total or self.total
            return (
                f"{self.failed} of {self.total} items of {self.shard.label} failed after "
                f"retries, more than the {max_ratio:.1%} allowed of the task's {task_total} "
                f"items{why}"
            )
        if self.error_ratio <= max_ratio and not self.budget_exceeded:
            return None
        return (
            f"{self.failed} of {self.total} items failed after retries "
            f"({self.error_ratio:.1%} > allowed {max_ratio:.1%}){why}"
        )


async def run_inference(
    config: RunConfig,
    items: Sequence[Item] | ItemSource,
    *,
    sink: StatusSink | None,
    stop: asyncio.Event,
    shard: Shard | None = None,
    index: DatasetIndex | None = None,
) -> InferenceSummary:
    """Run (or resume) inference of this shard's items for all models at once; returns counts
    over the shard. ``index``: the dataset's (read here when not given)."""
    source = items if isinstance(items, ItemSource) else ListItems(items)
    shard = shard or Shard()
    if index is None:
        index = await asyncio.to_thread(index_dataset, source)
    s = config.settings
    models = config.models
    total = shard.size(index.count) * len(models)
    task_total = index.count * len(models)
    tracker = ProgressTracker(total, phase="inference", log_every=s.log_every)
    summary = InferenceSummary(total=total, shard=shard, task_total=task_total)
    resumed: list[Resumed] = []
    for model in models:
        files = prediction_files(config.predictions_dir, model.name)
        own = shard.predictions_path(config.predictions_dir, model.name)
        found = await asyncio.to_thread(
            read_checkpoints, files, own=own, index=index, shard=shard, source=source
        )
        resumed.append(found)
        tracker.resume(found.answered, 0)
        if found.lines:
            log.info(
                "%s: resuming%s, %d items answered, %d failed ones retried",
                model.name,
                f" ({shard.label})" if shard.sharded else "",
                found.answered,
                found.retried,
            )
    # The task's budget: a shard's own failures beyond it fail the task whatever the others do.
    budget = ErrorBudget(task_total, s.max_error_ratio)
    reporter = ProgressReporter(
        tracker, sink, interval_s=s.progress_interval_s, min_gap_s=s.progress_min_gap_s
    )
    drops = parameter_drops(
        models, lambda records: reporter.set_extra("droppedParameters", records)
    )
    results: list[dict[str, Any] | None] = [None] * len(models)
    outcomes: list[ModelOutcome | None] = [None] * len(models)
    halt = asyncio.Event()
    """Set when the budget is exceeded: every model stops taking items."""

    async def one_model(position: int, model: ModelRun) -> None:
        done = resumed[position]
        outcome = await _run_one(
            config, model, _pending(source, shard, done), shard, tracker, stop, budget,
            drops[position], halt,
        )  # fmt: skip
        outcomes[position] = outcome
        results[position] = {
            "model": model.name,
            "location": str(predictions_location(config.predictions_dir, model.name, shard)),
            "items": done.answered + outcome.attempted,
            "failed": outcome.failed,
            "truncated": outcome.truncated,
        }
        reporter.set_extra("inferenceResults", [r for r in results if r is not None])

    await reporter.start()
    required = False
    try:
        try:
            async with asyncio.TaskGroup() as group:
                for position, model in enumerate(models):
                    group.create_task(one_model(position, model), name=f"model-{model.name}")
        except BaseExceptionGroup as failed:  # one model's error (a full disk) is the phase's
            raise failed.exceptions[0] from None
        required = shard.sharded  # the operator holds the shards' final counts to the budget
    finally:
        summary.outcomes = [o for o in outcomes if o is not None]
        summary.results = [r for r in results if r is not None]
        summary.budget_exceeded = budget.failed > budget.limit
        summary.stopped = stop.is_set() and tracker.processed < total
        summary.succeeded = tracker.succeeded
        summary.failed = tracker.failed
        if shard.sharded:
            reporter.set_extra("error", summary.top_error())
        await reporter.stop(required=required)
    return summary


def _pending(source: ItemSource, shard: Shard, done: Resumed) -> Iterator[Item]:
    """This shard's items not answered yet, read as the workers take them."""
    for item in source.items(select=shard.owns):
        if not done.done(item.position):
            yield item


async def _run_one(
    config: RunConfig,
    model: ModelRun,
    pending: Iterator[Item],
    shard: Shard,
    tracker: ProgressTracker,
    stop: asyncio.Event,
    budget: ErrorBudget,
    drops: ParameterDrops,
    halt: asyncio.Event,
) -> ModelOutcome:
    s = config.settings
    writer = CheckpointWriter(
        shard.predictions_path(config.predictions_dir, model.name),
        fsync_interval_s=s.fsync_interval_s,
        fsync_every=s.fsync_every,
    )
    await writer.start()
    try:
        return await run_model(
            model,
            pending,
            checkpoint=writer,
            tracker=tracker,
            stop=stop,
            budget=budget,
            drain_timeout_s=s.drain_timeout_s,
            drops=drops,
            halt=halt,
        )
    finally:
        await writer.close()
