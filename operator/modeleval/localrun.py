"""Run an EvalTask on this machine, no cluster: ``modeleval run -f task.yaml``.

The same runner phases the Jobs run (``infer`` or ``perf``, then ``score``), with the task file
written locally, progress shown as a bar instead of patched into a status, and results plus the
HTML report left in the output directory. What the task references (its dataset ConfigMap or
PVC, its Secrets) is resolved from the other documents and options given, as a cluster would
(:mod:`modeleval.localrefs`). Failed judge items end the run as the operator ends a task: over
the error budget it fails with the operator's message; within it, the summary says
``degraded`` (and a warning is printed).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from modeleval.api import EvalTask
from modeleval.builders.runplan import build_run_plan
from modeleval.localrefs import LocalObjects, LocalRunError
from modeleval.reconcile.evaltask_scores import (
    DEGRADED_PREFIX,
    degraded_message,
    failed_message,
    read_failures,
)

__all__ = ["LocalObjects", "LocalRunError", "prepare_task_file", "run_task_locally"]


class LocalRunStopped(LocalRunError):
    """SIGINT (Ctrl-C) or SIGTERM: requests in flight were finished and kept, nothing lost."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _BarSink:
    """A runner status sink that draws a progress bar (rich) instead of patching a status."""

    def __init__(self, show: bool) -> None:
        self._progress: Any = None
        self._bar: Any = None
        if show:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeRemainingColumn(),
            )

    def __enter__(self) -> _BarSink:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def patch_status(self, patch: dict[str, Any]) -> None:
        progress = (patch.get("status", patch) or {}).get("progress") or {}
        if self._progress is None or not progress.get("total"):
            return
        if self._bar is None:
            self._bar = self._progress.add_task(
                progress.get("phase", "inference"), total=progress["total"]
            )
        self._progress.update(self._bar, completed=progress.get("processed", 0))


def prepare_task_file(
    doc: dict[str, Any],
    out_dir: Path,
    urls: dict[str, str],
    objects: LocalObjects | None = None,
    dataset: Path | None = None,
) -> tuple[Path, dict[str, str]]:
    """Validate the task, resolve model URLs, its dataset and Secrets, write
    ``out_dir/task.json``; its path and the Secrets' environment variables."""
    body = dict(doc)
    body["metadata"] = {"name": "local", **(doc.get("metadata") or {})}
    try:
        task = EvalTask.model_validate(body)
    except ValidationError as exc:
        lines = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise LocalRunError("invalid EvalTask:\n  " + "\n  ".join(lines)) from None
    resolved = []
    for model in task.spec.models or []:
        if model.endpoint is not None:
            url = urls.get(model.name, model.endpoint.url)
        elif model.name in urls:
            url = urls[model.name]
        else:
            raise LocalRunError(
                f"model {model.name!r} uses serviceGroupRef {model.service_group_ref.name!r}"
                f" (a cluster service); pass --url {model.name}=http://HOST:PORT/v1"
                if model.service_group_ref
                else f"model {model.name!r} has no target"
            )
        resolved.append(
            {
                "name": model.name,
                "url": url,
                "model": model.endpoint.model if model.endpoint else None,
                "api": model.endpoint.api if model.endpoint else "openai-chat",
            }
        )
    objects = objects or LocalObjects()
    namespace = task.metadata.namespace
    secrets = objects.secret_env(task.spec, namespace)
    out_dir.mkdir(parents=True, exist_ok=True)
    body["resolved"] = {"models": resolved}
    body["plan"] = build_run_plan(task, body["resolved"])
    local = dataset or objects.dataset_file(task.spec.dataset, namespace, out_dir)
    if local is not None and body["plan"].get("dataset") is not None:
        if not local.is_file():
            raise LocalRunError(f"--dataset: {local} not found")
        body["plan"]["dataset"] = {**body["plan"]["dataset"], "source": "file", "path": str(local)}
    mirror = task.spec.benchmark.source if task.spec.benchmark else None
    if mirror is not None and mirror.pvc is not None:
        claim = mirror.pvc.claim_name
        if claim not in objects.pvc_dirs:
            raise LocalRunError(
                f"spec.benchmark.source.pvc: PVC {claim} is a cluster volume; pass --pvc "
                f"{claim}=DIR (a directory holding the mirror at {mirror.pvc.path}), or set "
                "MODELEVAL_BENCHMARK_DIR to a local mirror"
            )
        folder = objects.pvc_dirs[claim] / mirror.pvc.path.lstrip("/")
        body["plan"]["benchmark"]["source"] = {"kind": "dir", "path": str(folder)}
    for index, result in enumerate(task.spec.existing_results or []):
        where = f"spec.existingResults[{index}].source"
        found = objects.dataset_file(result.source, namespace, out_dir, where)
        if found is not None:
            entry = body["plan"]["existingResults"][index]
            entry["dataset"] = {
                **{k: v for k, v in entry["dataset"].items() if k != "mount"},
                "source": "file",
                "path": str(found),
            }
    path = out_dir / "task.json"
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False), encoding="utf-8")
    return path, secrets


def run_task_locally(
    doc: dict[str, Any],
    *,
    out_dir: Path,
    urls: dict[str, str] | None = None,
    progress: bool = True,
    objects: LocalObjects | None = None,
    dataset: Path | None = None,
) -> dict[str, Any]:
    """Run inference (or the performance test) and scoring; the summary as a dict."""
    task_file, secrets = prepare_task_file(doc, out_dir, urls or {}, objects, dataset)
    with _environment(secrets):
        return _run_phases(doc, task_file, out_dir, progress)


def _prewarm_scoring(task_file: Path) -> threading.Thread:
    """Start the score phase's imports and tables in a thread: inference mostly waits on the
    network, so they are ready when it ends (:func:`modeleval.runner.score.prewarm`)."""
    task = json.loads(task_file.read_text(encoding="utf-8"))

    def warm() -> None:
        from modeleval.runner.score import prewarm

        prewarm(task)

    thread = threading.Thread(target=warm, name="score-prewarm", daemon=True)
    thread.start()
    return thread


@contextmanager
def _environment(extra: dict[str, str]) -> Iterator[None]:
    """``extra`` in ``os.environ`` while the phases run (where a Job has its Secrets), then
    the environment as it was."""
    saved = {name: os.environ.get(name) for name in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_phases(
    doc: dict[str, Any], task_file: Path, out_dir: Path, progress: bool
) -> dict[str, Any]:
    from modeleval.runner.__main__ import SignalStop, fast_loop_factory, signal_stop_event
    from modeleval.runner.__main__ import main as runner_main
    from modeleval.runner.exits import EXIT_STOPPED
    from modeleval.runner.phases import PhaseError, run_phase

    stop: list[SignalStop] = []

    def stop_event() -> SignalStop:
        stop.append(signal_stop_event())  # Ctrl-C / SIGTERM: drain, as the Job runner does
        return stop[0]

    spec = doc.get("spec", {})
    phase = "perf" if spec.get("type") == "Performance" else "infer"
    warm = _prewarm_scoring(task_file) if phase == "infer" else None
    if spec.get("models"):
        with _BarSink(progress) as sink:
            try:
                with asyncio.Runner(loop_factory=fast_loop_factory()) as loop:
                    code = loop.run(
                        run_phase(
                            phase,
                            str(task_file),
                            str(out_dir),
                            stop_event,
                            sink=sink,
                            use_default_sink=False,
                        )
                    )
            except PhaseError as exc:
                raise LocalRunError(str(exc)) from None
        if code == EXIT_STOPPED and stop and stop[0].signal is not None:
            sig = stop[0].signal
            raise LocalRunStopped(
                f"stopped by {sig.name}: the answers finished so far are kept in {out_dir}; "
                "run the same command again to go on from there",
                128 + int(sig),
            )
        if code != 0:
            raise LocalRunError(f"{phase} stopped before finishing (exit code {code})")
    if phase == "infer":
        if warm is not None:
            warm.join()
        code = runner_main(["score", "--task-file", str(task_file), "--results-dir", str(out_dir)])
        if code != 0:
            raise LocalRunError(f"scoring failed (exit code {code}); see the log above")
    summary_path = out_dir / "summary.json"
    summary: dict[str, Any] = (
        json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
    )
    performance = out_dir / "performance.json"
    if performance.exists():
        summary["performance"] = json.loads(performance.read_text(encoding="utf-8"))
    summary.setdefault("resultsDir", str(out_dir.resolve()))
    report = out_dir / "report.html"
    if report.exists():
        summary["report"] = str(report.resolve())
    failures = read_failures(summary.get("failures"))
    failed = failed_message(failures)
    if failed is not None:
        raise LocalRunError(f"{failed} (results in {summary['resultsDir']})")
    degraded = degraded_message(failures)
    if degraded is not None:
        summary["degraded"] = degraded
        print(f"warning: {DEGRADED_PREFIX}{degraded}", file=sys.stderr)
    return summary
