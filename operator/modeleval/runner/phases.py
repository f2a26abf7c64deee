"""Phase drivers: task.json + environment in, exit code out."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import Callable
from pathlib import Path

from modeleval.runner import telemetry
from modeleval.runner.checkpoint import CheckpointError
from modeleval.runner.config import RunConfig
from modeleval.runner.dataset_index import DatasetIndex, index_dataset
from modeleval.runner.datasets import DatasetError, Item
from modeleval.runner.exits import EXIT_OK, EXIT_STOPPED
from modeleval.runner.kubestatus import sink_from_env
from modeleval.runner.progress import StatusSink
from modeleval.runner.s3results import (
    UPLOAD_INTERVAL_S,
    LocatingSink,
    S3ResultsError,
    synced_results,
)
from modeleval.runner.shards import Shard, ShardError, shard_from_env
from modeleval.runner.sources import ItemSource, ListItems, load_dataset, open_dataset
from modeleval.runner.taskfile import LoadedTask, TaskFileError, load_task

log = logging.getLogger("modeleval.runner")


class PhaseError(Exception):
    """The phase cannot succeed; the message says what and where."""


def load_phase_task(task_file: str | None, results_dir: str | None) -> LoadedTask:
    try:
        return load_task(task_file, results_dir=results_dir)
    except TaskFileError as exc:
        raise PhaseError(str(exc)) from None


async def load_items(config: RunConfig) -> list[Item]:
    if config.dataset is None:
        raise PhaseError("the task has no dataset")
    try:
        items = await asyncio.to_thread(load_dataset, config.dataset)
    except DatasetError as exc:
        telemetry.task_error("dataset")
        raise PhaseError(f"bad dataset: {exc}") from None
    if not items:
        source = config.dataset.path or config.dataset.url or "inline"
        raise PhaseError(f"bad dataset: {source}: no items")
    return items


async def open_items(config: RunConfig) -> tuple[ItemSource, DatasetIndex]:
    """The dataset as a stream and its index, read and checked once (every row, ids, the
    prompt templates' columns) before anything is sent. The caller closes the source."""
    if config.dataset is None:
        raise PhaseError("the task has no dataset")
    try:
        source = await asyncio.to_thread(open_dataset, config.dataset)
    except DatasetError as exc:
        telemetry.task_error("dataset")
        raise PhaseError(f"bad dataset: {exc}") from None
    try:
        index = await asyncio.to_thread(
            index_dataset, source, lambda item: check_templates(config, [item])
        )
    except DatasetError as exc:
        source.close()
        telemetry.task_error("dataset")
        raise PhaseError(f"bad dataset: {exc}") from None
    except BaseException:
        source.close()
        raise
    if not index.count:
        source.close()
        where = config.dataset.path or config.dataset.url or "inline"
        raise PhaseError(f"bad dataset: {where}: no items")
    return source, index


def default_sink(config: RunConfig) -> StatusSink | None:
    name = os.environ.get("MODELEVAL_TASK_NAME") or config.task_name
    namespace = os.environ.get("MODELEVAL_TASK_NAMESPACE") or config.namespace
    return sink_from_env(name, namespace)


async def run_phase(
    phase: str,
    task_file: str | None,
    results_dir: str | None,
    stop_factory: Callable[[], asyncio.Event],
    *,
    sink: StatusSink | None = None,
    use_default_sink: bool = True,
) -> int:
    """Run ``infer`` or ``perf``; raises ``PhaseError`` when the phase fails."""
    stop = stop_factory()
    loaded = load_phase_task(task_file, results_dir)
    config = loaded.config
    if sink is None and use_default_sink:
        sink = default_sink(config)
    if not config.models:
        raise PhaseError("the task has no models to run")
    try:
        shard = shard_from_env() if phase == "infer" else Shard()
    except ShardError as exc:
        raise PhaseError(str(exc)) from None
    if shard.sharded and sink is not None:
        from modeleval.runner.shard_status import ShardStatusSink

        sink = ShardStatusSink(sink, shard)
    try:
        results = config.settings.results_dir
        async with synced_results(loaded.remote, results, interval_s=UPLOAD_INTERVAL_S) as synced:
            located = sink if synced is None or sink is None else LocatingSink(sink, synced)
            code = await _run(phase, config, located, stop, shard)
    except S3ResultsError as exc:
        raise PhaseError(str(exc)) from None
    if code == EXIT_OK and phase == "infer" and os.environ.get("MODELEVAL_CONSOLE_URL"):
        await _answers_to_console(task_file, results)
    return code


async def _answers_to_console(task_file: str | None, results: Path) -> None:
    """A manual-only task has no scoring phase: its answers go to the console (for the
    annotators) when inference ends. Other tasks send their scored items after scoring."""
    from modeleval.runner.console import send_best_effort
    from modeleval.runner.taskfile import read_task_file

    try:
        task = read_task_file(task_file, os.environ)
    except TaskFileError:
        return
    modes = ((task.get("spec") or {}).get("scoring") or {}).get("modes") or []
    if modes and all(mode == "manual" for mode in modes):
        await send_best_effort(task, results, phase="infer", env=os.environ)


async def _run(
    phase: str,
    config: RunConfig,
    sink: StatusSink | None,
    stop: asyncio.Event,
    shard: Shard | None = None,
) -> int:
    """The dataset is read and checked first: a bad row fails the phase before any server is
    asked anything (even the model name)."""
    if phase == "perf":
        from modeleval.runner.perf.phase import PerfFailed, run_performance

        items = await load_items(config) if config.dataset is not None else []
        config = await with_model_names(config)
        try:
            return await run_performance(config, items, sink=sink, stop=stop)
        except PerfFailed as exc:
            raise PhaseError(str(exc)) from None
    if config.benchmark is not None:
        source, index = await open_benchmark(config)
    else:
        source, index = await open_items(config)
    try:
        config = await with_model_names(config)
        return await _infer(config, source, index, sink, stop, shard or Shard())
    finally:
        source.close()


async def load_benchmark(config: RunConfig) -> list[Item]:
    """A benchmark task's items (``runner.benchmark_data``); a bad source fails the phase."""
    assert config.benchmark is not None
    from modeleval.benchmarks import DataError
    from modeleval.runner.benchmark_data import load_benchmark_items

    try:
        items = await asyncio.to_thread(load_benchmark_items, config.benchmark)
    except DataError as exc:
        telemetry.task_error("dataset")
        raise PhaseError(f"bad benchmark: {exc}") from None
    if not items:
        raise PhaseError(f"bad benchmark: {config.benchmark.name}: no items")
    log.info("%s: %d items", config.benchmark.name, len(items))
    return items


async def open_benchmark(config: RunConfig) -> tuple[ItemSource, DatasetIndex]:
    """A benchmark task's items as a source with its index (ids checked unique)."""
    assert config.benchmark is not None
    source = ListItems(await load_benchmark(config), name=config.benchmark.name)
    try:
        index = await asyncio.to_thread(index_dataset, source)
    except DatasetError as exc:
        telemetry.task_error("dataset")
        raise PhaseError(f"bad benchmark: {exc}") from None
    return source, index


async def with_model_names(config: RunConfig) -> RunConfig:
    """``config`` with every unset ``endpoint.model`` asked from its server."""
    if all(model.model for model in config.models):
        return config
    from modeleval.runner.discovery import DiscoveryError, with_served_models

    try:
        models = await with_served_models(config.models)
    except DiscoveryError as exc:
        raise PhaseError(str(exc)) from None
    return dataclasses.replace(config, models=models)


def check_templates(config: RunConfig, items: list[Item]) -> None:
    """Every ``{column}`` of every model's prompt template exists in every row, before a
    single request is sent; the first row without one is named with its line."""
    for model in config.models:
        if not model.prompt.columns:
            continue
        for item in items:
            missing = model.prompt.missing(item.fields)
            if missing:
                names = ", ".join(f"{{{col}}}" for col in missing)
                raise PhaseError(
                    f"bad dataset: {item.where}: the prompt template of model {model.name} "
                    f"reads {names}, which this row does not have (write {{{{ and }}}} for "
                    f"literal braces)"
                )


async def _infer(
    config: RunConfig,
    source: ItemSource,
    index: DatasetIndex,
    sink: StatusSink | None,
    stop: asyncio.Event,
    shard: Shard,
) -> int:
    from modeleval.runner.infer import run_inference
    from modeleval.runner.progress import StatusNotWritten

    try:
        summary = await run_inference(
            config, source, sink=sink, stop=stop, shard=shard, index=index
        )
    except (CheckpointError, StatusNotWritten) as exc:
        raise PhaseError(str(exc)) from None
    log.info(
        "inference%s: %d items, %d succeeded, %d failed%s",
        f" ({shard.label})" if shard.sharded else "",
        summary.total,
        summary.succeeded,
        summary.failed,
        " (stopped)" if summary.stopped else "",
    )
    if summary.stopped:
        return EXIT_STOPPED
    message = summary.failure_message(config.settings.max_error_ratio)
    if message:
        raise PhaseError(f"inference failed: {message}")
    return EXIT_OK
