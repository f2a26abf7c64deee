"""`modeleval run` against the mock model server: a whole local evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from modeleval.cli import main
from modeleval_testkit.mockserver import MockModelServer
from tests.support.tasks import local_task


def test_run_scores_a_task_locally(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = {"capital of France": "Paris", "2+2": "5", "中国的首都": "北京"}
    with MockModelServer(answers=answers).running() as server:
        task_file = tmp_path / "task.yaml"
        task = local_task(server.base_url + "/v1")
        task_file.write_text(yaml.safe_dump(task, allow_unicode=True))
        out = tmp_path / "out"
        code = main(["run", "-f", str(task_file), "--out", str(out), "--quiet"])
        assert code == 0, capsys.readouterr().err
        assert server.stats().requests == 3
    summary = json.loads(capsys.readouterr().out)
    # Two of three answers are exactly right.
    assert summary["metrics"]["accuracy"] == pytest.approx(200 / 3, abs=0.01)
    assert (out / "report.html").exists()
    assert (out / "predictions" / "mock.jsonl").read_text().count("\n") == 3


def test_run_evaluates_a_benchmark_locally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`modeleval run` on a benchmark task, its files read from a local mirror."""
    from tests.support.benchmarks import HUB

    monkeypatch.setenv("MODELEVAL_DATASET_PVC_DIR", str(HUB.parent))
    with MockModelServer().running() as server:
        task = {
            "apiVersion": "modeleval.io/v1alpha1",
            "kind": "EvalTask",
            "metadata": {"name": "arc"},
            "spec": {
                "models": [{"name": "m", "endpoint": {"url": server.url, "model": "m"}}],
                "benchmark": {
                    "name": "arc_challenge",
                    "fewShot": 2,
                    "source": {"pvc": {"claimName": "unused-locally", "path": HUB.name}},
                },
            },
        }
        task_file = tmp_path / "task.yaml"
        task_file.write_text(yaml.safe_dump(task))
        code = main(["run", "-f", str(task_file), "--out", str(tmp_path / "out"), "--quiet"])
        assert code == 0, capsys.readouterr().err
        assert server.stats().requests == 9
    summary = json.loads(capsys.readouterr().out)
    assert summary["benchmark"]["metric"] == "acc_norm"
    assert summary["perModel"]["m"]["counts"] == {"items": 9, "scored": 9, "excluded": 0}
    assert summary["totalScore"] == summary["perModel"]["m"]["metrics"]["acc_norm"]
