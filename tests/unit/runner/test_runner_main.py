"""The runner process's environment: log level, metrics port, and the task its status patches
go to (``MODELEVAL_LOG_LEVEL``, ``MODELEVAL_METRICS_PORT``, ``MODELEVAL_TASK_NAME``,
``MODELEVAL_TASK_NAMESPACE``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modeleval.runner import __main__ as runner_main
from modeleval.runner import phases
from modeleval.runner.config import RunConfig, RunSettings


def test_the_runner_takes_its_log_level_and_metrics_port_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(runner_main, "mask_streams", lambda: None)
    monkeypatch.setattr("logging.basicConfig", lambda **kw: seen.update(logging=kw))
    monkeypatch.setattr(runner_main, "serve_metrics", lambda port: seen.update(port=port))
    monkeypatch.setenv("MODELEVAL_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("MODELEVAL_METRICS_PORT", "9400")
    monkeypatch.setenv("MODELEVAL_TERMINATION_LOG", str(tmp_path / "termination-log"))
    missing = str(tmp_path / "no-task.json")
    assert runner_main.main(["score", "--task-file", missing, "--results-dir", str(tmp_path)]) == 1
    assert seen["logging"]["level"] == "DEBUG"
    assert seen["port"] == "9400"


def test_status_patches_go_to_the_task_the_job_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """MODELEVAL_TASK_NAME / _NAMESPACE (set by the Job) name the EvalTask the runner patches."""
    asked: list[tuple[str | None, str | None]] = []
    monkeypatch.setattr(phases, "sink_from_env", lambda n, ns: asked.append((n, ns)))
    config = RunConfig(task_name="from-file", namespace="file-ns", models=(), dataset=None,
                       settings=RunSettings(results_dir=Path(".")))  # fmt: skip
    phases.default_sink(config)
    monkeypatch.setenv("MODELEVAL_TASK_NAME", "qa")
    monkeypatch.setenv("MODELEVAL_TASK_NAMESPACE", "team-a")
    phases.default_sink(config)
    assert asked == [("from-file", "file-ns"), ("qa", "team-a")]
