"""Performance mode: streaming requests at fixed concurrency levels, latency and throughput.

``measure`` times one streaming request (TTFT, inter-token gaps, end-to-end, tokens);
``stats`` turns a level's measurements into percentiles and rates; ``phase`` runs the sweep.
"""

from modeleval.runner.perf.measure import RequestTiming, stream_request
from modeleval.runner.perf.stats import LevelStats, percentile, summarize_level

__all__ = ["LevelStats", "RequestTiming", "percentile", "stream_request", "summarize_level"]
