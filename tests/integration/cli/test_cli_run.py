"""`modeleval run` against the mock model server: a whole local evaluation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def with_judge(task: dict[str, Any], judge_url: str, **client: Any) -> dict[str, Any]:
    spec = task["spec"]
    spec["scoring"] = {
        "modes": ["rule", "model"],
        "judge": {
            "endpoint": {"url": judge_url, "model": "mock-model"},
            "client": {"maxRetries": 0, **client},
        },
    }
    return task


def test_run_fails_like_the_operator_when_the_judge_gives_no_verdicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The judge server echoes every prompt: the run fails with the operator's message."""
    with MockModelServer().running() as server:  # no rules: the reply is the prompt itself
        task = with_judge(local_task(server.base_url + "/v1"), server.base_url + "/v1")
        task_file = tmp_path / "task.yaml"
        task_file.write_text(yaml.safe_dump(task, allow_unicode=True))
        code = main(["run", "-f", str(task_file), "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert (
        "error: scoring failed: too many failed items: judge failed on 3 of 3 items "
        "(100.0%, allowed 10.0%), most common cause (3 items): the judge repeated the prompt"
    ) in err


def test_run_warns_when_some_judge_items_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = [("(?s)Answer\\]\\n2\\+2", "I cannot judge this."), ("(?s)Answer\\]", "Score: 4")]
    with MockModelServer(rules=rules).running() as server:
        task = with_judge(
            local_task(server.base_url + "/v1"), server.base_url + "/v1", maxErrorRatio=0.5
        )
        task_file = tmp_path / "task.yaml"
        task_file.write_text(yaml.safe_dump(task, allow_unicode=True))
        code = main(["run", "-f", str(task_file), "--out", str(tmp_path / "out"), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["degraded"].startswith("judge failed on 1 of 3 items (33.3%, allowed 50.0%)")
    assert "warning: evaluation finished with failed items: judge failed on 1 of 3" in captured.err
