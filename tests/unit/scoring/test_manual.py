"""Manual evaluation scores: 1-5 per answer, means on 0-100, weights, totalScore, records."""

from __future__ import annotations

from typing import Any

import pytest

from modeleval.scoring.manual import (
    annotate_records,
    apply_manual,
    check_score,
    dimension_means,
    dimension_names,
    manual_weights,
    status_manual,
)
from modeleval.scoring.records import ItemRecord, ModelResult

DIMS = [{"dimension": "satisfaction"}, {"dimension": "fluency"}]


def test_dimension_names_put_satisfaction_first_once() -> None:
    assert dimension_names(["fluency", "satisfaction", "safety"]) == [
        "satisfaction",
        "fluency",
        "safety",
    ]


@pytest.mark.parametrize("value", [1, 5, "3", 4.0])
def test_scores_are_integers_from_1_to_5(value: Any) -> None:
    assert check_score(value) == int(float(value))


@pytest.mark.parametrize("value", [0, 6, 2.5, "x", None, True])
def test_other_scores_are_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="1 to 5"):
        check_score(value)


def test_means_are_per_model_and_dimension_on_0_to_100() -> None:
    annotations = [
        {"a": {"satisfaction": 5, "fluency": 4}, "b": {"satisfaction": 1}},
        {"a": {"satisfaction": 3, "fluency": 4}},
        {"ghost": {"satisfaction": 5}},
    ]
    means, counts = dimension_means(annotations, ["a", "b"], ["satisfaction", "fluency"])
    assert means == {"a": {"satisfaction": 80.0, "fluency": 80.0}, "b": {"satisfaction": 20.0}}
    assert counts == {
        "a": {"satisfaction": 2, "fluency": 2},
        "b": {"satisfaction": 1, "fluency": 0},
    }


def test_manual_dimensions_share_a_weight_of_one_unless_told() -> None:
    names = ["satisfaction", "fluency"]
    assert manual_weights(names, {}) == {"manual.satisfaction": 0.5, "manual.fluency": 0.5}
    assert manual_weights(names, {"manual": 3}) == {
        "manual.satisfaction": 1.5,
        "manual.fluency": 1.5,
    }
    assert manual_weights(names, {"manual.fluency": 0}) == {
        "manual.satisfaction": 0.5,
        "manual.fluency": 0.0,
    }


def test_apply_manual_adds_the_means_and_recomputes_every_total_score() -> None:
    summary = {
        "totalScore": 60.0,
        "metrics": {"accuracy": 60.0},
        "perModel": {
            "a": {"totalScore": 80.0, "metrics": {"accuracy": 80.0}},
            "b": {"totalScore": 40.0, "metrics": {"accuracy": 40.0}},
        },
        "weights": {"accuracy": 1.0},
        "definition": "accuracy only.",
        "manual": {"dimensions": DIMS, "pending": True},
    }
    means = {"a": {"satisfaction": 100.0, "fluency": 60.0}, "b": {"satisfaction": 40.0}}
    merged = apply_manual(
        summary,
        dimensions=DIMS,
        means=means,
        counts={},
        weights={},
        annotated_items=2,
        items=3,
        completed_by="eddie",
    )
    # a: accuracy 80 (w 1), satisfaction 100 (w .5), fluency 60 (w .5) → (80 + 50 + 30) / 2
    assert merged["perModel"]["a"]["totalScore"] == 80.0
    # b: accuracy 40 (w 1), satisfaction 40 (w .5) → 60 / 1.5
    assert merged["perModel"]["b"]["totalScore"] == 40.0
    assert merged["metrics"] == {
        "accuracy": 60.0,
        "manual.satisfaction": 70.0,
        "manual.fluency": 60.0,
    }
    assert merged["totalScore"] == 62.5  # (60 + 35 + 30) / 2
    assert merged["weights"] == {"accuracy": 1.0, "manual.satisfaction": 0.5, "manual.fluency": 0.5}
    assert merged["manual"]["pending"] is False
    assert merged["manual"]["annotatedItems"] == 2 and merged["manual"]["completedBy"] == "eddie"
    assert "Manual dimensions" in merged["definition"]
    assert status_manual(merged) == {
        "scores": {"satisfaction": 70.0, "fluency": 60.0},
        "annotatedItems": 2,
        "items": 3,
    }


def test_manual_only_total_score_is_the_mean_of_the_dimensions() -> None:
    summary = {"totalScore": None, "metrics": {}, "perModel": {"a": {"metrics": {}}}, "weights": {}}
    merged = apply_manual(
        summary,
        dimensions=DIMS,
        means={"a": {"satisfaction": 80.0, "fluency": 100.0}},
        counts={},
        weights={},
        annotated_items=1,
        items=1,
    )
    assert merged["totalScore"] == 90.0 and merged["perModel"]["a"]["totalScore"] == 90.0


def test_annotate_records_adds_scores_and_metrics() -> None:
    records = [
        ItemRecord("q0", "i", "t", {"a": ModelResult("x", {"accuracy": 1.0})}),
        ItemRecord("q1", "i", "t", {"a": ModelResult("y")}),
    ]
    count = annotate_records(records, {"q0": {"a": {"satisfaction": 4}}, "zz": {"a": {}}})
    assert count == 1
    assert records[0].manual == {"a": {"satisfaction": 4}}
    assert records[0].models["a"].metrics == {"accuracy": 1.0, "manual.satisfaction": 0.8}
    assert records[1].manual is None
    assert ItemRecord.from_dict(records[0].to_dict()) == records[0]
