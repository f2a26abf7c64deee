"""The ``perf`` phase: for each model and concurrency level, stream requests and measure.

Exactly ``parallel`` requests are in flight per level (a fixed pool of workers). A level ends
after ``requests_per_level`` requests, or after ``duration_s`` when that is set. Results go to
``$MODELEVAL_RESULTS_DIR/performance.json`` (with ``report.html`` next to it) and the first
model's levels to ``status.performance``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import aiohttp

from modeleval.redact import mask
from modeleval.runner.client import ModelClient
from modeleval.runner.config import ModelRun, PerfSettings, RunConfig
from modeleval.runner.datasets import Item
from modeleval.runner.exits import EXIT_OK, EXIT_STOPPED
from modeleval.runner.payloads import build_body
from modeleval.runner.perf.measure import RequestTiming, plain_request, stream_request
from modeleval.runner.perf.stats import LevelStats, summarize_level
from modeleval.runner.progress import ProgressReporter, ProgressTracker, StatusSink
from modeleval.runner.server_compat import MAX_RESENDS, ParameterDrops, parameter_drops
from modeleval.runner.telemetry import for_model

log = logging.getLogger("modeleval.runner")


class PerfFailed(Exception):
    """No request of the run succeeded."""


def prompts_for(settings: PerfSettings, items: list[Item]) -> list[str]:
    """Synthetic prompts of about N words when asked for, else the dataset inputs."""
    if settings.synthetic_input_tokens:
        words = settings.synthetic_input_tokens
        return [" ".join(f"w{(i + j) % 97}" for j in range(words)) for i in range(16)]
    if not items:
        raise PerfFailed("performance task: no dataset items and no synthetic input length")
    return [item.input for item in items]


async def run_level(
    model: ModelRun,
    prompts: list[str],
    *,
    parallel: int,
    requests: int,
    duration_s: float | None,
    output_tokens: int | None,
    stop: asyncio.Event,
    tracker: ProgressTracker | None = None,
    drops: ParameterDrops | None = None,
    stream: bool = True,
) -> tuple[list[RequestTiming], float]:
    """Run one level; returns the timings and the level's wall time. ``drops``: the model's
    parameters, less those its server refused by name (such a refusal is not a result: the
    request is sent again without them). ``stream=False`` sends plain requests: end-to-end
    latency and throughput only."""
    drops = drops or ParameterDrops(model.name, dict(model.params))
    client = ModelClient(model.url, model.api, model.client)  # for its URL and headers
    headers = client.headers_for(None)
    source: Iterator[str] = itertools.cycle(prompts)
    timings: list[RequestTiming] = []
    sent = 0
    connector = aiohttp.TCPConnector(limit=parallel)
    timeout = aiohttp.ClientTimeout(
        total=model.client.request_timeout_s,
        sock_connect=model.client.connect_timeout_s,
        sock_read=model.client.read_timeout_s,
    )
    recorder = for_model(model.name)
    began = time.perf_counter()
    deadline = began + duration_s if duration_s else None

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal sent
        while not stop.is_set():
            if deadline is not None:
                if time.perf_counter() >= deadline:
                    return
            elif sent >= requests:
                return
            sent += 1
            prompt = model.prompt.render(next(source))
            send = stream_request if stream else plain_request
            for resend in itertools.count():
                params = dict(drops.params)
                if output_tokens and "max_tokens" not in drops.refused:
                    params["max_tokens"] = output_tokens
                body = build_body(
                    api=model.api,
                    model=model.model,
                    prompt=prompt,
                    system=model.prompt.system,
                    params=params,
                    stream=stream,
                )
                timing = await send(session, client.url, model.api, body, headers)
                if timing.ok or resend >= MAX_RESENDS:
                    break
                if not drops.reject(body, timing.status, timing.error or ""):
                    break
            timings.append(timing)
            recorder.request(
                timing.error_kind,
                timing.latency_s or 0.0,
                timing.input_tokens,
                timing.output_tokens,
            )
            if tracker is not None:
                tracker.record(timing.ok)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(parallel)))
    return timings, time.perf_counter() - began


def best_level(levels: list[LevelStats], budget_ms: float | None) -> LevelStats | None:
    """Highest output tokens/s among levels within the p90 latency budget (if any)."""
    eligible = [
        level
        for level in levels
        if level.succeeded
        and (budget_ms is None or (level.latency or {}).get("p90", 0) <= budget_ms)
    ]
    return max(eligible, key=lambda lv: lv.output_tokens_per_second, default=None)


def write_report(
    config: RunConfig,
    results: dict[str, list[dict[str, Any]]],
    chosen: dict[str, int | None],
    total_score: float | None,
) -> None:
    """``report.html`` (tables and plots) next to ``performance.json``."""
    # Imported here: the scoring package is large and only this phase's end needs it.
    from modeleval.scoring.perf_report import REPORT_FILE, PerfReport, write_perf_report

    report = PerfReport(
        task=config.task_name,
        models=results,
        total_score=total_score,
        best=chosen,
        latency_budget_ms=(config.performance or PerfSettings()).latency_budget_ms,
    )
    write_perf_report(config.settings.results_dir / REPORT_FILE, report)


async def run_performance(
    config: RunConfig, items: list[Item], *, sink: StatusSink | None, stop: asyncio.Event
) -> int:
    settings = config.performance or PerfSettings()
    prompts = prompts_for(settings, items)
    per_level = settings.requests_per_level
    total = 0 if settings.duration_s else per_level * len(settings.levels) * len(config.models)
    tracker = ProgressTracker(total, phase="performance", log_every=config.settings.log_every)
    reporter = ProgressReporter(
        tracker,
        sink,
        interval_s=config.settings.progress_interval_s,
        min_gap_s=config.settings.progress_min_gap_s,
    )
    results: dict[str, list[dict[str, Any]]] = {}
    chosen: dict[str, int | None] = {}
    total_score: float | None = None
    drops = parameter_drops(
        config.models, lambda records: reporter.set_extra("droppedParameters", records)
    )
    await reporter.start()
    try:
        for index, model in enumerate(config.models):
            levels: list[LevelStats] = []
            for parallel in settings.levels:
                if stop.is_set():
                    break
                timings, wall = await run_level(
                    model,
                    prompts,
                    parallel=parallel,
                    requests=per_level,
                    duration_s=settings.duration_s,
                    output_tokens=settings.output_tokens,
                    stop=stop,
                    stream=settings.stream,
                    tracker=tracker,
                    drops=drops[index],
                )
                level = summarize_level(parallel, timings, wall)
                levels.append(level)
                log.info(
                    "%s parallel=%d: %.1f req/s, %.1f tokens/s, ttft p50 %s ms",
                    model.name,
                    parallel,
                    level.requests_per_second,
                    level.output_tokens_per_second,
                    (level.ttft or {}).get("p50"),
                )
            results[model.name] = [lv.to_status() for lv in levels]
            best = best_level(levels, settings.latency_budget_ms)
            chosen[model.name] = best.parallel if best else None
            if model is config.models[0]:
                best_tps = round(best.output_tokens_per_second, 3) if best else None
                total_score = best_tps
                reporter.set_extra(
                    "performance",
                    {"levels": results[model.name], "bestOutputTokensPerSecond": best_tps},
                )
                # totalScore of a performance task (docs/results.md): output tokens/s at the
                # level with the most tokens/s whose p90 latency met the budget.
                reporter.set_extra("totalScore", best_tps)
    finally:
        await reporter.stop()
    config.settings.results_dir.mkdir(parents=True, exist_ok=True)
    (config.settings.results_dir / "performance.json").write_text(
        mask(json.dumps({"models": results}, indent=2))
    )
    write_report(config, results, chosen, total_score)
    if stop.is_set():
        return EXIT_STOPPED
    if tracker.succeeded == 0:
        raise PerfFailed("performance task: no request succeeded")
    return EXIT_OK
