"""What the console keeps of an EvalTask and of an item record (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from modeleval.console.records import dataset_key, histograms, item_row, task_fields
from tests.support.console import evaltask


@pytest.mark.parametrize(
    ("dataset", "key"),
    [
        ({"name": "demo-qa", "configMap": {"name": "cm", "key": "k"}}, "name:demo-qa"),
        ({"configMap": {"name": "cm", "key": "qa.jsonl"}}, "configMap:team/cm/qa.jsonl"),
        ({"pvc": {"claimName": "data", "path": "/qa.csv"}}, "pvc:team/data//qa.csv"),
        ({"url": "https://example.com/qa.jsonl"}, "url:https://example.com/qa.jsonl"),
        ({"s3": {"url": "s3://b/qa.jsonl"}}, "s3:s3://b/qa.jsonl"),
    ],
)
def test_dataset_keys(dataset: dict[str, object], key: str) -> None:
    assert dataset_key({"dataset": dataset}, "team") == key


def test_inline_datasets_are_keyed_by_content() -> None:
    one = dataset_key({"dataset": {"inline": [{"input": "a"}]}}, "x")
    assert one == dataset_key({"dataset": {"inline": [{"input": "a"}]}}, "y")
    assert one != dataset_key({"dataset": {"inline": [{"input": "b"}]}}, "x")


def test_task_fields_of_a_manual_task() -> None:
    fields = task_fields(evaltask(manual=("fluency",), state="RunningWithManualBegin"))
    assert fields["eval_type"] == "manual"
    assert [d["dimension"] for d in fields["manual_dimensions"]] == ["satisfaction", "fluency"]
    assert fields["state"] == "RunningWithManualBegin"
    assert fields["created_at"] == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert fields["models"] == ["m1"] and fields["dataset"] == "name:qa-set"


def test_item_rows_keep_the_worst_model_score_and_failures() -> None:
    record = {
        "id": "q1",
        "input": "in",
        "target": "t",
        "models": {
            "a": {"answer": "x", "metrics": {"accuracy": 1.0}, "judge": {"score": 2.5}},
            "b": {"answer": None, "metrics": {}, "error": "inference failed: timeout"},
        },
    }
    row = item_row(record, 7, 5.0)
    assert row["seq"] == 7 and row["key"] == "q1"
    assert row["score"] == 75.0  # a: (100 + 50) / 2; b has no score
    assert row["failed"] is True
    assert "id" not in row["data"] and row["data"]["models"]["b"]["error"]


def test_histograms_count_values_in_ten_bins() -> None:
    datas = [{"models": {"a": {"metrics": {"accuracy": value}}}} for value in (0.0, 0.05, 0.5, 1.0)]
    assert histograms(datas, 5.0) == {"accuracy": {"a": [2, 0, 0, 0, 0, 1, 0, 0, 0, 1]}}
