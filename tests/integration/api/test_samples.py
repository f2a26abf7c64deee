"""Every sample parses, round-trips, and validates against the generated CRDs."""

from __future__ import annotations

from typing import Any

import pytest

from modeleval.api import EvalTask, ModelEvalServiceGroup
from modeleval_testkit.apiserver.schema import validate_custom_resource
from tests.support.paths import sample_documents

MODELS = {"EvalTask": EvalTask, "ModelEvalServiceGroup": ModelEvalServiceGroup}
DOCS = sample_documents()


def test_samples_cover_the_required_scenarios() -> None:
    kinds = [doc["kind"] for _, doc in DOCS]
    assert kinds.count("ModelEvalServiceGroup") >= 2
    tasks = [doc["spec"] for _, doc in DOCS if doc["kind"] == "EvalTask"]
    assert any(m.get("serviceGroupRef") for t in tasks for m in t.get("models", []))
    assert any("model" in t.get("scoring", {}).get("modes", []) for t in tasks)
    assert any(t.get("scoring", {}).get("pairwise", {}).get("enabled") for t in tasks)
    assert any(t.get("type") == "Performance" for t in tasks)
    assert any("manual" in t.get("scoring", {}).get("modes", []) for t in tasks)
    assert any(
        g["spec"]["resources"]["gpu"]["count"] == 1
        for _, g in DOCS
        if g["kind"] == "ModelEvalServiceGroup"
    )


@pytest.mark.parametrize(("name", "doc"), DOCS, ids=[name for name, _ in DOCS])
def test_sample_round_trips(name: str, doc: dict[str, Any]) -> None:
    model = MODELS[doc["kind"]].model_validate(doc)
    assert model.to_wire() == doc


@pytest.mark.parametrize(("name", "doc"), DOCS, ids=[name for name, _ in DOCS])
def test_sample_validates_against_crd(
    name: str, doc: dict[str, Any], crds: dict[str, dict[str, Any]]
) -> None:
    result = validate_custom_resource(crds[doc["kind"]], doc)
    assert result.ok, result.errors
    # Defaulting and pruning keep every field the sample wrote.
    assert _contains(result.object["spec"], doc["spec"])


def _contains(big: Any, small: Any) -> bool:
    if isinstance(small, dict):
        return isinstance(big, dict) and all(
            k in big and _contains(big[k], v) for k, v in small.items()
        )
    if isinstance(small, list):
        return (
            isinstance(big, list)
            and len(big) == len(small)
            and all(_contains(b, s) for b, s in zip(big, small, strict=True))
        )
    return bool(big == small)
