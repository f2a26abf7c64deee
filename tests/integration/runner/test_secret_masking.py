"""A server that echoes the API key: the key is in no file, log line or message the runner writes.

The real runner process (``infer`` then ``score``) against two mock servers that repeat the
``Authorization`` header in their error bodies: the model for some items, the judge always.
The key's value must not appear in the predictions, ``scores.jsonl``, ``summary.json``,
``report.html``, the process output or the termination message; ``***`` stands in its place.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modeleval.api import SecretKeySelector, secret_env_name
from modeleval_testkit.mockserver import FaultKind, FaultSettings, MockModelServer

KEY = "sk-live-7f3a9c1e-echoed"
REF = {"name": "llm", "key": "api-key"}


@pytest.fixture
def model() -> Iterator[MockModelServer]:
    echo = {f"q{i}": [FaultKind.ECHO_AUTH] * 3 for i in range(3)}
    with MockModelServer(faults=FaultSettings(by_item=echo)).running() as server:
        yield server


@pytest.fixture
def judge() -> Iterator[MockModelServer]:
    faults = FaultSettings(rate=1.0, kinds=(FaultKind.ECHO_AUTH,))
    with MockModelServer(faults=faults).running() as server:
        yield server


def run(tmp_path: Path, phase: str, model_url: str, judge_url: str, ratio: float) -> str:
    task = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": "echo", "namespace": "ns"},
        "spec": {
            "models": [{"name": "m1", "endpoint": {"url": model_url, "apiKeySecretRef": REF}}],
            "dataset": {
                "inline": [{"id": f"q{i}", "input": f"q {i}", "target": "x"} for i in range(8)]
            },
            "inference": {"client": {"parallel": 2, "maxRetries": 0, "maxErrorRatio": ratio}},
            "scoring": {
                "modes": ["rule", "model"],
                "judge": {"endpoint": {"url": judge_url, "apiKeySecretRef": REF}},
            },
        },
    }
    (tmp_path / "task.json").write_text(json.dumps(task))
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env.update(
        MODELEVAL_TASK_FILE=str(tmp_path / "task.json"),
        MODELEVAL_RESULTS_DIR=str(tmp_path / "results"),
        MODELEVAL_TERMINATION_LOG=str(tmp_path / "termination-log"),
        HOME=str(tmp_path),
        **{secret_env_name(SecretKeySelector(name="llm", key="api-key")): KEY},
    )
    done = subprocess.run(
        [sys.executable, "-m", "modeleval.runner", phase],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout + done.stderr


def everything_written(tmp_path: Path) -> dict[str, str]:
    files = {str(p.relative_to(tmp_path)): p for p in tmp_path.rglob("*") if p.is_file()}
    return {
        name: path.read_text(encoding="utf-8", errors="replace") for name, path in files.items()
    }


def test_an_echoed_key_is_masked_in_every_file_and_log(
    tmp_path: Path, model: MockModelServer, judge: MockModelServer
) -> None:
    logs = run(tmp_path, "infer", model.url, judge.url, 1.0)
    logs += run(tmp_path, "score", model.url, judge.url, 1.0)
    written = everything_written(tmp_path)
    assert {"results/predictions/m1.jsonl", "results/scores.jsonl", "results/report.html"} <= set(
        written
    ), sorted(written)
    assert model.stats().credentials[f"Bearer {KEY}"] == 8  # the key did go to the server
    leaks = [name for name, text in written.items() if KEY in text]
    assert leaks == []
    assert KEY not in logs
    predictions = written["results/predictions/m1.jsonl"]
    assert "invalid credentials" in predictions and "***" in predictions  # the rest is kept
    assert "invalid credentials" in written["results/scores.jsonl"]  # the judge's echo too


def test_a_failed_run_says_why_without_the_key(
    tmp_path: Path, model: MockModelServer, judge: MockModelServer
) -> None:
    logs = run(tmp_path, "infer", model.url, judge.url, 0.0)
    message = (tmp_path / "termination-log").read_text(encoding="utf-8")
    assert "most common error: HTTP 401: invalid credentials" in message
    assert "***" in message and KEY not in message
    assert KEY not in logs
