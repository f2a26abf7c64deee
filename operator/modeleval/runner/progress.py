"""Progress: cheap counters on the request path, a background reporter that patches status.

``ProgressTracker.record()`` only increments counters (and wakes the reporter every
``log_every`` items). ``ProgressReporter`` runs as its own task: it sends a status patch when
``log_every`` items finished or ``interval_s`` passed, never more often than ``min_gap_s``,
through a ``StatusSink`` called in a worker thread, so a slow API server never delays a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from modeleval.clock import timestamp

log = logging.getLogger("modeleval.runner")


FINAL_PATCH_DELAYS_S = (0.5, 2.0, 5.0)
"""Waits between the attempts to write a phase's final status (when it is required)."""


class StatusNotWritten(Exception):
    """A status patch the operator needs could not be written (after retries)."""


class SyncStatusSink(Protocol):
    """Receives merge patches for the task's ``status``; called in a worker thread."""

    def patch_status(self, patch: dict[str, Any]) -> None: ...


class AsyncStatusSink(Protocol):
    """Receives merge patches for the task's ``status``; awaited in the reporter task."""

    async def patch_status(self, patch: dict[str, Any]) -> None: ...


StatusSink = SyncStatusSink | AsyncStatusSink


class AnyStatusSink(Protocol):
    """A sink whose ``patch_status`` may be sync or async."""

    def patch_status(self, patch: dict[str, Any]) -> Any: ...


class ProgressTracker:
    """Counts finished items across all models of the run."""

    def __init__(
        self,
        total: int,
        *,
        phase: str = "inference",
        log_every: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.phase = phase
        self.log_every = max(1, log_every)
        self.clock = clock
        self.processed = 0
        self.succeeded = 0
        self.failed = 0
        self.resumed = 0
        """Items found finished in checkpoints at start (not counted in the rate)."""
        self.started = clock()
        self.wake: asyncio.Event | None = None

    def resume(self, succeeded: int, failed: int) -> None:
        """Count items finished by an earlier run."""
        self.succeeded += succeeded
        self.failed += failed
        self.processed += succeeded + failed
        self.resumed += succeeded + failed

    def record(self, ok: bool) -> None:
        self.processed += 1
        if ok:
            self.succeeded += 1
        else:
            self.failed += 1
        if self.processed % self.log_every == 0:
            log.info(
                "%s: %d/%d items (%d failed)", self.phase, self.processed, self.total, self.failed
            )
            if self.wake is not None:
                self.wake.set()

    @property
    def percentage(self) -> int:
        if self.total <= 0:
            return 100
        return min(100, self.processed * 100 // self.total)

    def snapshot(self) -> dict[str, Any]:
        """``status.progress`` (camelCase, as in the CRD)."""
        elapsed = max(1e-9, self.clock() - self.started)
        rate = (self.processed - self.resumed) / elapsed
        remaining = max(0, self.total - self.processed)
        return {
            "phase": self.phase,
            "total": self.total,
            "processed": self.processed,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "itemsPerSecond": round(rate, 2),
            "etaSeconds": round(remaining / rate, 1) if rate > 0 else None,
            "updatedAt": timestamp(),
        }


class ProgressReporter:
    """Background task sending ``status.progress`` / ``status.percentage`` patches to a sink."""

    def __init__(
        self,
        tracker: ProgressTracker,
        sink: StatusSink | None,
        *,
        interval_s: float = 5.0,
        min_gap_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tracker = tracker
        self.sink = sink
        self.interval_s = interval_s
        self.min_gap_s = min_gap_s
        self.clock = clock
        self.sent = 0
        self._extra: dict[str, Any] = {}
        self._extra_dirty = False
        self._last_sent_at: float | None = None
        self._last_processed = -1
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closing = False
        self._closed = asyncio.Event()

    def set_extra(self, key: str, value: Any) -> None:
        """Add a status field (e.g. ``inferenceResults``) to the next and later patches."""
        self._extra[key] = value
        self._extra_dirty = True
        self._wake.set()

    async def start(self) -> None:
        self.tracker.wake = self._wake
        self._task = asyncio.create_task(self._loop(), name="progress-reporter")

    async def stop(self, *, required: bool = False) -> None:
        """Stop the loop and send the final state (waits for the sink). ``required``: the
        final patch is retried and :class:`StatusNotWritten` raised when it cannot be written
        (a shard's final counts, which the operator holds to the task's error budget)."""
        if self._task is not None:
            self._closing = True
            self._closed.set()
            self._wake.set()
            await self._task
            self._task = None
        self.tracker.wake = None
        try:
            if required and self.sink is not None:
                self._last_processed = self.tracker.processed
                self._extra_dirty = False
                await send_required(self.sink, self.build_patch())
                self.sent += 1
            else:
                await self._send()
        finally:
            close = getattr(self.sink, "close", None)
            if close is not None and inspect.iscoroutinefunction(close):
                await close()

    async def _loop(self) -> None:
        # A flag, not Task.cancel(): Python 3.11's wait_for can swallow a cancellation.
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval_s):
                    await self._wake.wait()
            self._wake.clear()
            if self._closing:
                return
            if self._last_sent_at is not None:
                gap = self.clock() - self._last_sent_at
                if gap < self.min_gap_s:
                    # Wait out the gap, but let stop() end the wait at once.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.min_gap_s - gap):
                            await self._closed.wait()
                    if self._closing:
                        return
            if self.tracker.processed != self._last_processed or self._extra_dirty:
                await self._send()

    def build_patch(self) -> dict[str, Any]:
        patch: dict[str, Any] = {
            "percentage": self.tracker.percentage,
            "progress": self.tracker.snapshot(),
        }
        patch.update(self._extra)
        return patch

    async def _send(self) -> None:
        patch = self.build_patch()
        self._last_processed = self.tracker.processed
        self._last_sent_at = self.clock()
        self._extra_dirty = False
        if self.sink is None:
            return
        try:
            if inspect.iscoroutinefunction(self.sink.patch_status):
                await self.sink.patch_status(patch)
            else:
                await asyncio.to_thread(self.sink.patch_status, patch)
            self.sent += 1
        except Exception as exc:  # a status patch must never stop the run
            log.warning("status patch failed: %s", exc)


async def send_required(
    sink: AnyStatusSink, patch: dict[str, Any], delays: tuple[float, ...] = FINAL_PATCH_DELAYS_S
) -> None:
    """Send ``patch``, retrying after each of ``delays``; :class:`StatusNotWritten` when every
    attempt failed."""
    error: Exception | None = None
    for delay in (*delays, None):
        try:
            result = sink.patch_status(patch)
            if inspect.isawaitable(result):
                await result
            return
        except Exception as exc:
            error = exc
            log.warning("writing the final status failed: %s", exc)
        if delay is not None:
            await asyncio.sleep(delay)
    raise StatusNotWritten(f"cannot write the final status: {error}")
