"""The scoring phase as a process: ``python -m modeleval.runner score`` calls :func:`main`.

Reads task.json (``$MODELEVAL_TASK_FILE``), the predictions under
``$MODELEVAL_RESULTS_DIR/predictions/<model>.jsonl``, scores them (see ``engine``), writes
``scores.jsonl``, ``summary.json`` and ``report.html`` next to them and patches the task's
``status.totalScore``, ``status.scores`` (with ``scores.failures``: failed items per judged
metric and whether they are over the error budget), ``status.gsb`` and ``status.progress``.
Too many failed judge items do not change the exit code: the phase did its work, and the
operator fails the task from ``scores.failures`` (a failed Job would only be retried, sending
every judge call again). The final status patch is therefore required: it is retried, and
when it cannot be written the phase fails. With
``spec.results.type: S3`` the results directory is first fetched from the bucket and what the
phase wrote is uploaded back (``modeleval.runner.s3results``). Judge verdicts are kept in
``judgments/`` as they come (:mod:`modeleval.scoring.judgments`): those of a sharded task's
judge phase, or of an earlier attempt of this one, are not asked again. With a console configured
(``MODELEVAL_CONSOLE_URL``) the summary and every item go there too (``runner.console``).

The judge endpoint comes from ``resolved.judge`` in task.json (a judge served by a
ModelEvalServiceGroup, resolved by the operator) or ``spec.scoring.judge.endpoint``; its
secrets from the environment variables named by ``modeleval.api.secret_env_name``. A
relative ``stopWordsPath`` is read inside the results directory;
``$MODELEVAL_STOPWORDS_FILE`` (where a Job mounts ``stopWordsFrom``) overrides it.

Exit codes: 0 scored; 1 the task cannot be scored (bad task file, missing predictions, judge
configured wrongly) or its scores cannot be written into its status: the reason is logged and
written to the termination log.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from modeleval.constants import secret_env_var
from modeleval.runner.exits import EXIT_FAILED, EXIT_OK, write_termination_message
from modeleval.runner.progress import FINAL_PATCH_DELAYS_S, StatusNotWritten, send_required
from modeleval.runner.shards import SHARDS_SUFFIX, prediction_files
from modeleval.scoring.config import ScoringConfig
from modeleval.scoring.engine import ScoringConfigError, score_prediction_files
from modeleval.scoring.judge import JudgeClient
from modeleval.scoring.judgments import JUDGMENTS_DIR, judgment_files
from modeleval.scoring.judgments import SCORE_FILE as SCORE_JUDGMENTS
from modeleval.scoring.records import Prediction, read_prediction_files
from modeleval.scoring.summary import Summary

if TYPE_CHECKING:
    from modeleval.benchmarks.results import BenchmarkSummary
    from modeleval.scoring.http_judge import OpenAIJudge

log = logging.getLogger("modeleval.scoring")

PROGRESS_EVERY_S = 5.0
DEFAULT_CONNECT_TIMEOUT_S = 10.0
"""The judge's TCP connect timeout unless ``scoring.judge.client.connectTimeoutSeconds`` sets
one (the API's default for every client)."""


class StatusSink(Protocol):
    """The runner's status sinks (sync or async ``patch_status``)."""

    def patch_status(self, patch: dict[str, Any]) -> Any: ...


def _secret(ref: Mapping[str, Any], env: Mapping[str, str]) -> str:
    name = secret_env_var(str(ref.get("name")), str(ref.get("key")))
    if name not in env:
        raise ScoringConfigError(f"secret {ref.get('name')}/{ref.get('key')} not in env {name}")
    return env[name]


def judge_from_task(task: Mapping[str, Any], env: Mapping[str, str]) -> OpenAIJudge | None:
    """An OpenAI-compatible judge client for the task's judge, or None when none is set."""
    spec = task.get("spec") or {}
    judge = (spec.get("scoring") or {}).get("judge") or {}
    resolved = (task.get("resolved") or {}).get("judge") or {}
    endpoint = judge.get("endpoint") or {}
    url = resolved.get("url") or endpoint.get("url")
    if not url:
        return None
    headers = dict(endpoint.get("requestHeaders") or {})
    for header in endpoint.get("requestHeadersFrom") or []:
        headers[header["name"]] = _secret(header["secretKeyRef"], env)
    api_key = None
    if endpoint.get("apiKeySecretRef"):
        api_key = _secret(endpoint["apiKeySecretRef"], env)
    model = resolved.get("model") or endpoint.get("model") or judge.get("apiName") or "judge"
    api = str(resolved.get("api") or endpoint.get("api") or "openai-chat")
    connect = (judge.get("client") or {}).get("connectTimeoutSeconds")
    from modeleval.scoring.http_judge import OpenAIJudge

    return OpenAIJudge(
        url,
        model,
        headers=headers,
        api_key=api_key,
        api=api,
        connect_timeout_s=float(connect) if connect else DEFAULT_CONNECT_TIMEOUT_S,
    )


def prewarm(task: Mapping[str, Any]) -> None:
    """Do the score phase's start-up work ahead: import what its metrics need, build the
    text tables, compile the report template.

    ``modeleval run`` calls this in a thread while inference waits on the network, so the
    score phase that follows starts at once; a Job's score phase does the same work in line.
    Never raises: anything that fails here fails again, reported, in the phase itself.
    """
    try:
        config = ScoringConfig.from_task_spec(task.get("spec") or {})
        from modeleval.scoring.report import TEMPLATE, TEMPLATES
        from modeleval.scoring.rules import RuleScorer
        from modeleval.scoring.text import Normalization

        Normalization().apply("warm-up，")
        TEMPLATES.get_template(TEMPLATE)
        if config.enabled("rule"):
            scorer = RuleScorer(config.auto_rule_eval_config)
            if "bleu" in scorer.metric_names:
                scorer.bleu("预热 warm-up", "预热 warm-up", cjk=True)
                scorer.bleu("warm up", "warm up", cjk=False)
        if judge_from_task(task, os.environ) is not None:
            import modeleval.scoring.http_judge  # noqa: F401
    except Exception as exc:
        log.debug("score phase pre-warm stopped: %s", exc)


def model_names(spec: Mapping[str, Any]) -> list[str]:
    targets = spec.get("models") or spec.get("existingResults") or []
    return [str(t["name"]) for t in targets if t.get("name")]


def task_prediction_files(spec: Mapping[str, Any], results: Path) -> dict[str, list[Path]]:
    """Every predictions file of every model the spec names (or of every model found when it
    names none): one per model, or one per shard (:mod:`modeleval.runner.shards`)."""
    directory = results / "predictions"
    names = model_names(spec) or sorted(
        {p.stem for p in directory.glob("*.jsonl")}
        | {p.name.removesuffix(SHARDS_SUFFIX) for p in directory.glob(f"*{SHARDS_SUFFIX}")}
    )
    if not names:
        raise ScoringConfigError(f"no predictions in {directory}")
    out: dict[str, list[Path]] = {}
    for name in names:
        files = prediction_files(directory, name)
        if not files:
            path = directory / f"{name}.jsonl"
            raise ScoringConfigError(f"no predictions for model {name!r}: {path} is missing")
        out[name] = files
    return out


def load_task_predictions(spec: Mapping[str, Any], results: Path) -> dict[str, list[Prediction]]:
    """Predictions of every model the spec names, in memory (for small uses; the score phase
    streams the files instead)."""
    files = task_prediction_files(spec, results)
    return {name: read_prediction_files(paths) for name, paths in files.items()}


def import_existing(task: Mapping[str, Any], results_dir: Path, env: Mapping[str, str]) -> None:
    """``spec.existingResults`` → ``predictions/<name>.jsonl`` (see
    :mod:`modeleval.runner.existing`)."""
    from modeleval.runner.existing import ExistingResultsError, import_result_sets
    from modeleval.runner.taskfile import TaskFileError, plan_of

    try:
        names = import_result_sets(plan_of(task), results_dir, env)
    except (ExistingResultsError, TaskFileError) as exc:
        raise ScoringConfigError(str(exc)) from None
    log.info("read existing results: %s", ", ".join(names))


def scoring_config(spec: Mapping[str, Any], results: Path, env: Mapping[str, str]) -> ScoringConfig:
    """The task's scoring configuration with the stop-word file located."""
    try:
        config = ScoringConfig.from_task_spec(spec)
    except ValueError as exc:
        raise ScoringConfigError(f"spec.scoring: {exc}") from None
    path = env.get("MODELEVAL_STOPWORDS_FILE") or config.rule.stop_words_path
    if path is not None:
        located = Path(path) if Path(path).is_absolute() else results / path
        rule = config.rule.model_copy(update={"stop_words_path": str(located)})
        config = config.model_copy(update={"auto_rule_eval_config": rule})
    return config


async def _patch(sink: StatusSink | None, patch: dict[str, Any]) -> None:
    if sink is None:
        return
    try:
        result = sink.patch_status(patch)
        if inspect.isawaitable(result):
            await result
    except Exception as exc:  # the results are on disk; a status hiccup must not fail scoring
        log.warning("status patch failed: %s", exc)


async def score_benchmark(
    task: Mapping[str, Any], results_dir: Path, *, sink: StatusSink | None = None
) -> BenchmarkSummary:
    """Score a benchmark task (``spec.benchmark``) as its reference harness does."""
    from modeleval.benchmarks import resolve
    from modeleval.benchmarks.report import write_results
    from modeleval.benchmarks.results import read_records, score_models
    from modeleval.runner.taskfile import TaskFileError, plan_of

    spec = task.get("spec") or {}
    try:
        plan = plan_of(task)["benchmark"]
        run = resolve(
            plan["name"], mode=plan["mode"], subsets=plan.get("subsets"), shots=plan.get("fewShot")
        )
    except (TaskFileError, KeyError, TypeError, ValueError) as exc:
        raise ScoringConfigError(f"spec.benchmark: {exc}") from None
    records = {}
    for name, files in task_prediction_files(spec, results_dir).items():
        records[name] = await asyncio.to_thread(read_records, files)
    summary = score_models(run.benchmark, run.variant, run.shots, records)
    title = f"modeleval: {(task.get('metadata') or {}).get('name', 'task')} ({run.benchmark.title})"
    await asyncio.to_thread(write_results, results_dir, summary, title)
    await _patch_final(sink, summary.status_patch())
    log.info(
        "scored %s for %d models: totalScore %s",
        run.benchmark.name,
        len(records),
        summary.total_score,
    )
    return summary


async def _patch_final(sink: StatusSink | None, patch: dict[str, Any]) -> None:
    """Write the scores into the status, retrying; :class:`StatusNotWritten` when it cannot."""
    if sink is None:
        return
    try:
        await send_required(sink, patch, FINAL_PATCH_DELAYS_S)
    except StatusNotWritten as exc:
        cause = str(exc).removeprefix("cannot write the final status: ")
        raise StatusNotWritten(f"cannot write the scores into the task's status: {cause}") from None


def log_failures(summary: Summary) -> None:
    """One log line per judged metric with failed items (the operator says it in the status)."""
    for entry in summary.failures:
        if not entry["failed"]:
            continue
        level = logging.ERROR if entry["overBudget"] else logging.WARNING
        log.log(
            level,
            "%s failed on %d of %d items (allowed %.1f%%%s); most common cause (%d items): %s",
            entry["metric"],
            entry["failed"],
            entry["total"],
            entry["maxErrorRatio"] * 100,
            ": over budget, the task fails" if entry["overBudget"] else "",
            entry["causeItems"],
            entry["cause"],
        )


async def run_score_phase(
    task: Mapping[str, Any],
    results_dir: Path,
    *,
    env: Mapping[str, str],
    judge_client: JudgeClient | None = None,
    sink: StatusSink | None = None,
) -> Summary | BenchmarkSummary:
    """Score a task's predictions; ``judge_client`` overrides the one the task describes."""
    spec = task.get("spec") or {}
    if spec.get("benchmark"):
        return await score_benchmark(task, results_dir, sink=sink)
    config = scoring_config(spec, results_dir, env)
    if spec.get("existingResults"):
        await asyncio.to_thread(import_existing, task, results_dir, env)
    files = await asyncio.to_thread(task_prediction_files, spec, results_dir)
    title = f"modeleval: {(task.get('metadata') or {}).get('name', 'task')}"
    latest: dict[str, int] = {}

    def on_progress(done: int, total: int) -> None:
        latest.update(processed=done, total=total)
        if done % config.judge.log_every == 0 or done == total:
            log.info("scoring: %d/%d judge calls", done, total)

    async def report_progress() -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY_S)
            if latest:
                await _patch(sink, {"progress": {"phase": "scoring", **latest}})

    async with AsyncExitStack() as stack:
        if judge_client is None and (config.enabled("model") or config.pairwise_enabled):
            http_judge = judge_from_task(task, env)
            if http_judge is not None:
                judge_client = await stack.enter_async_context(http_judge)
        reporter = asyncio.create_task(report_progress())
        try:
            summary = await score_prediction_files(
                config,
                files,
                results_dir,
                judge_client,
                progress=on_progress,
                title=title,
                judgments=await asyncio.to_thread(judgment_files, results_dir),
                keep_judgments=results_dir / JUDGMENTS_DIR / SCORE_JUDGMENTS,
                judge_model=str(getattr(judge_client, "model", "") or ""),
            )
        finally:
            reporter.cancel()
            await asyncio.gather(reporter, return_exceptions=True)
    await _patch_final(sink, summary.status_patch())
    log_failures(summary)
    log.info(
        "scored %d items of %d models: totalScore %s",
        summary.counts["items"],
        summary.counts["models"],
        summary.total_score,
    )
    return summary


def main(task_file: str | None = None, results_dir: str | None = None) -> int:
    """Entry point of the scoring Job (logging is configured by the runner's ``__main__``).

    ``task_file`` and ``results_dir`` default to ``$MODELEVAL_TASK_FILE`` and
    ``$MODELEVAL_RESULTS_DIR``.
    """
    from modeleval.runner.s3results import S3ResultsError, results_from_task, synced_results
    from modeleval.runner.taskfile import TaskFileError, start_phase

    env = dict(os.environ)
    try:
        task, results, sink = start_phase(task_file, results_dir, env)
    except TaskFileError as exc:
        return _fail(str(exc))

    async def run() -> Summary | BenchmarkSummary:
        try:
            async with synced_results(results_from_task(task, env), results):
                summary = await run_score_phase(task, results, env=env, sink=sink)
            if env.get("MODELEVAL_CONSOLE_URL"):
                from modeleval.runner.console import send_best_effort

                await send_best_effort(task, results, phase="score", env=env)
            return summary
        finally:
            close = getattr(sink, "close", None)
            if close is not None:
                await close()

    try:
        asyncio.run(run())
    except (ScoringConfigError, S3ResultsError, StatusNotWritten) as exc:
        return _fail(str(exc))
    except OSError as exc:  # disk full, read-only or missing results volume
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"cannot write the scores: {where}{exc.strerror or exc}")
    return EXIT_OK


def _fail(message: str) -> int:
    from modeleval.runner import telemetry

    telemetry.task_error("scoring")
    log.error("scoring failed: %s", message)
    write_termination_message(message)
    return EXIT_FAILED
