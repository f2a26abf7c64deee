"""Percentiles and rates of one concurrency level (status.performance.levels[] entries)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modeleval.runner.perf.measure import RequestTiming


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of unsorted values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_ms(values: Sequence[float]) -> dict[str, float] | None:
    """p50/p90/p99/mean in milliseconds (``LatencyStats``)."""
    if not values:
        return None

    def ms(q: float) -> float:
        return round((percentile(values, q) or 0.0) * 1000, 3)

    return {
        "p50": ms(50),
        "p90": ms(90),
        "p99": ms(99),
        "mean": round(sum(values) / len(values) * 1000, 3),
    }


@dataclass(frozen=True, slots=True)
class LevelStats:
    parallel: int
    requests: int
    succeeded: int
    duration_s: float
    output_tokens: int
    ttft: dict[str, float] | None
    itl: dict[str, float] | None
    latency: dict[str, float] | None

    @property
    def success_rate(self) -> float:
        return self.succeeded / self.requests if self.requests else 0.0

    @property
    def requests_per_second(self) -> float:
        return self.succeeded / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def output_tokens_per_second(self) -> float:
        return self.output_tokens / self.duration_s if self.duration_s > 0 else 0.0

    def to_status(self) -> dict[str, Any]:
        """A ``PerformanceLevel`` in the CRD's camelCase."""
        return {
            "parallel": self.parallel,
            "requests": self.requests,
            "succeeded": self.succeeded,
            "successRate": round(self.success_rate, 4),
            "requestsPerSecond": round(self.requests_per_second, 3),
            "outputTokensPerSecond": round(self.output_tokens_per_second, 3),
            "ttftMs": self.ttft,
            "interTokenLatencyMs": self.itl,
            "latencyMs": self.latency,
        }


def summarize_level(
    parallel: int, timings: Sequence[RequestTiming], duration_s: float
) -> LevelStats:
    ok = [t for t in timings if t.ok]
    return LevelStats(
        parallel=parallel,
        requests=len(timings),
        succeeded=len(ok),
        duration_s=duration_s,
        output_tokens=sum(t.output_tokens for t in ok),
        ttft=latency_ms([t.ttft_s for t in ok if t.ttft_s is not None]),
        itl=latency_ms([gap for t in ok for gap in t.gaps_s]),
        latency=latency_ms([t.latency_s for t in ok if t.latency_s is not None]),
    )
