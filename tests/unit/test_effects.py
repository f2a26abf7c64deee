"""The guard: every API field and operator setting has an effect, and a test that proves it.

The tables are ``tests/effects/*.yaml`` (how to add a row: docs/dev/CONTRACTS.md, "Effects
tables"). The CRD schemas are rendered from the models here, so a field is seen the moment it
is added to ``operator/modeleval/api`` (``test_crdgen`` keeps ``crds/`` equal to them).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from modeleval.api.kinds import KINDS, Kind, open_api_schema
from tests.support.effects import (
    TABLES,
    Row,
    Tree,
    chart_values,
    coverage_problems,
    env_variables,
    load_table,
    named_test_problems,
    names_problems,
    parse_rows,
    schema_tree,
    values_tree,
    writer_problems,
)
from tests.support.paths import REPO, load_yaml

PRODUCT = REPO / "operator" / "modeleval"
KIND_TABLES = {kind.kind: TABLES / f"{kind.singular}.yaml" for kind in KINDS}
SETTINGS_TABLE = TABLES / "settings.yaml"


def _kind_tree(kind: Kind, schema: dict[str, Any] | None = None) -> Tree:
    schema = schema or open_api_schema(kind)
    spec = schema_tree(schema["properties"]["spec"], f"{kind.kind}.spec")
    status = schema_tree(schema["properties"]["status"], f"{kind.kind}.status")
    return Tree(spec.leaves + status.leaves, spec.nodes | status.nodes)


def _settings_tables() -> tuple[dict[str, Row], dict[str, Row], list[str]]:
    """(environment rows, chart values rows, shape problems) of tests/effects/settings.yaml."""
    raw = load_yaml(SETTINGS_TABLE.read_text(encoding="utf-8"))
    table = str(SETTINGS_TABLE.relative_to(REPO))
    env, env_problems = parse_rows(raw.get("environment") or {}, f"{table} (environment)")
    values, values_problems = parse_rows(raw.get("values") or {}, f"{table} (values)")
    return env, values, env_problems + values_problems


def _all_tables() -> dict[str, dict[str, Row]]:
    tables = {}
    for path in KIND_TABLES.values():
        rows, problems = load_table(path)
        assert not problems, "\n".join(problems)
        tables[str(path.relative_to(REPO))] = rows
    env, values, problems = _settings_tables()
    assert not problems, "\n".join(problems)
    tables[f"{SETTINGS_TABLE.relative_to(REPO)} (environment)"] = env
    tables[f"{SETTINGS_TABLE.relative_to(REPO)} (values)"] = values
    return tables


def _product_files() -> list[Path]:
    return sorted(PRODUCT.rglob("*.py"))


# -- the guard -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_every_spec_and_status_field_has_a_row(kind: Kind) -> None:
    rows, problems = load_table(KIND_TABLES[kind.kind])
    table = str(KIND_TABLES[kind.kind].relative_to(REPO))
    problems += coverage_problems(_kind_tree(kind), rows, table)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_every_status_field_names_its_writer(kind: Kind) -> None:
    rows, _ = load_table(KIND_TABLES[kind.kind])
    table = str(KIND_TABLES[kind.kind].relative_to(REPO))
    status = {p: row for p, row in rows.items() if p.startswith(f"{kind.kind}.status.")}
    spec = {path: row for path, row in rows.items() if path not in status}
    problems = writer_problems(status, table, status=True)
    problems += writer_problems(spec, table, status=False)
    assert not problems, "\n".join(problems)


def test_every_environment_variable_has_a_row() -> None:
    env, _, problems = _settings_tables()
    table = f"{SETTINGS_TABLE.relative_to(REPO)} (environment)"
    problems += names_problems(env_variables(_product_files()), env, table)
    assert not problems, "\n".join(problems)


def test_every_chart_value_has_a_row() -> None:
    _, values, problems = _settings_tables()
    table = f"{SETTINGS_TABLE.relative_to(REPO)} (values)"
    problems += coverage_problems(values_tree(chart_values()), values, table)
    assert not problems, "\n".join(problems)


def test_every_named_test_exists_and_mentions_its_field() -> None:
    problems = []
    for table, rows in _all_tables().items():
        problems += named_test_problems(rows, table)
    assert not problems, "\n".join(problems)


def test_the_tables_are_not_empty() -> None:
    counts = {table: len(rows) for table, rows in _all_tables().items()}
    assert all(count > 20 for count in counts.values()), counts


INFORMATIONAL = {
    "EvalTask.spec.description": "Quarterly run of the support-QA set",
    "EvalTask.spec.opaque": '{"ticket": "EVAL-12", "owner": "qa-team"}',
    "ModelEvalServiceGroup.spec.description": "Qwen2 7B on two A100s",
    "ModelEvalServiceGroup.spec.type": "LLM",
    "ModelEvalServiceGroup.spec.modelId": "model-6f1e2c",
}
"""Fields that only record what their author wrote (the sources' descriptive fields). A row may
name ``test_informational_fields_are_kept_as_written`` only for these: a new field with no
behaviour has to be added here, where a reviewer sees it."""

MINIMAL = {
    "EvalTask": {
        "models": [{"name": "m", "endpoint": {"url": "http://m/v1"}}],
        "dataset": {"inline": [{"input": "x"}]},
    },
    "ModelEvalServiceGroup": {"image": "vllm/vllm-openai:v0.6"},
}


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_informational_fields_are_kept_as_written(kind: Kind) -> None:
    """Each informational field is accepted by the CRD, survives defaulting and pruning, and
    round-trips through the model the operator and ``modeleval run`` read."""
    from modeleval.api.crdgen import build_crd
    from modeleval_testkit.apiserver.schema import validate_custom_resource

    fields = {
        path.split(".spec.", 1)[1]: value
        for path, value in INFORMATIONAL.items()
        if path.startswith(f"{kind.kind}.")
    }
    spec = {**MINIMAL[kind.kind], **fields}
    obj = {"apiVersion": "modeleval.io/v1alpha1", "kind": kind.kind,
           "metadata": {"name": "x", "namespace": "ns"}, "spec": spec}  # fmt: skip
    result = validate_custom_resource(build_crd(kind), obj)
    assert result.ok, result.errors
    assert {k: result.object["spec"][k] for k in fields} == fields
    assert {k: kind.spec.model_validate(spec).to_wire()[k] for k in fields} == fields


def test_only_the_listed_fields_are_informational() -> None:
    named = {
        path
        for rows in _all_tables().values()
        for path, row in rows.items()
        if any(t.endswith("::test_informational_fields_are_kept_as_written") for t in row.tests)
    }
    assert named == set(INFORMATIONAL)


KNOWN_GAPS: set[str] = set()
"""Fields known to have no effect yet (their rows say ``gap:``). The list only shrinks: a new
hollow field fails here, and so does a fixed one still listed."""


def test_known_gaps_are_exactly_the_listed_ones() -> None:
    gaps = {path for rows in _all_tables().values() for path, row in rows.items() if row.gap}
    assert gaps == KNOWN_GAPS, (
        "a row says gap: but is not in KNOWN_GAPS (give the field an effect instead), or a "
        "listed gap was fixed (remove it from KNOWN_GAPS)"
    )


# -- the guard bites -------------------------------------------------------------------------


def _task_kind() -> Kind:
    return next(kind for kind in KINDS if kind.kind == "EvalTask")


def test_a_field_added_without_a_row_is_reported_by_name() -> None:
    kind = _task_kind()
    schema = copy.deepcopy(open_api_schema(kind))
    client = schema["properties"]["spec"]["properties"]["inference"]["properties"]["client"]
    client["properties"]["burstSize"] = {"type": "integer"}
    status = schema["properties"]["status"]["properties"]
    status["queuePosition"] = {"type": "integer"}
    rows, _ = load_table(KIND_TABLES[kind.kind])
    table = "tests/effects/evaltask.yaml"
    before = coverage_problems(_kind_tree(kind), rows, table)
    problems = [
        p for p in coverage_problems(_kind_tree(kind, schema), rows, table) if p not in before
    ]
    assert problems == [
        "EvalTask.spec.inference.client.burstSize: no effect row; add a row to "
        "tests/effects/evaltask.yaml (effect: what changing it changes; tests: the pytest "
        "node ids that prove it)",
        "EvalTask.status.queuePosition: no effect row; add a row to "
        "tests/effects/evaltask.yaml (effect: what changing it changes; tests: the pytest "
        "node ids that prove it)",
    ]


def test_a_removed_field_leaves_a_row_that_is_reported() -> None:
    kind = _task_kind()
    schema = copy.deepcopy(open_api_schema(kind))
    del schema["properties"]["spec"]["properties"]["performance"]["properties"]["stream"]
    rows, _ = load_table(KIND_TABLES[kind.kind])
    before = coverage_problems(_kind_tree(kind), rows, "t.yaml")
    problems = [
        p for p in coverage_problems(_kind_tree(kind, schema), rows, "t.yaml") if p not in before
    ]
    assert problems == [
        "EvalTask.spec.performance.stream: no such field or setting any more; "
        "remove its row from t.yaml"
    ]


def test_a_setting_added_without_a_row_is_reported_by_name(tmp_path: Path) -> None:
    extra = tmp_path / "settings_extra.py"
    extra.write_text(
        '"""A module that reads MODELEVAL_DOCSTRING_ONLY in its docstring (not a setting)."""\n'
        "import os\n"
        'BURST = os.environ.get("MODELEVAL_RUNNER_BURST", "4")\n'
        'def env(i): return f"MODELEVAL_SHARD_{i}"\n',
        encoding="utf-8",
    )
    env, _, _ = _settings_tables()
    before = names_problems(env_variables(_product_files()), env, "settings.yaml")
    found = env_variables([*_product_files(), extra])
    problems = [p for p in names_problems(found, env, "settings.yaml") if p not in before]
    assert [p.split(" (named at")[0] for p in problems] == [
        "MODELEVAL_RUNNER_BURST",
        "MODELEVAL_SHARD_*",
    ]
    assert all("add a row to settings.yaml" in p for p in problems)


def test_a_chart_value_added_without_a_row_is_reported_by_name() -> None:
    values = chart_values()
    values["runner"]["burst"] = 4
    _, rows, _ = _settings_tables()
    before = coverage_problems(values_tree(chart_values()), rows, "settings.yaml")
    problems = [
        p for p in coverage_problems(values_tree(values), rows, "settings.yaml") if p not in before
    ]
    assert [p.split(":")[0] for p in problems] == ["runner.burst"]


def test_a_row_must_name_a_real_test_that_mentions_the_field() -> None:
    rows, problems = parse_rows(
        {
            "EvalTask.spec.inference.client.parallel": {
                "effect": "requests in flight",
                "tests": [
                    "tests/unit/test_redact.py::test_that_does_not_exist",
                    "tests/unit/nowhere.py::test_x",
                    "tests/unit/test_redact.py::test_every_form_of_a_secret_is_masked[plain]",
                    "tests/unit/test_redact.py",
                ],
            },
            "EvalTask.spec.limits": {"effect": "", "tests": []},
        },
        "t.yaml",
    )
    assert problems == [
        "t.yaml: EvalTask.spec.limits: effect must be one line saying what changing it changes",
        "t.yaml: EvalTask.spec.limits: tests must list at least one pytest node id",
    ]
    assert named_test_problems(rows, "t.yaml") == [
        "EvalTask.spec.inference.client.parallel: tests/unit/test_redact.py::"
        "test_that_does_not_exist: no test test_that_does_not_exist (t.yaml)",
        "EvalTask.spec.inference.client.parallel: tests/unit/nowhere.py::test_x: no such file "
        "(t.yaml)",
        "EvalTask.spec.inference.client.parallel: tests/unit/test_redact.py::"
        "test_every_form_of_a_secret_is_masked[plain] never mentions 'parallel'; name the test "
        "that changes this field, or set mentions: to what it uses instead (t.yaml)",
        "EvalTask.spec.inference.client.parallel: tests/unit/test_redact.py: not a node id "
        "(path.py::test or path.py::Class::test) (t.yaml)",
    ]


def test_a_status_row_must_name_a_writer_that_writes_it() -> None:
    rows, _ = parse_rows(
        {
            "EvalTask.status.totalScore": {"effect": "e", "tests": ["t.py::t"]},
            "EvalTask.status.message": {
                "effect": "e",
                "tests": ["t.py::t"],
                "writer": "modeleval.nowhere:write",
            },
            "EvalTask.status.endTime": {
                "effect": "e",
                "tests": ["t.py::t"],
                "writer": "modeleval.settings:OperatorSettings",
            },
        },
        "t.yaml",
    )
    assert writer_problems(rows, "t.yaml", status=True) == [
        "EvalTask.status.totalScore: status field without a writer; add writer: "
        "module:function (the code that writes it) to its row in t.yaml",
        "EvalTask.status.message: writer modeleval.nowhere:write not found (t.yaml)",
        "EvalTask.status.endTime: writer modeleval.settings:OperatorSettings never mentions "
        "endTime or end_time (t.yaml)",
    ]
