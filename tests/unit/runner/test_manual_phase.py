"""The manual phase's files: annotations in; scores.jsonl, summary.json, report.html out."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from modeleval.runner.manual import write_manual_results
from modeleval.scoring.config import ScoringConfig
from modeleval.scoring.engine import score_results

SPEC_MANUAL: dict[str, Any] = {
    "models": [{"name": "a"}, {"name": "b"}],
    "scoring": {"modes": ["manual"], "manual": {"evalDimension": [{"dimension": "fluency"}]}},
}
DIMENSIONS = [{"dimension": "satisfaction"}, {"dimension": "fluency"}]


def predictions(results: Path, model: str, answers: list[str]) -> None:
    folder = results / "predictions"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps({"id": f"q{i}", "input": f"in {i}", "target": f"t{i}", "output": answer})
        for i, answer in enumerate(answers)
    ]
    (folder / f"{model}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def document(scores: dict[str, dict[str, dict[str, int]]]) -> dict[str, Any]:
    return {
        "task": {"manual": {"completedBy": "eddie"}},
        "dimensions": DIMENSIONS,
        "annotations": [{"id": key, "scores": value} for key, value in scores.items()],
    }


def test_manual_only_task_gets_scores_summary_and_report(tmp_path: Path) -> None:
    predictions(tmp_path, "a", ["x0", "x1", "x2"])
    predictions(tmp_path, "b", ["y0", "y1", "y2"])
    annotations = {
        "q0": {"a": {"satisfaction": 5, "fluency": 5}, "b": {"satisfaction": 1, "fluency": 3}},
        "q1": {"a": {"satisfaction": 3, "fluency": 5}, "b": {"satisfaction": 1, "fluency": 3}},
    }
    task = {"metadata": {"name": "judged"}, "spec": SPEC_MANUAL}
    summary = write_manual_results(task, tmp_path, document(annotations), {})
    assert summary.metrics == {"manual.satisfaction": 50.0, "manual.fluency": 80.0}
    assert summary.per_model["a"]["totalScore"] == 90.0  # (80 + 100) / 2
    assert summary.per_model["b"]["totalScore"] == 40.0  # (20 + 60) / 2
    assert summary.total_score == 65.0
    on_disk = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert on_disk["manual"]["annotatedItems"] == 2 and on_disk["manual"]["items"] == 3
    assert on_disk["manual"]["completedBy"] == "eddie" and on_disk["manual"]["pending"] is False
    lines = [json.loads(x) for x in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert lines[0]["manual"] == annotations["q0"]
    assert lines[0]["models"]["a"]["metrics"] == {"manual.satisfaction": 1.0, "manual.fluency": 1.0}
    assert "manual" not in lines[2]
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="manual-done"' in report and "manual.fluency" in report
    patch = summary.status_patch()
    assert patch["totalScore"] == 65.0 and patch["scores"]["metrics"]["manual.fluency"] == 80.0


def test_manual_scores_join_the_automatic_ones(tmp_path: Path) -> None:
    predictions(tmp_path, "a", ["t0", "wrong", "t2", "t3"])
    spec = {
        "models": [{"name": "a"}],
        "scoring": {"modes": ["rule", "manual"], "rule": {"scoreModes": ["accuracy"]}},
    }
    config = ScoringConfig.from_task_spec(spec)
    from modeleval.scoring.records import load_predictions_dir

    auto = asyncio.run(
        score_results(config, load_predictions_dir(tmp_path / "predictions"), tmp_path)
    )
    assert auto.metrics == {"accuracy": 75.0}
    annotations = {f"q{i}": {"a": {"satisfaction": 5}} for i in range(4)}
    task = {"metadata": {"name": "both"}, "spec": spec}
    document_ = document(annotations)
    document_["dimensions"] = [{"dimension": "satisfaction"}]
    summary = write_manual_results(task, tmp_path, document_, {})
    assert summary.metrics == {"accuracy": 75.0, "manual.satisfaction": 100.0}
    assert summary.total_score == 87.5  # accuracy weighs 1, the manual dimensions together 1
    assert summary.eval_mode == ["rule", "manual"]


def test_the_status_carries_the_dimension_means_and_counts(tmp_path: Path) -> None:
    """status.manual.scores (each dimension's mean over the models, 0-100), annotatedItems and
    items, as the manual phase patches them."""
    from modeleval.scoring.manual import status_manual

    predictions(tmp_path, "a", ["x0", "x1", "x2"])
    predictions(tmp_path, "b", ["y0", "y1", "y2"])
    annotations = {
        "q0": {"a": {"satisfaction": 5, "fluency": 5}, "b": {"satisfaction": 1, "fluency": 3}},
        "q1": {"a": {"satisfaction": 3, "fluency": 5}, "b": {"satisfaction": 1, "fluency": 3}},
    }
    task = {"metadata": {"name": "judged"}, "spec": SPEC_MANUAL}
    summary = write_manual_results(task, tmp_path, document(annotations), {})
    assert status_manual(summary.to_dict()) == {
        "scores": {"satisfaction": 50.0, "fluency": 80.0},
        "annotatedItems": 2,
        "items": 3,
    }
