"""Existing result sets (spec.existingResults) read into predictions, in both layouts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modeleval.api import EvalTask
from modeleval.builders.runplan import build_run_plan
from modeleval.runner.existing import ExistingResultsError, import_result_sets
from modeleval.runner.plan import dataset_source


def plan(*results: dict[str, Any]) -> dict[str, Any]:
    task = EvalTask.model_validate(
        {"metadata": {"name": "t", "namespace": "ns"},
         "spec": {"existingResults": list(results), "scoring": {"modes": ["rule"]}}}
    )  # fmt: skip
    return build_run_plan(task, None)


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_our_predictions_layout(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "input": "1+1?", "target": "2", "output": "2"},
        {"id": "b", "input": "2+2?", "target": "4", "output": None, "error": "HTTP 500"},
    ]
    names = import_result_sets(plan({"name": "run1", "source": {"inline": rows}}), tmp_path, {})
    assert names == ["run1"]
    assert read(tmp_path / "predictions" / "run1.jsonl") == [
        {"id": "a", "input": "1+1?", "target": "2", "output": "2", "error": None},
        {"id": "b", "input": "2+2?", "target": "4", "output": None, "error": "HTTP 500"},
    ]


def test_qianfan_layout_takes_response_as_the_answer(tmp_path: Path) -> None:
    data = tmp_path / "set.jsonl"
    data.write_text(
        json.dumps([{"prompt": "你好", "response": [["您好"]], "reference": "你好呀"}],
                   ensure_ascii=False) + "\n" +
        json.dumps({"prompt": "天空的颜色?", "response": "蓝色", "reference": "蓝色"},
                   ensure_ascii=False) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    result = {
        "name": "qf",
        "source": {"url": "https://x/set.jsonl", "fields": {"preset": "qianfan"}},
    }
    planned = plan(result)
    planned["existingResults"][0]["dataset"] = {
        **planned["existingResults"][0]["dataset"],
        "source": "file",
        "path": str(data),
    }
    import_result_sets(planned, tmp_path, {})
    rows = read(tmp_path / "predictions" / "qf.jsonl")
    assert [(r["input"], r["target"], r["output"]) for r in rows] == [
        ("你好", "你好呀", "您好"),
        ("天空的颜色?", "蓝色", "蓝色"),
    ]


def test_a_row_without_the_answer_names_its_line(tmp_path: Path) -> None:
    data = tmp_path / "set.csv"
    data.write_text("input,target,answer\nq,t,a\n", encoding="utf-8")
    planned = plan({"name": "csv", "source": {"url": "https://x/set.csv"}})
    planned["existingResults"][0]["dataset"].update(source="file", path=str(data))
    with pytest.raises(ExistingResultsError) as caught:
        import_result_sets(planned, tmp_path, {})
    assert str(caught.value) == (
        f"existing results csv: {data}:2: no answer column 'output' "
        "(set source.fields.output to the column that holds the model's answer)"
    )
    planned["existingResults"][0]["output"] = "answer"
    import_result_sets(planned, tmp_path, {})
    assert read(tmp_path / "predictions" / "csv.jsonl")[0]["output"] == "a"


def test_configmap_and_pvc_sets_are_read_where_the_job_mounts_them() -> None:
    planned = plan(
        {"name": "a", "source": {"configMap": {"name": "cm", "key": "a.jsonl"}}},
        {"name": "b", "source": {"pvc": {"claimName": "archive", "path": "/runs/b.jsonl"},
                                 "fields": {"output": "answer"}}},
    )  # fmt: skip
    a, b = planned["existingResults"]
    assert (a["dataset"]["mount"], a["dataset"]["key"], a["output"]) == ("0", "a.jsonl", "output")
    assert (b["dataset"]["mount"], b["output"]) == ("1", "answer")
    assert dataset_source(a["dataset"], {}).path == "/mnt/existing/0/a.jsonl"
    mounts = {"MODELEVAL_EXISTING_1": "/local/pvc/archive"}
    assert dataset_source(b["dataset"], mounts).path == "/local/pvc/archive/runs/b.jsonl"
    # The reference column is never guessed from the answer's usual names.
    assert b["dataset"]["mapping"] == {"target": "target"}
