"""Scoring predictions of a benchmark task: summary.json, status, exclusions, files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modeleval.api.evaltask_status import EvalTaskStatus
from modeleval.benchmarks import DirectoryStore, load_requests, resolve
from modeleval.benchmarks.report import write_results
from modeleval.benchmarks.results import read_records, score_models
from tests.support.benchmarks import HUB

SPEC = resolve("mmlu", mode="generate", subsets=["abstract_algebra", "philosophy"], shots=0)
REQUESTS = load_requests(SPEC, DirectoryStore(HUB, "cais/mmlu"))


def records(right: set[str], failed: set[str] | None = None) -> list[dict[str, Any]]:
    failed = failed or set()
    out = []
    for r in REQUESTS:
        gold = r.meta["reference"]
        answer = f" {gold}" if r.id in right else " Z"
        out.append(
            {
                "id": r.id,
                "input": r.question,
                "target": r.target,
                "output": None if r.id in failed else answer,
                "error": "HTTP 500" if r.id in failed else None,
                "benchmark": r.meta,
            }
        )
    return out


def test_totals_subsets_categories_and_exclusions() -> None:
    ids = [r.id for r in REQUESTS]
    summary = score_models(
        SPEC.benchmark,
        SPEC.variant,
        SPEC.shots,
        {"a": records(set(ids[:4]), failed={ids[-1]}), "b": records(set(ids))},
    )
    a, b = summary.models
    assert a.excluded == 1 and a.result.items == len(ids) - 1
    assert a.total_score == round(4 / (len(ids) - 1) * 100, 4)
    assert b.total_score == 100.0
    assert summary.total_score == round((a.total_score + 100) / 2, 4)
    patch = summary.status_patch()
    status = EvalTaskStatus.model_validate(patch)  # the shapes the CRD declares
    assert status.scores is not None and status.scores.benchmark is not None
    assert status.scores.benchmark.metric == "exact_match"
    model_a = patch["scores"]["perModel"][0]
    assert [s["name"] for s in model_a["subsets"]] == ["abstract_algebra", "philosophy"]
    assert [c["name"] for c in model_a["categories"]] == ["stem", "humanities"]
    assert patch["scores"]["excluded"] == 1
    assert "micro average" in patch["scores"]["definition"]


def test_files_of_the_scoring_phase(tmp_path: Path) -> None:
    ids = [r.id for r in REQUESTS]
    summary = score_models(SPEC.benchmark, SPEC.variant, 0, {"m": records({ids[0]})})
    write_results(tmp_path, summary, "title <script>")
    lines = [json.loads(x) for x in (tmp_path / "scores.jsonl").read_text("utf-8").splitlines()]
    assert [x["id"] for x in lines] == ids
    assert lines[0]["models"]["m"]["metrics"] == {"exact_match": 1.0}
    assert lines[1]["models"]["m"]["extracted"] == {"exact_match": "Z"}
    document = json.loads((tmp_path / "summary.json").read_text("utf-8"))
    assert document["benchmark"]["name"] == "mmlu" and document["evalMode"] == ["benchmark"]
    html = (tmp_path / "report.html").read_text("utf-8")
    assert "title &lt;script&gt;" in html and "<script>" not in html
    assert "abstract_algebra" in html


def test_the_last_predictions_line_of_an_item_wins(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "x", "output": null}\n\n{"id": "x", "output": "A"}\n', "utf-8")
    assert read_records(path) == [{"id": "x", "output": "A"}]


def test_shard_files_are_read_together_and_an_answer_beats_a_later_failure(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "0.jsonl", tmp_path / "1.jsonl"
    first.write_text('{"id": "a", "output": "A"}\n{"id": "b", "output": "B"}\n', "utf-8")
    second.write_text(
        '{"id": "c", "output": "C"}\n{"id": "a", "output": null, "error": "http_500"}\n', "utf-8"
    )
    records = {r["id"]: r for r in read_records([first, second])}
    assert sorted(records) == ["a", "b", "c"]
    assert records["a"] == {"id": "a", "output": "A"}


def test_the_status_scores_each_subset_category_and_the_run() -> None:
    """status.scores.perModel[].subsets (name, items, scores, category), .categories (name,
    items, scores, macro), .macro and status.scores.benchmark, for one model that answered 4
    of 5 abstract_algebra questions right, no philosophy one, and failed one."""
    ids = [r.id for r in REQUESTS]
    summary = score_models(
        SPEC.benchmark, SPEC.variant, SPEC.shots, {"a": records(set(ids[:4]), failed={ids[-1]})}
    )
    scores = summary.status_patch()["scores"]
    [model] = scores["perModel"]
    assert model["subsets"] == [
        {"name": "abstract_algebra", "items": 5, "scores": {"exact_match": 80.0},
         "category": "stem"},
        {"name": "philosophy", "items": 7, "scores": {"exact_match": 0.0},
         "category": "humanities"},
    ]  # fmt: skip
    assert model["categories"] == [
        {"name": "stem", "items": 5, "scores": {"exact_match": 80.0},
         "macro": {"exact_match": 80.0}},
        {"name": "humanities", "items": 7, "scores": {"exact_match": 0.0},
         "macro": {"exact_match": 0.0}},
    ]  # fmt: skip
    assert model["macro"] == {"exact_match": 40.0}  # the mean of the two subjects
    assert model["totalScore"] == round(4 / 12 * 100, 4)  # the mean of the 12 answers
    assert scores["benchmark"] == {
        "name": "mmlu",
        "mode": "generate",
        "fewShot": 0,
        "metric": "exact_match",
        "reference": "lm-eval 0.4.13 mmlu_generative",
    }
    five_shot = score_models(SPEC.benchmark, SPEC.variant, 5, {"a": records(set(ids))})
    assert five_shot.status_patch()["scores"]["benchmark"]["fewShot"] == 5


def test_a_subset_has_no_macro_and_a_category_no_category() -> None:
    """A subset (``SubsetScores``) carries its category and no macro; a category
    (``CategoryScores``) its macro and no category: the CRD declares neither, so the API server
    prunes a stray one, and the writers never send one."""
    from modeleval.api.crdgen import build_crd
    from modeleval.api.kinds import KINDS
    from modeleval_testkit.apiserver.schema import validate_custom_resource

    ids = [r.id for r in REQUESTS]
    summary = score_models(SPEC.benchmark, SPEC.variant, 0, {"a": records(set(ids[:4]))})
    [model] = summary.status_patch()["scores"]["perModel"]
    assert all("macro" not in s and "category" in s for s in model["subsets"])
    assert all("category" not in c and "macro" in c for c in model["categories"])
    assert all("macro" not in s for s in summary.to_dict()["perModel"]["a"]["subsets"])

    task = next(kind for kind in KINDS if kind.kind == "EvalTask")
    stray = {"name": "x", "items": 1, "scores": {"exact_match": 1.0}}
    obj = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": "x", "namespace": "ns"},
        "spec": {
            "models": [{"name": "m", "endpoint": {"url": "http://m/v1"}}],
            "dataset": {"inline": [{"input": "x"}]},
        },
        "status": {"scores": {"perModel": [{
            "model": "m",
            "subsets": [{**stray, "category": "stem", "macro": {"exact_match": 1.0}}],
            "categories": [{**stray, "macro": {"exact_match": 1.0}, "category": "stem"}],
        }]}},
    }  # fmt: skip
    result = validate_custom_resource(build_crd(task), obj)
    assert result.ok, result.errors
    assert sorted(result.pruned) == [
        "status.scores.perModel[0].categories[0].category",
        "status.scores.perModel[0].subsets[0].macro",
    ]
