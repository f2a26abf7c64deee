"""`modeleval run` stopped by Ctrl-C or SIGTERM drains like the Job runner: the answers in
flight are finished and kept, no traceback, and the same command goes on from there. Several
files or a folder run every EvalTask in them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from modeleval_testkit.mockserver import MockModelServer
from tests.support.runner import read_jsonl
from tests.support.tasks import local_task

ITEMS = 40


def task_file(folder: Path, url: str, name: str = "local", items: int = ITEMS) -> Path:
    task = local_task(url)
    task["metadata"]["name"] = name
    task["spec"]["dataset"] = {"inline": [{"id": f"q{i}", "input": f"q {i}"} for i in range(items)]}
    task["spec"]["inference"]["client"]["parallel"] = 4
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(task, allow_unicode=True))
    return path


def modeleval(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    return subprocess.Popen(
        [sys.executable, "-m", "modeleval.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_drains_the_answers_in_flight_and_the_run_resumes(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    out = tmp_path / "out"
    predictions = out / "predictions" / "mock.jsonl"
    with MockModelServer(latency_s=0.3).running() as server:
        path = task_file(tmp_path, server.url)
        run = modeleval("run", "-f", str(path), "--out", str(out), "-q")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if predictions.exists() and predictions.read_text().count("\n") >= 4:
                break
            time.sleep(0.02)
        time.sleep(0.1)  # the next four requests are in flight now
        run.send_signal(sig)
        stdout, stderr = run.communicate(timeout=60)
        assert run.returncode == code, stderr
        assert "Traceback" not in stdout + stderr
        assert f"error: stopped by {sig.name}: the answers finished so far are kept in" in stderr
        kept = read_jsonl(predictions)
        answered = sum(server.stats().completed_by_item.values())
        assert len(kept) == answered < ITEMS  # every answer the server gave is kept
        again = modeleval("run", "-f", str(path), "--out", str(out), "-q")
        stdout, stderr = again.communicate(timeout=120)
        assert again.returncode == 0, stderr
        assert server.stats().duplicates() == {}  # nothing was asked twice
    assert {row["id"] for row in read_jsonl(predictions)} == {f"q{i}" for i in range(ITEMS)}
    assert json.loads(stdout)["resultsDir"] == str(out.resolve())


def test_a_folder_runs_every_task_into_its_own_directory(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    with MockModelServer().running() as server:
        task_file(tasks, server.url, "first", items=3)
        task_file(tasks, server.url, "second", items=2)
        run = modeleval("run", "-f", str(tasks), "--out", str(tmp_path / "out"), "-q")
        stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 0, stderr
    summaries = json.loads(stdout)
    assert sorted(summaries) == ["first", "second"]
    for name, count in (("first", 3), ("second", 2)):
        rows = read_jsonl(tmp_path / "out" / name / "predictions" / "mock.jsonl")
        assert len(rows) == count
