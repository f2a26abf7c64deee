"""`modeleval benchmarks list` and `modeleval results` on a benchmark task."""

from __future__ import annotations

from typing import Any

import pytest

from modeleval import kube
from modeleval.cli import main


def test_list_names_every_benchmark_with_its_modes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["benchmarks", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("mmlu")
    assert "hellaswag" in out and "EvalScope 1.14.1 ceval" in out
    assert "loglikelihood (default): 0-shot, lm-eval 0.4.13 mmlu" in out


def test_results_shows_subjects_and_categories(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status: dict[str, Any] = {
        "state": "Succeeded",
        "totalScore": 62.5,
        "scores": {
            "metrics": {"acc": 62.5},
            "benchmark": {
                "name": "mmlu",
                "mode": "loglikelihood",
                "fewShot": 5,
                "metric": "acc",
                "reference": "lm-eval 0.4.13 mmlu",
            },
            "perModel": [
                {
                    "model": "qwen",
                    "totalScore": 62.5,
                    "macro": {"acc": 60.0},
                    "categories": [{"name": "stem", "items": 8, "scores": {"acc": 62.5}}],
                    "subsets": [{"name": "anatomy", "items": 8, "scores": {"acc": 62.5}}],
                }
            ],
        },
    }
    monkeypatch.setattr(kube, "get_custom", lambda *_: {"status": status})
    assert main(["results", "t", "-n", "ns"]) == 0
    out = capsys.readouterr().out
    assert "mmlu (loglikelihood, 5-shot, lm-eval 0.4.13 mmlu): acc per model" in out
    assert "anatomy" in out and "(8 items)" in out
