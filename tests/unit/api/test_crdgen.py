"""The generated CRDs are current, structural, valid CustomResourceDefinitions."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from modeleval.api import crdgen
from modeleval.api.structural import preserved_paths, structural_problems, to_structural
from tests.support.paths import REPO, load_crds

# Where unknown fields are kept on purpose: vendor pass-through parameters and a core/v1
# Affinity copied verbatim to the pods.
DELIBERATELY_FREE_FORM = {
    "EvalTask": {
        ".spec.models[].params.extra",
        ".spec.inference.params.extra",
        # inline rows keep their other columns: prompt {column}s, an existing set's output
        ".spec.dataset.inline[]",
        ".spec.existingResults[].source.inline[]",
    },
    "ModelEvalServiceGroup": {
        ".spec.placement.affinity",
        ".spec.evaluation.params.extra",
        ".spec.evaluation.datasets[].inline[]",
    },
}


def _schema(crd: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def test_generated_files_are_current() -> None:
    stale = [
        str(path.relative_to(REPO))
        for path, text in crdgen.generated_files(REPO).items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"run `python -m modeleval.api.crdgen`; stale: {stale}"


def test_check_mode_reports_drift(tmp_path: Path) -> None:
    assert crdgen.main(["--root", str(tmp_path)]) == 0  # writes everything
    assert crdgen.main(["--root", str(tmp_path), "--check"]) == 0
    target = tmp_path / "crds" / "evaltasks.yaml"
    target.write_text(target.read_text() + "# edited by hand\n")
    assert crdgen.main(["--root", str(tmp_path), "--check"]) == 1


def test_chart_crds_equal_crds() -> None:
    for path in (REPO / "crds").glob("*s.yaml"):
        assert (REPO / "charts/modeleval/crds" / path.name).read_text() == path.read_text()


@pytest.mark.parametrize("kind", ["EvalTask", "ModelEvalServiceGroup"])
def test_crds_are_structural(kind: str) -> None:
    schema = _schema(load_crds()[kind])
    assert structural_problems(schema) == []
    assert set(preserved_paths(schema)) == DELIBERATELY_FREE_FORM[kind]


def test_structural_checker_catches_violations() -> None:
    bad = {
        "type": "object",
        "properties": {
            "a": {"description": "untyped"},
            "b": {"type": "number", "exclusiveMinimum": 0},
            "c": {"type": "string", "title": "T"},
            "d": {
                "type": "object",
                "properties": {"x": {"type": "string"}},
                "additionalProperties": {"type": "string"},
            },
            "e": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
    }
    problems = "\n".join(structural_problems(bad))
    for expected in (
        ".a: no type",
        ".b: exclusiveMinimum",
        ".c: forbidden keyword 'title'",
        ".d: properties and additionalProperties",
        ".e: anyOf",
    ):
        assert expected in problems


def test_converter_rewrites_pydantic_constructs() -> None:
    pydantic_schema = {
        "$defs": {
            "Inner": {
                "title": "Inner",
                "type": "object",
                "properties": {"v": {"const": "x", "type": "string"}},
            }
        },
        "type": "object",
        "title": "Outer",
        "additionalProperties": False,
        "properties": {
            "opt": {
                "anyOf": [{"$ref": "#/$defs/Inner"}, {"type": "null"}],
                "default": None,
                "description": "optional inner",
            },
            "gt": {"type": "number", "exclusiveMinimum": 0},
            "free": {"type": "object", "additionalProperties": True},
        },
    }
    out = to_structural(pydantic_schema)
    assert out["properties"]["opt"] == {
        "type": "object",
        "description": "optional inner",
        "properties": {"v": {"type": "string", "enum": ["x"]}},
    }
    assert out["properties"]["gt"] == {"type": "number", "exclusiveMinimum": True, "minimum": 0}
    assert out["properties"]["free"] == {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    }
    assert "additionalProperties" not in out
    assert structural_problems(out) == []


@pytest.mark.parametrize("kind", ["EvalTask", "ModelEvalServiceGroup"])
def test_crd_passes_kubernetes_validate_strict(kind: str) -> None:
    crd = load_crds()[kind]
    kubernetes_validate.validate(crd, "1.32.0", strict=True)


def test_kubernetes_validate_catches_a_broken_crd() -> None:
    crd = copy.deepcopy(load_crds()["EvalTask"])
    _schema(crd)["properties"]["spec"]["x-kubernetes-preserve-unknown-fields"] = "yes"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(crd, "1.32.0", strict=True)


def test_printer_columns_names_and_category() -> None:
    crds = load_crds()
    columns = {
        kind: [
            col["name"].upper()
            for col in crd["spec"]["versions"][0]["additionalPrinterColumns"]
            if not col.get("priority")
        ]
        for kind, crd in crds.items()
    }
    assert columns["EvalTask"] == ["STATE", "PROGRESS", "SCORE", "TARGET", "AGE"]
    assert columns["ModelEvalServiceGroup"] == ["PHASE", "READY", "URL", "AGE"]
    for crd in crds.values():
        assert crd["spec"]["names"]["categories"] == ["modeleval"]
        assert crd["spec"]["scope"] == "Namespaced"
        assert crd["spec"]["versions"][0]["subresources"] == {"status": {}}
    assert crds["EvalTask"]["spec"]["names"]["shortNames"] == ["et"]
    assert crds["ModelEvalServiceGroup"]["spec"]["names"]["shortNames"] == ["mesg"]


def test_documented_ranges_are_in_the_schema() -> None:
    spec = _schema(load_crds()["EvalTask"])["properties"]["spec"]["properties"]
    params = spec["inference"]["properties"]["params"]["properties"]
    client = spec["inference"]["properties"]["client"]["properties"]
    assert (params["temperature"]["minimum"], params["temperature"]["maximum"]) == (0.01, 1.0)
    assert (params["topP"]["minimum"], params["topP"]["maximum"]) == (0.0, 1.0)
    assert (params["repetitionPenalty"]["minimum"], params["repetitionPenalty"]["maximum"]) == (
        1.0,
        2.0,
    )
    assert client["parallel"]["minimum"] == 1
    assert spec["limits"]["minimum"] == 1
    for timeout in ("connectTimeoutSeconds", "readTimeoutSeconds"):
        assert client[timeout]["minimum"] == 0 and client[timeout]["exclusiveMinimum"] is True
