"""The inference phase: every model x every item, resumable, with progress and an error budget."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from modeleval.runner.checkpoint import CheckpointWriter, load_finished
from modeleval.runner.config import RunConfig
from modeleval.runner.datasets import Item
from modeleval.runner.engine import ErrorBudget, ModelOutcome, run_model
from modeleval.runner.progress import ProgressReporter, ProgressTracker, StatusSink
from modeleval.runner.server_compat import parameter_drops

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

    @property
    def error_ratio(self) -> float:
        return self.failed / self.total if self.total else 0.0

    def failure_message(self, max_ratio: float) -> str | None:
        """Why the phase failed, or None when it succeeded."""
        if self.stopped:
            return None
        if self.error_ratio <= max_ratio and not self.budget_exceeded:
            return None
        errors = [o.top_error() for o in self.outcomes if o.top_error()]
        why = f"; most common error: {errors[0]}" if errors else ""
        return (
            f"{self.failed} of {self.total} items failed after retries "
            f"({self.error_ratio:.1%} > allowed {max_ratio:.1%}){why}"
        )


async def run_inference(
    config: RunConfig,
    items: list[Item],
    *,
    sink: StatusSink | None,
    stop: asyncio.Event,
) -> InferenceSummary:
    """Run (or resume) inference for all models; returns counts over the whole dataset."""
    s = config.settings
    total = len(items) * len(config.models)
    tracker = ProgressTracker(total, phase="inference", log_every=s.log_every)
    summary = InferenceSummary(total=total)
    pending_by_model: list[list[Item]] = []
    earlier: list[int] = []
    ids = {i.id for i in items}
    for model in config.models:
        # Answered items are skipped; items that failed in an earlier run are tried again
        # (their new line supersedes the old one: the last line per id wins).
        finished = load_finished(config.predictions_path(model))
        answered = {key for key, r in finished.items() if key in ids and r.get("error") is None}
        retried = sum(1 for key in finished if key in ids and key not in answered)
        tracker.resume(len(answered), 0)
        earlier.append(len(answered))
        pending_by_model.append([i for i in items if i.id not in answered])
        if finished:
            log.info(
                "%s: resuming, %d items answered, %d failed ones retried",
                model.name,
                len(answered),
                retried,
            )
    budget = ErrorBudget(total, s.max_error_ratio)
    reporter = ProgressReporter(
        tracker, sink, interval_s=s.progress_interval_s, min_gap_s=s.progress_min_gap_s
    )
    drops = parameter_drops(
        config.models, lambda records: reporter.set_extra("droppedParameters", records)
    )
    await reporter.start()
    try:
        for index, model in enumerate(config.models):
            pending = pending_by_model[index]
            if stop.is_set() or summary.budget_exceeded:
                break
            writer = CheckpointWriter(
                config.predictions_path(model),
                fsync_interval_s=s.fsync_interval_s,
                fsync_every=s.fsync_every,
            )
            await writer.start()
            try:
                outcome = await run_model(
                    model,
                    pending,
                    checkpoint=writer,
                    tracker=tracker,
                    stop=stop,
                    budget=budget,
                    drain_timeout_s=s.drain_timeout_s,
                    drops=drops[index],
                )
            finally:
                await writer.close()
            summary.outcomes.append(outcome)
            summary.budget_exceeded = budget.failed > budget.limit
            summary.results.append(
                {
                    "model": model.name,
                    "location": str(config.predictions_path(model)),
                    "items": earlier[index] + outcome.attempted,
                    "failed": outcome.failed,
                    "truncated": outcome.truncated,
                }
            )
            reporter.set_extra("inferenceResults", list(summary.results))
    finally:
        summary.stopped = stop.is_set() and tracker.processed < total
        summary.succeeded = tracker.succeeded
        summary.failed = tracker.failed
        await reporter.stop()
    return summary
