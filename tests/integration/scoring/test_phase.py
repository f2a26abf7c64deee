"""The scoring phase process: task.json in, results and a status patch out."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from modeleval.api import EvalTaskStatus, ScoringSpec, SecretKeySelector, secret_env_name
from modeleval.runner import score as score_phase
from modeleval.runner.score import main, run_score_phase
from modeleval.scoring import ScoringConfig
from modeleval.scoring.verdicts import CAUSE_ECHO
from modeleval_testkit.mockserver import MockModelServer
from tests.support.judges import RULES

SECRET = {"name": "judge-key", "key": "token"}


class RecordingSink:
    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []

    async def patch_status(self, patch: dict[str, Any]) -> None:
        self.patches.append(patch)


def write_predictions(results: Path, rows: dict[str, list[dict[str, Any]]]) -> None:
    (results / "predictions").mkdir(parents=True)
    for model, items in rows.items():
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items)
        (results / "predictions" / f"{model}.jsonl").write_text(lines, encoding="utf-8")


def file_names(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def task(judge_url: str | None, scoring: dict[str, Any]) -> dict[str, Any]:
    endpoint = {"url": "http://127.0.0.1:9/v1", "model": "m"}
    spec: dict[str, Any] = {
        "models": [{"name": "cand", "endpoint": endpoint},
                   {"name": "base", "endpoint": endpoint, "isBaseline": True}],
        "scoring": scoring,
    }  # fmt: skip
    if judge_url:
        spec["scoring"]["judge"] = {
            "endpoint": {"url": judge_url, "model": "mock-model", "apiKeySecretRef": SECRET},
            "promptParam": {"metric": "质量", "steps": None, "maxScore": 5},
            "client": {"parallel": 2, "maxRetries": 0, "readTimeoutSeconds": 5},
        }
    return {"apiVersion": "modeleval.io/v1alpha1", "kind": "EvalTask",
            "metadata": {"name": "t1", "namespace": "ns"}, "spec": spec}  # fmt: skip


ROWS = {
    "cand": [{"id": "1", "input": "q1", "target": "北京", "output": "北京 q=5"},
             {"id": "2", "input": "q2", "target": "的 上海", "output": "上海 q=1"}],
    "base": [{"id": "1", "input": "q1", "target": "北京", "output": "北京的 q=2"},
             {"id": "2", "input": "q2", "target": "的 上海", "output": "上海 q=5"}],
}  # fmt: skip


@pytest.fixture
async def judge_server() -> AsyncIterator[MockModelServer]:
    server = MockModelServer(rules=RULES)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_run_score_phase_end_to_end(judge_server: MockModelServer, tmp_path: Path) -> None:
    write_predictions(tmp_path, ROWS)
    (tmp_path / "stop.txt").write_text("的\nq\n", encoding="utf-8")
    scoring = {
        "modes": ["rule", "model"],
        "rule": {"scoreModes": ["accuracy"], "accuracyMatch": "contains",
                 "stopWordsPath": "stop.txt", "normalization": {"punctuation": True}},
        "pairwise": {"enabled": True, "swapPositions": True},
    }  # fmt: skip
    sink = RecordingSink()
    env = {secret_env_name(SecretKeySelector.model_validate(SECRET)): "s3cr3t"}
    summary = await run_score_phase(task(judge_server.url, scoring), tmp_path, env=env, sink=sink)

    # Stop words from the file in the results dir: "的" and "q" removed before matching.
    assert summary.per_model["cand"]["metrics"]["accuracy"] == 100.0
    assert summary.per_model["base"]["metrics"]["accuracy"] == 100.0
    # Judge: cand scores 5 and 1, base 2 and 5 (maxScore 5 from promptParam).
    assert summary.per_model["cand"]["metrics"]["judge"] == pytest.approx(60.0)
    assert summary.per_model["base"]["metrics"]["judge"] == pytest.approx(70.0)
    assert summary.gsb is not None
    assert (summary.gsb["good"], summary.gsb["same"], summary.gsb["bad"]) == (1, 0, 1)
    assert file_names(tmp_path) >= {"scores.jsonl", "summary.json", "report.html"}

    final = sink.patches[-1]
    status = EvalTaskStatus.model_validate(final)  # the API's own status model accepts it
    assert status.total_score == summary.total_score
    assert status.gsb is not None and status.gsb.net_score == 0.0
    assert status.gsb.candidate == "cand" and status.gsb.baseline == "base"
    assert status.scores is not None and status.scores.per_model is not None
    assert [m.model for m in status.scores.per_model] == ["cand", "base"]
    assert status.scores.metrics == {"accuracy": 100.0, "judge": 65.0}


def test_config_from_api_scoring_spec_dump() -> None:
    spec = ScoringSpec.model_validate(
        {"modes": ["rule", "manual"],
         "rule": {"similarityMetrics": ["rougeL", "editDistance"], "accuracyMatch": "choice",
                  "normalization": {"lowercase": False, "whitespace": False,
                                    "punctuation": False, "fullWidth": False}},
         "manual": {"evalDimension": [{"dimension": "fluency"}]},
         "weights": {"accuracy": 2}}
    )  # fmt: skip
    dumped = spec.model_dump(mode="json", by_alias=True)  # explicit nulls included
    config = ScoringConfig.from_task_spec({"scoring": dumped})
    assert config.eval_mode == ["rule", "manual"]
    assert config.rule.similarity_metrics == ["rougeL", "editDistance"]
    assert config.rule.accuracy_match == "choice"
    norm = config.rule.normalization
    assert (norm.lowercase, norm.collapse_whitespace, norm.remove_punctuation, norm.nfkc) == (
        False, False, False, False)  # fmt: skip
    assert [d.dimension for d in config.manual.eval_dimension] == ["satisfaction", "fluency"]
    assert config.weights == {"accuracy": 2}
    assert not config.pairwise_enabled


def test_main_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = tmp_path / "results"
    task_file = tmp_path / "task.json"
    term = tmp_path / "termination-log"
    task_file.write_text(json.dumps(task(None, {"modes": ["rule"]})), encoding="utf-8")
    monkeypatch.setenv("MODELEVAL_TASK_FILE", str(task_file))
    monkeypatch.setenv("MODELEVAL_RESULTS_DIR", str(results))
    monkeypatch.setenv("MODELEVAL_TERMINATION_LOG", str(term))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    assert main() == 1  # no predictions yet
    assert "no predictions" in term.read_text("utf-8")

    write_predictions(results, ROWS)
    assert main() == 0
    summary = json.loads((results / "summary.json").read_text("utf-8"))
    assert summary["evalMode"] == ["rule"] and summary["totalScore"] is not None

    judged = task(None, {"modes": ["model"]})
    task_file.write_text(json.dumps(judged), encoding="utf-8")
    assert main() == 1  # judge mode without any judge endpoint
    assert "no judge client" in term.read_text("utf-8")


async def test_a_judge_that_repeats_the_prompt_fails_every_judged_item(tmp_path: Path) -> None:
    """The issue's case at the runner: the mock server answers by echoing the prompt. Every
    judge and GSB item fails with the echo as cause, both metrics are over budget, and the
    status says so (the phase itself exits 0: the operator fails the task)."""
    write_predictions(tmp_path, ROWS)
    scoring = {"modes": ["rule", "model"], "pairwise": {"enabled": True}}
    sink = RecordingSink()
    env = {secret_env_name(SecretKeySelector.model_validate(SECRET)): "s3cr3t"}
    echo = await MockModelServer().start()  # no rules: every reply is the prompt itself
    try:
        summary = await run_score_phase(task(echo.url, scoring), tmp_path, env=env, sink=sink)
    finally:
        await echo.stop()
    judge, gsb = summary.failures
    assert (judge["metric"], judge["failed"], judge["total"]) == ("judge", 4, 4)
    assert (gsb["metric"], gsb["failed"], gsb["total"]) == ("gsb", 2, 2)
    assert judge["cause"] == gsb["cause"] == CAUSE_ECHO
    assert judge["overBudget"] and gsb["overBudget"]
    assert summary.gsb is not None
    assert (summary.gsb["good"], summary.gsb["same"], summary.gsb["bad"]) == (0, 0, 0)
    status = EvalTaskStatus.model_validate(sink.patches[-1])
    assert status.total_score is None
    assert status.scores is not None and status.scores.failures is not None
    assert [(f.metric, f.failed, f.total, f.over_budget) for f in status.scores.failures] == [
        ("judge", 4, 4, True),
        ("gsb", 2, 2, True),
    ]
    assert status.gsb is not None and status.gsb.failed == 2 and status.gsb.flipped == 0


class FlakySink(RecordingSink):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def patch_status(self, patch: dict[str, Any]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("HTTP 503")
        await super().patch_status(patch)


async def test_the_final_status_patch_is_retried_and_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(score_phase, "FINAL_PATCH_DELAYS_S", (0.0, 0.0, 0.0))
    write_predictions(tmp_path, ROWS)
    spec = task(None, {"modes": ["rule"]})
    flaky = FlakySink(failures=3)
    await run_score_phase(spec, tmp_path, env={}, sink=flaky)
    assert "scores" in flaky.patches[-1]  # the fourth attempt got through
    with pytest.raises(score_phase.StatusNotWritten, match="HTTP 503"):
        await run_score_phase(spec, tmp_path, env={}, sink=FlakySink(failures=4))
