"""The scoring phase as a process: ``python -m modeleval.runner score`` calls :func:`main`.

Reads task.json (``$MODELEVAL_TASK_FILE``), the predictions under
``$MODELEVAL_RESULTS_DIR/predictions/<model>.jsonl``, scores them (see ``engine``), writes
``scores.jsonl``, ``summary.json`` and ``report.html`` next to them and patches the task's
``status.totalScore``, ``status.scores``, ``status.gsb`` and ``status.progress``. With
``spec.results.type: S3`` the results directory is first fetched from the bucket and what the
phase wrote is uploaded back (``modeleval.runner.s3results``). With a console configured
(``MODELEVAL_CONSOLE_URL``) the summary and every item go there too (``runner.console``).

The judge endpoint comes from ``resolved.judge`` in task.json (a judge served by a
ModelEvalServiceGroup, resolved by the operator) or ``spec.scoring.judge.endpoint``; its
secrets from the environment variables named by ``modeleval.api.secret_env_name``. A
relative ``stopWordsPath`` is read inside the results directory;
``$MODELEVAL_STOPWORDS_FILE`` (where a Job mounts ``stopWordsFrom``) overrides it.

Exit codes: 0 scored; 1 the task cannot be scored (bad task file, missing predictions, judge
configured wrongly): the reason is logged and written to the termination log.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Protocol

from modeleval.api import SecretKeySelector, secret_env_name
from modeleval.runner.exits import EXIT_FAILED, EXIT_OK, write_termination_message
from modeleval.scoring.config import ScoringConfig
from modeleval.scoring.engine import ScoringConfigError, score_results
from modeleval.scoring.http_judge import OpenAIJudge
from modeleval.scoring.judge import JudgeClient
from modeleval.scoring.records import Prediction, read_predictions
from modeleval.scoring.summary import Summary

log = logging.getLogger("modeleval.scoring")

DEFAULT_TASK_FILE = "/etc/modeleval/task.json"
DEFAULT_RESULTS_DIR = "/results"
PROGRESS_EVERY_S = 5.0


class StatusSink(Protocol):
    """The runner's status sinks (sync or async ``patch_status``)."""

    def patch_status(self, patch: dict[str, Any]) -> Any: ...


def _secret(ref: Mapping[str, Any], env: Mapping[str, str]) -> str:
    name = secret_env_name(SecretKeySelector.model_validate(ref))
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
    return OpenAIJudge(url, model, headers=headers, api_key=api_key)


def model_names(spec: Mapping[str, Any]) -> list[str]:
    targets = spec.get("models") or spec.get("existingResults") or []
    return [str(t["name"]) for t in targets if t.get("name")]


def load_task_predictions(spec: Mapping[str, Any], results: Path) -> dict[str, list[Prediction]]:
    """Predictions of every model the spec names (or every file when it names none)."""
    directory = results / "predictions"
    names = model_names(spec) or sorted(p.stem for p in directory.glob("*.jsonl"))
    if not names:
        raise ScoringConfigError(f"no predictions in {directory}")
    out: dict[str, list[Prediction]] = {}
    for name in names:
        path = directory / f"{name}.jsonl"
        if not path.exists():
            raise ScoringConfigError(f"no predictions for model {name!r}: {path} is missing")
        out[name] = read_predictions(path)
    return out


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


async def run_score_phase(
    task: Mapping[str, Any],
    results_dir: Path,
    *,
    env: Mapping[str, str],
    judge_client: JudgeClient | None = None,
    sink: StatusSink | None = None,
) -> Summary:
    """Score a task's predictions; ``judge_client`` overrides the one the task describes."""
    spec = task.get("spec") or {}
    config = scoring_config(spec, results_dir, env)
    predictions = await asyncio.to_thread(load_task_predictions, spec, results_dir)
    title = f"modeleval: {(task.get('metadata') or {}).get('name', 'task')}"
    latest: dict[str, int] = {}

    def on_progress(done: int, total: int) -> None:
        latest.update(processed=done, total=total)

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
            summary = await score_results(
                config, predictions, results_dir, judge_client, progress=on_progress, title=title
            )
        finally:
            reporter.cancel()
            await asyncio.gather(reporter, return_exceptions=True)
    await _patch(sink, summary.status_patch())
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
    env = dict(os.environ)
    task_path = Path(task_file or env.get("MODELEVAL_TASK_FILE", DEFAULT_TASK_FILE))
    results = Path(results_dir or env.get("MODELEVAL_RESULTS_DIR", DEFAULT_RESULTS_DIR))
    try:
        task = json.loads(task_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return _fail(f"{task_path}: cannot read task file: {exc}")
    metadata = task.get("metadata") or {}
    from modeleval.runner.kubestatus import sink_from_env

    name = metadata.get("name") or env.get("MODELEVAL_TASK_NAME")
    namespace = metadata.get("namespace") or env.get("MODELEVAL_TASK_NAMESPACE")
    sink = sink_from_env(name, namespace)

    from modeleval.runner.s3results import S3ResultsError, results_from_task, synced_results

    async def run() -> Summary:
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
    except (ScoringConfigError, S3ResultsError) as exc:
        return _fail(str(exc))
    return EXIT_OK


def _fail(message: str) -> int:
    from modeleval.runner import telemetry

    telemetry.task_error("scoring")
    log.error("scoring failed: %s", message)
    write_termination_message(message)
    return EXIT_FAILED
