"""The README's first command: `modeleval demo` runs the samples and writes a report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.needs_executor]


def test_demo_runs_to_completion_and_writes_a_report(tmp_path: Path) -> None:
    work = tmp_path / "demo"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "modeleval.cli",
            "demo",
            "--work-dir",
            str(work),
            "--timeout",
            "240",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "all 2 tasks succeeded" in done.stdout
    # The console part: the manual-mode sample waits for people there, with its URL and a token.
    lines = done.stdout.splitlines()
    assert any(line.endswith("waits for manual annotation in the console") for line in lines)
    assert any(line.startswith("console: http://127.0.0.1:") for line in lines), lines[-8:]
    token = [line for line in lines if line.startswith("login token")]
    assert token and "modeleval-editor" in token[0] and len(token[0].rsplit(" ", 1)[1]) > 20
    reports = {path.parent.name: path for path in work.rglob("report.html")}
    # One report per sample task: the quality task's and the performance task's.
    assert set(reports) == {"qwen-7b-qa-rules-results", "qwen-7b-perf-results"}, reports
    quality = reports["qwen-7b-qa-rules-results"]
    html = quality.read_text(encoding="utf-8")
    assert "<svg" in html and "totalScore" in html
    assert "<svg" in reports["qwen-7b-perf-results"].read_text(encoding="utf-8")
    summary = json.loads((quality.parent / "summary.json").read_text(encoding="utf-8"))
    # The demo's mock model answers two of every three questions right.
    assert 40 < summary["totalScore"] < 90
