"""CRD schema enforcement: defaults, pruning, JSON-schema errors with field paths, CEL rules."""

from __future__ import annotations

from typing import Any

import pytest

from modeleval_testkit.apiserver.schema import to_json_schema, validate_custom_resource
from modeleval_testkit.apiserver.testcrd import widget, widget_crd


def validate(spec: dict[str, Any], old_spec: dict[str, Any] | None = None) -> list[str]:
    old = widget("w", **old_spec) if old_spec is not None else None
    return validate_custom_resource(widget_crd(), widget("w", **spec), old=old).errors


def test_valid_object_gets_defaults_and_keeps_metadata() -> None:
    result = validate_custom_resource(widget_crd(), widget("w", size=2, parts=[{"name": "p1"}]))
    assert result.ok, result.errors
    assert result.object["spec"] == {
        "size": 2,
        "replicas": 1,
        "mode": "fast",
        "parts": [{"name": "p1", "weight": 1.0}],
    }
    assert result.object["metadata"] == {"name": "w", "namespace": "default"}
    assert result.object["apiVersion"] == "example.test/v1"


def test_unknown_fields_are_pruned_except_where_preserved() -> None:
    obj = widget("w", size=1, bogus=1, extra={"anything": {"goes": 1}}, labels={"a": "b"})
    obj["status"] = {"phase": "x", "junk": True}
    obj["topLevelJunk"] = 1
    result = validate_custom_resource(widget_crd(), obj)
    assert result.ok, result.errors
    assert "bogus" not in result.object["spec"]
    assert result.object["spec"]["extra"] == {"anything": {"goes": 1}}
    assert result.object["spec"]["labels"] == {"a": "b"}
    assert result.object["status"] == {"phase": "x"}
    assert "topLevelJunk" not in result.object


def test_input_is_not_modified() -> None:
    obj = widget("w", size=1, bogus=1)
    validate_custom_resource(widget_crd(), obj)
    assert obj["spec"] == {"size": 1, "bogus": 1}


def test_null_of_non_nullable_field_is_dropped_then_defaulted() -> None:
    result = validate_custom_resource(widget_crd(), widget("w", size=1, mode=None, comment=None))
    assert result.ok, result.errors
    assert result.object["spec"]["mode"] == "fast"
    assert result.object["spec"]["comment"] is None


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"size": 0, "replicas": 0},
            "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1",
        ),
        (
            {"size": 101},
            "spec.size: Invalid value: 101: spec.size in body should be less than or equal to 100",
        ),
        ({"replicas": 1}, "spec.size: Required value"),
        (
            {"size": "big"},
            'spec.size: Invalid value: "string": spec.size in body must be of type integer:'
            ' "string"',
        ),
        (
            {"size": 1, "mode": "medium"},
            'spec.mode: Unsupported value: "medium": supported values: "fast", "slow"',
        ),
        (
            {"size": 1, "name": "Bad"},
            "spec.name: Invalid value: \"Bad\": spec.name in body should match '^[a-z][a-z0-9-]*$'",
        ),
        (
            {"size": 1, "name": "a" * 21},
            f'spec.name: Invalid value: "{"a" * 21}": spec.name in body should be at most 20 chars'
            " long",
        ),
        ({"size": 1, "parts": [{"weight": 2}]}, "spec.parts[0].name: Required value"),
        (
            {"size": 1, "parts": [{"name": "p", "weight": 0}]},
            "spec.parts[0].weight: Invalid value: 0: spec.parts[0].weight in body should be"
            " greater than 0",
        ),
        (
            {"size": 1, "parts": [{"name": f"p{i}"} for i in range(4)]},
            "spec.parts: Too many: 4: must have at most 3 items",
        ),
        (
            {"size": 1, "labels": {"a": 1}},
            'spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type'
            ' string: "integer"',
        ),
        (
            {"size": 1, "port": 1.5},
            "spec.port: Invalid value: 1.5: spec.port in body must match at least one schema",
        ),
    ],
)
def test_schema_errors_name_the_field(spec: dict[str, Any], expected: str) -> None:
    assert validate(spec) == [expected]


def test_int_or_string_accepts_both() -> None:
    assert validate({"size": 1, "port": 80}) == []
    assert validate({"size": 1, "port": "http"}) == []


def test_cel_rule_with_field_path() -> None:
    assert validate({"size": 1, "replicas": 11}) == [
        'spec.replicas: Invalid value: "object": replicas may be at most ten times size'
    ]
    assert validate({"size": 2, "replicas": 20}) == []


def test_cel_rule_on_list_items() -> None:
    assert validate({"size": 1, "parts": [{"name": "p1"}, {"name": "q"}]}) == [
        'spec.parts[1]: Invalid value: "object": part names start with p'
    ]


def test_cel_transition_rule_sees_old_object() -> None:
    assert validate({"size": 1, "mode": "slow"}) == []  # create: no oldSelf, rule skipped
    assert validate({"size": 1, "mode": "slow"}, old_spec={"size": 1, "mode": "slow"}) == []
    assert validate({"size": 1, "mode": "fast"}, old_spec={"size": 1, "mode": "slow"}) == [
        'spec.mode: Invalid value: "fast": mode is immutable'
    ]


def test_several_errors_are_all_reported() -> None:
    errors = validate({"size": 0, "replicas": 0, "mode": "x", "parts": [{"name": "q"}]})
    assert len(errors) == 3
    assert {e.split(":")[0] for e in errors} == {"spec.size", "spec.mode", "spec.parts[0]"}


def test_causes_carry_field_and_reason() -> None:
    result = validate_custom_resource(widget_crd(), widget("w", size=0, replicas=0))
    (cause,) = result.causes
    assert cause.field == "spec.size"
    assert cause.reason == "FieldValueInvalid"
    assert cause.as_cause()["field"] == "spec.size"


def test_to_json_schema_converts_openapi_extensions() -> None:
    converted = to_json_schema(
        {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": {
                "a": {"type": "string", "nullable": True, "enum": ["x"]},
                "b": {"x-kubernetes-int-or-string": True},
            },
        }
    )
    assert converted == {
        "type": "object",
        "properties": {
            "a": {"type": ["string", "null"], "enum": ["x", None]},
            "b": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        },
    }
