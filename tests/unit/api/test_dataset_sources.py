"""A dataset and an existing result set each take only the fields that do something there.

A dataset (``spec.dataset``, a group's ``evaluation.datasets[]``) has no answers, so its
``fields`` have no ``output``; a result set (``spec.existingResults[].source``) runs no
inference and has no leaderboard name, so its source has no ``name`` and its ``fields`` no
``system``. The model rejects each, naming the field, and the CRD does not declare it (the API
server prunes it; kubectl's strict field validation reports it as unknown).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from modeleval.api import EvalTask
from modeleval.api.crdgen import build_crd
from modeleval.api.kinds import KINDS
from modeleval.builders.runplan import build_run_plan
from modeleval_testkit.apiserver.schema import validate_custom_resource

ROWS = [{"id": "1", "input": "q", "target": "a", "output": "a"}]
DATASET_TASK: dict[str, Any] = {
    "apiVersion": "modeleval.io/v1alpha1",
    "kind": "EvalTask",
    "metadata": {"name": "t", "namespace": "ns"},
    "spec": {
        "models": [{"name": "m", "endpoint": {"url": "http://m/v1"}}],
        "dataset": {"name": "qa", "inline": ROWS, "fields": {"system": "sys"}},
    },
}
RESULTS_TASK: dict[str, Any] = {
    "apiVersion": "modeleval.io/v1alpha1",
    "kind": "EvalTask",
    "metadata": {"name": "t", "namespace": "ns"},
    "spec": {
        "existingResults": [
            {"name": "run-1", "source": {"inline": ROWS, "fields": {"output": "answer"}}}
        ],
    },
}


def _with(base: dict[str, Any], where: tuple[str | int, ...], key: str, value: Any) -> Any:
    doc = copy.deepcopy(base)
    node: Any = doc["spec"]
    for step in where:
        node = node[step]
    node[key] = value
    return doc


CASES = [
    ("dataset.fields.output", DATASET_TASK, ("dataset", "fields"), "output", "answer"),
    (
        "existingResults.0.source.fields.system",
        RESULTS_TASK,
        ("existingResults", 0, "source", "fields"),
        "system",
        "sys",
    ),
    (
        "existingResults.0.source.name",
        RESULTS_TASK,
        ("existingResults", 0, "source"),
        "name",
        "run-1",
    ),
]


def test_each_keeps_the_fields_that_work() -> None:
    """dataset.name, dataset.fields.system and a result set's fields.output are accepted and
    reach the run plan."""
    crd = build_crd(next(kind for kind in KINDS if kind.kind == "EvalTask"))
    for doc in (DATASET_TASK, RESULTS_TASK):
        result = validate_custom_resource(crd, doc)
        assert result.ok and not result.pruned, (result.errors, result.pruned)
    assert EvalTask.model_validate(DATASET_TASK).spec.dataset.name == "qa"  # type: ignore[union-attr]
    dataset = build_run_plan(EvalTask.model_validate(DATASET_TASK), None)["dataset"]
    assert dataset["mapping"] == {"system": "sys"}
    [result_set] = build_run_plan(EvalTask.model_validate(RESULTS_TASK), None)["existingResults"]
    assert result_set["output"] == "answer"


@pytest.mark.parametrize(
    ("field", "base", "where", "key", "value"), CASES, ids=[c[0] for c in CASES]
)
def test_a_field_that_does_nothing_there_is_rejected_by_name(
    field: str, base: dict[str, Any], where: tuple[str | int, ...], key: str, value: Any
) -> None:
    doc = _with(base, where, key, value)
    with pytest.raises(ValidationError) as info:
        EvalTask.model_validate(doc)
    [error] = info.value.errors()
    assert ".".join(str(step) for step in error["loc"]) == f"spec.{field}"
    assert error["type"] == "extra_forbidden"

    crd = build_crd(next(kind for kind in KINDS if kind.kind == "EvalTask"))
    result = validate_custom_resource(crd, doc)
    path = "spec." + ".".join(f"[{s}]" if isinstance(s, int) else s for s in (*where, key))
    assert result.pruned == [path.replace(".[", "[")]
