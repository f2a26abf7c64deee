"""Inference for one model: exactly ``parallel`` worker coroutines pull items from one iterator
(a stream of the dataset: items are read as they are taken, never all held).

Each finished item (answered, or failed after retries) is appended to the checkpoint right
away. When ``stop`` is set (SIGTERM) workers take no new items; requests in flight get
``drain_timeout_s`` to finish (so they are recorded, not sent again on resume), then the
rest are cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from modeleval.runner.benchmark_payloads import benchmark_body, finish_record
from modeleval.runner.checkpoint import CheckpointError, CheckpointWriter
from modeleval.runner.client import ModelClient, RequestFailed
from modeleval.runner.config import ModelRun
from modeleval.runner.datasets import Item
from modeleval.runner.payloads import build_body
from modeleval.runner.progress import ProgressTracker
from modeleval.runner.server_compat import MAX_RESENDS, ParameterDrops, cut_at_stop
from modeleval.runner.telemetry import ModelRecorder, for_model


@dataclass(slots=True)
class ModelOutcome:
    """What one model's inference did in this process."""

    model: str
    attempted: int = 0
    succeeded: int = 0
    failed: int = 0
    stopped: bool = False
    """Stopped early (SIGTERM, or the error budget was already exceeded)."""
    errors: Counter[str] = field(default_factory=Counter)
    truncated: int = 0
    """Answers cut off at the token limit (``finish_reason: length``)."""

    def top_error(self) -> str | None:
        return self.errors.most_common(1)[0][0] if self.errors else None


class ErrorBudget:
    """Stops a run once more items failed than the task may ever tolerate."""

    def __init__(self, total: int, max_ratio: float, already_failed: int = 0) -> None:
        self.limit = max_ratio * total
        self.failed = already_failed

    def spend(self) -> bool:
        """Count one failure; False once the budget is exceeded."""
        self.failed += 1
        return self.failed <= self.limit


async def run_model(
    model: ModelRun,
    items: Iterable[Item],
    *,
    checkpoint: CheckpointWriter,
    tracker: ProgressTracker,
    stop: asyncio.Event,
    budget: ErrorBudget,
    drain_timeout_s: float = 20.0,
    client: ModelClient | None = None,
    drops: ParameterDrops | None = None,
    halt: asyncio.Event | None = None,
) -> ModelOutcome:
    """Send every item to ``model``; returns counts. ``items`` are the ones not finished yet.
    ``drops``: the model's parameters, less those its server refused (shared by the workers).
    ``halt``: set (here too, when the budget is exceeded) to stop taking items; shared by the
    models that run at the same time."""
    outcome = ModelOutcome(model=model.name)
    drops = drops or ParameterDrops(model.name, dict(model.params))
    pending: Iterator[Item] = iter(items)
    first = next(pending, None)
    if first is None:
        return outcome
    pending = itertools.chain((first,), pending)
    parallel = max(1, model.client.parallel)
    own_client = client is None
    client = client or ModelClient(model.url, model.api, model.client)
    halt = halt or asyncio.Event()
    recorder = for_model(model.name)

    async def worker() -> None:
        assert client is not None
        for item in pending:
            if stop.is_set() or halt.is_set():
                return
            record = await _infer_one(client, model, item, recorder, drops)
            try:
                checkpoint.append(record)
            except CheckpointError:
                halt.set()  # nothing more can be kept: the other workers stop too
                raise
            recorder.item_done()
            ok = record["error"] is None
            outcome.attempted += 1
            if record.get("finish_reason") == "length":
                outcome.truncated += 1
            if ok:
                outcome.succeeded += 1
            else:
                outcome.failed += 1
                outcome.errors[record["error"]] += 1
                if not budget.spend():
                    halt.set()
            tracker.record(ok)

    if own_client:
        await client.__aenter__()
    try:
        workers = [asyncio.create_task(worker()) for _ in range(parallel)]
        await _wait_workers(workers, stop, drain_timeout_s)
    finally:
        if own_client:
            await client.__aexit__(None, None, None)
    outcome.stopped = stop.is_set() or halt.is_set()
    return outcome


async def _wait_workers(
    workers: list[asyncio.Task[None]], stop: asyncio.Event, drain_timeout_s: float
) -> None:
    stop_wait = asyncio.create_task(stop.wait())
    try:
        remaining: set[asyncio.Task[Any]] = set(workers)
        while remaining and not stop_wait.done():
            _, remaining = await asyncio.wait(
                remaining | {stop_wait}, return_when=asyncio.FIRST_COMPLETED
            )
            remaining.discard(stop_wait)
        if remaining:
            # Stop requested: let requests in flight finish, within the drain timeout.
            _, remaining = await asyncio.wait(remaining, timeout=drain_timeout_s)
            for task in remaining:
                task.cancel()
            if remaining:
                await asyncio.wait(remaining)
    finally:
        stop_wait.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stop_wait
        for task in workers:
            task.cancel()
    for task in workers:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


async def _infer_one(
    client: ModelClient,
    model: ModelRun,
    item: Item,
    recorder: ModelRecorder,
    drops: ParameterDrops,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": item.id,
        "index": item.position,
        "model": model.name,
        "input": item.input,
        "target": item.target,
        "output": None,
        "error": None,
        "latency": None,
        "tokens": None,
        "attempts": 0,
        "finish_reason": None,
    }
    started = time.perf_counter()
    for resend in itertools.count():
        if item.request is not None:
            body = benchmark_body(item.request, model, drops.params)
        else:
            body = build_body(
                api=model.api,
                model=model.model,
                prompt=model.prompt.render(item.input, item.fields),
                system=item.system or model.prompt.system,
                params=drops.params,
            )
        try:
            answer = await client.complete(body, item.id)
            break
        except RequestFailed as exc:
            # A server that refuses an optional knob by name: send the item again without it.
            if resend < MAX_RESENDS and drops.reject(body, exc.status, str(exc)):
                continue
            record["error"] = str(exc)
            record["attempts"] = exc.attempts
            recorder.request(exc.kind, time.perf_counter() - started)
            return record
    recorder.request(
        None,
        time.perf_counter() - started,
        answer.tokens.get("prompt", 0),
        answer.tokens.get("completion", 0),
    )
    record["output"] = cut_at_stop(answer.text, body.get("stop"))
    if item.request is not None:
        try:
            finish_record(record, item.request, answer.text, answer.body)
        except (ValueError, TypeError, KeyError) as exc:
            record["output"] = None
            record["error"] = f"bad response: {exc}"
    record["latency"] = round(answer.latency_s, 4)
    record["tokens"] = answer.tokens
    record["attempts"] = answer.attempts
    record["finish_reason"] = answer.finish_reason
    return record
