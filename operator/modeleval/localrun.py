"""Run an EvalTask on this machine, no cluster: ``modeleval run -f task.yaml``.

The same runner phases the Jobs run (``infer`` or ``perf``, then ``score``), with the task file
written locally, progress shown as a bar instead of patched into a status, and results plus the
HTML report left in the output directory.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from modeleval.api import EvalTask, secret_env_name
from modeleval.builders.evaltask import secret_refs
from modeleval.builders.runplan import build_run_plan


class LocalRunError(Exception):
    """The task cannot run locally; the message says why and what to do."""


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


def prepare_task_file(doc: dict[str, Any], out_dir: Path, urls: dict[str, str]) -> Path:
    """Validate the task, resolve model URLs, write ``out_dir/task.json``; its path."""
    try:
        task = EvalTask.model_validate(doc)
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
                "model": (model.endpoint.model if model.endpoint else None) or model.name,
                "api": model.endpoint.api if model.endpoint else "openai-chat",
            }
        )
    for ref in secret_refs(task.spec):
        env = secret_env_name(ref)
        if env not in os.environ:
            raise LocalRunError(f"the task needs Secret {ref.name}/{ref.key}: export {env}=VALUE")
    out_dir.mkdir(parents=True, exist_ok=True)
    body = dict(doc)
    body.setdefault("metadata", {}).setdefault("name", "local")
    body["resolved"] = {"models": resolved}
    body["plan"] = build_run_plan(EvalTask.model_validate(body), body["resolved"])
    path = out_dir / "task.json"
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def run_task_locally(
    doc: dict[str, Any],
    *,
    out_dir: Path,
    urls: dict[str, str] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run inference (or the performance test) and scoring; the summary as a dict."""
    from modeleval.runner.__main__ import SignalStop, signal_stop_event
    from modeleval.runner.__main__ import main as runner_main
    from modeleval.runner.exits import EXIT_STOPPED
    from modeleval.runner.phases import PhaseError, run_phase

    stop: list[SignalStop] = []

    def stop_event() -> SignalStop:
        stop.append(signal_stop_event())  # Ctrl-C / SIGTERM: drain, as the Job runner does
        return stop[0]

    task_file = prepare_task_file(doc, out_dir, urls or {})
    spec = doc.get("spec", {})
    phase = "perf" if spec.get("type") == "Performance" else "infer"
    if spec.get("models"):
        with _BarSink(progress) as sink:
            try:
                code = asyncio.run(
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
        code = runner_main(["score", "--task-file", str(task_file), "--results-dir", str(out_dir)])
        if code != 0:
            raise LocalRunError(f"scoring failed (exit code {code}); see the log above")
    summary_path = out_dir / "summary.json"
    summary: dict[str, Any] = (
        json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
    )
    summary.setdefault("resultsDir", str(out_dir.resolve()))
    report = out_dir / "report.html"
    if report.exists():
        summary["report"] = str(report.resolve())
    return summary
