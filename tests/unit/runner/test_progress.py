"""Progress: counters, snapshot fields, patch throttling, a slow sink never blocks."""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from typing import Any

import pytest

from modeleval.runner.progress import ProgressReporter, ProgressTracker
from tests.support.runner import RecordingSink


class TimedSink:
    """Records (monotonic time, patch); optionally slow, like a distant API server."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.calls: list[tuple[float, dict[str, Any]]] = []
        self.threads: set[str] = set()

    def patch_status(self, patch: dict[str, Any]) -> None:
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay_s)
        self.calls.append((time.monotonic(), patch))


class AsyncTimedSink:
    """An async sink: awaited in the reporter task, so call times are exact."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, dict[str, Any]]] = []

    async def patch_status(self, patch: dict[str, Any]) -> None:
        self.calls.append((time.monotonic(), patch))


def test_tracker_snapshot_after_resume() -> None:
    now = [100.0]
    tracker = ProgressTracker(10, log_every=5, clock=lambda: now[0])
    tracker.resume(succeeded=3, failed=1)
    now[0] = 102.0
    tracker.record(True)
    tracker.record(False)
    snap = tracker.snapshot()
    assert tracker.percentage == 60
    assert {k: snap[k] for k in ("total", "processed", "succeeded", "failed")} == {
        "total": 10,
        "processed": 6,
        "succeeded": 4,
        "failed": 2,
    }
    assert snap["itemsPerSecond"] == 1.0  # only this run's 2 items over 2 s
    assert snap["etaSeconds"] == 4.0
    assert snap["phase"] == "inference"
    assert snap["updatedAt"].endswith("Z")


async def test_patches_are_throttled_by_min_gap_and_sent_on_stop() -> None:
    tracker = ProgressTracker(400, log_every=10)
    sink = AsyncTimedSink()
    reporter = ProgressReporter(tracker, sink, interval_s=10, min_gap_s=0.1)
    await reporter.start()
    began = time.monotonic()
    for _ in range(400):  # 40 log_every boundaries over ~0.4 s
        tracker.record(True)
        await asyncio.sleep(0.001)
    elapsed = time.monotonic() - began
    await reporter.stop()
    times = [t for t, _ in sink.calls]
    gaps = [b - a for a, b in itertools.pairwise(times[:-1])]  # the final patch is forced
    # one at start, one per gap while recording, one pending after it, the final one
    assert 2 <= len(sink.calls) <= elapsed / 0.1 + 3
    assert all(gap >= 0.095 for gap in gaps)
    final = sink.calls[-1][1]
    assert final["percentage"] == 100
    assert final["progress"]["processed"] == 400


async def test_interval_patch_without_log_boundary() -> None:
    tracker = ProgressTracker(100, log_every=1000)
    sink = RecordingSink()
    reporter = ProgressReporter(tracker, sink, interval_s=0.05, min_gap_s=0.01)
    await reporter.start()
    tracker.record(True)
    await asyncio.sleep(0.2)
    patches_while_idle = len(sink.patches)
    await asyncio.sleep(0.2)
    assert patches_while_idle == 1  # one patch for the change, none while nothing changes
    assert len(sink.patches) == 1
    await reporter.stop()
    assert sink.patches[-1]["progress"]["processed"] == 1


async def test_slow_sink_does_not_block_the_request_path() -> None:
    tracker = ProgressTracker(1000, log_every=1)
    sink = TimedSink(delay_s=0.3)
    reporter = ProgressReporter(tracker, sink, interval_s=0.05, min_gap_s=0.0)
    await reporter.start()
    began = time.monotonic()
    for _ in range(20):
        tracker.record(True)
        await asyncio.sleep(0.005)
    recording = time.monotonic() - began
    await reporter.stop()
    assert recording < 1.0  # a blocking sink would take 20 x 0.3 s
    assert len(sink.calls) <= 3  # patches coalesce while the sink is busy
    assert threading.current_thread().name not in sink.threads


async def test_extra_fields_ride_along_and_failing_sink_is_tolerated() -> None:
    class FailingSink:
        def patch_status(self, patch: dict[str, Any]) -> None:
            raise RuntimeError("api down")

    tracker = ProgressTracker(1)
    reporter = ProgressReporter(tracker, FailingSink(), interval_s=0.01, min_gap_s=0)
    await reporter.start()
    reporter.set_extra("inferenceResults", [{"model": "m"}])
    assert reporter.build_patch()["inferenceResults"] == [{"model": "m"}]
    await reporter.stop()
    assert reporter.sent == 0


async def test_stop_does_not_wait_out_the_min_gap() -> None:
    tracker = ProgressTracker(10, log_every=1)
    sink = AsyncTimedSink()
    reporter = ProgressReporter(tracker, sink, interval_s=10, min_gap_s=5)
    await reporter.start()
    tracker.record(True)
    await asyncio.sleep(0.05)  # first patch goes out at once
    tracker.record(True)
    await asyncio.sleep(0.05)  # the second waits for the 5 s gap...
    began = time.monotonic()
    await reporter.stop()  # ...which stop() cuts short, sending the final state
    assert time.monotonic() - began < 1.0
    assert [call[1]["progress"]["processed"] for call in sink.calls] == [1, 2]


async def test_log_every_query_items_log_and_send_progress_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """inference.client.logEveryQuery (the tracker's log_every): every N finished items a
    progress line is logged and a patch goes out without waiting for the interval."""
    for log_every, lines, sent_before_stop in ((5, 2, True), (1000, 0, False)):
        caplog.clear()
        tracker = ProgressTracker(10, log_every=log_every)
        sink = AsyncTimedSink()
        reporter = ProgressReporter(tracker, sink, interval_s=60, min_gap_s=0)
        await reporter.start()
        await asyncio.sleep(0.02)
        first = len(sink.calls)  # the patch at start
        with caplog.at_level(logging.INFO, logger="modeleval.runner"):
            for _ in range(10):
                tracker.record(True)
            await asyncio.sleep(0.05)
        assert (len(sink.calls) > first) is sent_before_stop
        assert len([r for r in caplog.records if "items" in r.getMessage()]) == lines
        await reporter.stop()
