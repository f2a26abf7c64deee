"""``python -m modeleval.runner infer`` as a process: SIGTERM, SIGKILL + resume, failures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modeleval_testkit.mockserver import FaultKind, FaultSettings, MockModelServer
from tests.support.runner import read_jsonl

ITEMS = 200


@pytest.fixture
def server() -> Iterator[MockModelServer]:
    with MockModelServer(latency_s=0.02).running() as running:
        yield running


def prepare(tmp_path: Path, url: str, dataset: str | None = None, **client: Any) -> dict[str, str]:
    data = tmp_path / "data.jsonl"
    data.write_text(
        dataset
        if dataset is not None
        else "".join(json.dumps({"id": f"q{i}", "input": f"q {i}"}) + "\n" for i in range(ITEMS))
    )
    spec = {
        "models": [{"name": "m1", "endpoint": {"url": url}}],
        "dataset": {"pvc": {"claimName": "d", "path": "data.jsonl"}},
        "inference": {"client": {"parallel": 4, "maxRetries": 1, **client}},
    }
    task = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": "t", "namespace": "ns"},
        "spec": spec,
    }
    (tmp_path / "task.json").write_text(json.dumps(task))
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env.update(
        MODELEVAL_TASK_FILE=str(tmp_path / "task.json"),
        MODELEVAL_RESULTS_DIR=str(tmp_path / "results"),
        MODELEVAL_DATASET_PVC_DIR=str(tmp_path),
        MODELEVAL_TERMINATION_LOG=str(tmp_path / "termination-log"),
        HOME=str(tmp_path),
    )
    return env


def start(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "modeleval.runner", "infer"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_lines(path: Path, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"{path} did not reach {count} lines")


def predictions(tmp_path: Path) -> list[dict[str, Any]]:
    return read_jsonl(tmp_path / "results" / "predictions" / "m1.jsonl")


def test_sigterm_stops_cleanly_and_resume_sends_nothing_twice(
    tmp_path: Path, server: MockModelServer
) -> None:
    env = prepare(tmp_path, server.url)
    proc = start(env)
    wait_for_lines(tmp_path / "results/predictions/m1.jsonl", ITEMS // 2)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 143, out
    assert "SIGTERM received" in out
    partial = predictions(tmp_path)
    assert ITEMS // 2 <= len(partial) < ITEMS
    assert server.stats().requests == len(partial)

    rerun = start(env)
    out, _ = rerun.communicate(timeout=30)
    assert rerun.returncode == 0, out
    rows = predictions(tmp_path)
    assert sorted(r["id"] for r in rows) == sorted(f"q{i}" for i in range(ITEMS))
    assert set(server.stats().by_item.values()) == {1}


def test_sigkill_mid_run_then_restart_gives_the_same_results(
    tmp_path: Path, server: MockModelServer
) -> None:
    env = prepare(tmp_path, server.url)
    proc = start(env)
    wait_for_lines(tmp_path / "results/predictions/m1.jsonl", ITEMS // 2)
    proc.kill()
    proc.communicate(timeout=10)
    rerun = start(env)
    out, _ = rerun.communicate(timeout=30)
    assert rerun.returncode == 0, out
    rows = predictions(tmp_path)
    assert len(rows) == ITEMS
    assert {r["id"]: r["output"] for r in rows} == {f"q{i}": f"q {i}" for i in range(ITEMS)}
    # At most the requests in flight at the kill (parallel = 4) were sent again.
    assert sum(server.stats().by_item.values()) - ITEMS <= 4


def test_bad_dataset_row_fails_with_its_line_number(
    tmp_path: Path, server: MockModelServer
) -> None:
    env = prepare(tmp_path, server.url, dataset='{"input": "a"}\n{"input": "b"\n')
    proc = start(env)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "data.jsonl:2: invalid JSON" in out
    assert "data.jsonl:2" in (tmp_path / "termination-log").read_text()
    assert server.stats().requests == 0


def test_empty_dataset_is_an_error(tmp_path: Path, server: MockModelServer) -> None:
    env = prepare(tmp_path, server.url, dataset="\n")
    proc = start(env)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "data.jsonl: no items" in out


def test_error_ratio_exceeded_exits_non_zero(tmp_path: Path) -> None:
    faults = FaultSettings(rate=1.0, kinds=(FaultKind.SERVER_ERROR,))
    with MockModelServer(faults=faults).running() as failing:
        env = prepare(tmp_path, failing.url, maxErrorRatio=0.05, maxRetries=0)
        proc = start(env)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1, out
    message = (tmp_path / "termination-log").read_text()
    assert "inference failed" in message
    assert "HTTP 500" in message
