"""DescribeEvalTask's ``result``, field by field against the Qianfan document itself.

The expected fields, their types and their nesting are read from the document's own tables
(docs/sources/qianfan-describe-eval-task.txt, ``<name>说明`` sections), and the shapes from its
JSON response example; five tasks — the shipped samples for a rule task, a judge task, a GSB
task, a manual task and an existing-results task, as ``kubectl apply`` would store them with
a status — must each give exactly the documented fields, of the documented types, and
together use every field the document lists.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from modeleval import constants as c
from modeleval.console.vendors.qianfan.describe import describe
from tests.support.paths import REPO
from tests.support.vendor_app import NS, Vendors

DOCUMENT = REPO / "docs" / "sources" / "qianfan-describe-eval-task.txt"
SAMPLES = REPO / "manifests" / "samples"
SECTION = re.compile(r"^(\w+)说明$")
ROW = re.compile(r"^(\w+) \| ([^|]+?) \| ")
SECTION_NAMES = {"evalConf": "evalConfig"}
"""The document's own spelling slip: its evalConfig table is headed evalConf说明."""
OPTIONAL_CHILDREN = {
    "evalObjectConfig": "one of evalModelConfig / evalInferDatasetConfig, by the evaluated objects",
    "evalConfig": "the config of each mode in evalMode",
    "params": "only the parameters that are set (the example's params is {})",
}


def document_tables() -> dict[str, dict[str, str]]:
    """Section -> {field: documented type}, from ``result说明`` on."""
    tables: dict[str, dict[str, str]] = {}
    current = None
    for line in DOCUMENT.read_text(encoding="utf-8").splitlines():
        header = SECTION.match(line.strip())
        if header:
            current = SECTION_NAMES.get(header.group(1), header.group(1))
            if current == "result" or "result" in tables:
                tables.setdefault(current, {})
            continue
        row = ROW.match(line.strip())
        if row and current in tables and row.group(1) != "名称":
            tables[current][row.group(1)] = row.group(2).strip()
    return tables


def document_example() -> dict[str, Any]:
    """The document's JSON response example (the block that is valid JSON)."""
    text = DOCUMENT.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    for start in (m.start() for m in re.finditer(r'^\{\n"requestId"', text, flags=re.M)):
        try:
            example, _end = decoder.raw_decode(text, start)
        except ValueError:
            continue
        assert isinstance(example, dict)
        return example
    raise AssertionError("no JSON example in the document")


TABLES = document_tables()
EXAMPLE = document_example()["result"]


def example_type(path: list[str]) -> type | None:
    """The JSON type the example shows at ``path`` (list elements skipped), if it shows one."""
    node: Any = EXAMPLE
    for step in path:
        while isinstance(node, list):
            node = node[0] if node else None
        if not isinstance(node, dict) or step not in node:
            return None
        node = node[step]
    return type(node) if node is not None else None


def type_ok(value: Any, documented: str, path: list[str]) -> bool:
    shown = example_type(path)
    if documented == "object[]" and shown is dict:
        documented = "object"  # evalObjectConfig: the table says object[], the answer is one
    number = isinstance(value, int | float) and not isinstance(value, bool)
    checks = {
        "string": isinstance(value, str),
        "object": isinstance(value, dict),
        "object[]": isinstance(value, list) and all(isinstance(v, dict) for v in value),
        "List<object>": isinstance(value, list) and all(isinstance(v, dict) for v in value),
        "string[]": value is None
        or (isinstance(value, list) and all(isinstance(v, str) for v in value)),
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": number,
        "number": number,
    }
    assert documented in checks, f"type {documented!r} of {'.'.join(path)} is not understood"
    return checks[documented]


def walk(node: dict[str, Any], section: str, path: list[str], seen: set[str]) -> None:
    """Every key of ``node`` is documented in ``section`` with its type; every documented
    key is there (except the optional children); nested sections are walked."""
    table = TABLES[section]
    undocumented = sorted(set(node) - set(table))
    assert not undocumented, f"{'.'.join(path)}: fields Qianfan does not document: {undocumented}"
    if section not in OPTIONAL_CHILDREN:
        missing = sorted(set(table) - set(node))
        assert not missing, f"{'.'.join(path)}: documented fields missing: {missing}"
    for key, value in node.items():
        where = [*path, key]
        seen.add(".".join(p for p in where if p))
        assert type_ok(value, table[key], where[1:]), (
            f"{'.'.join(where)} = {value!r} is not a {table[key]}"
        )
        if key in TABLES and value is not None:
            for child in value if isinstance(value, list) else [value]:
                walk(child, key, where, seen)


def stored(sample: str, status: dict[str, Any], uid: str) -> dict[str, Any]:
    """A sample EvalTask as the API server stores it, with a status."""
    docs = yaml.safe_load_all(Path(SAMPLES / sample).read_text(encoding="utf-8"))
    task = next(d for d in docs if d and d.get("kind") == "EvalTask")
    task["metadata"].update(namespace="team-a", uid=uid, creationTimestamp="2024-09-10T03:52:53Z")
    task["status"] = {"lastUpdateTime": "2024-09-10T08:52:25Z", **status}
    return task


def results(*models: str) -> list[dict[str, Any]]:
    return [{"model": m, "location": f"predictions/{m}.jsonl", "items": 8} for m in models]


RULE = stored(
    "20-evaltask-rule.yaml",
    {"state": "Succeeded", "evalType": "auto", "inferenceResults": results("qwen-7b")},
    "8e1f3a52-6f0e-4f55-9d55-3f3c0f6f0001",
)
RULE["spec"]["models"][0]["params"] = {  # every parameter Qianfan names, so all are checked
    "temperature": 0.5,
    "topP": 0.8,
    "penaltyScore": 1.2,
    "system": "You are brief.",
    "topK": 4,
    "stop": ["</s>"],
    "disableSearch": True,
    "enableCitation": False,
}
JUDGE = stored(
    "30-evaltask-judge-external.yaml",
    {"state": "Running", "inferenceResults": results("hosted-model")},
    "8e1f3a52-6f0e-4f55-9d55-3f3c0f6f0002",
)
GSB = stored(
    "40-evaltask-gsb.yaml",
    {
        "state": "RunningWithMetricsCalculating",
        "inferenceResults": results("candidate", "baseline"),
    },
    "8e1f3a52-6f0e-4f55-9d55-3f3c0f6f0003",
)
MANUAL = stored(
    "80-evaltask-manual.yaml",
    {"state": "RunningWithManualBegin", "evalType": "manual"},
    "8e1f3a52-6f0e-4f55-9d55-3f3c0f6f0004",
)
EXISTING = stored(
    "70-evaltask-existing-results.yaml",
    {"state": "Queued"},
    "8e1f3a52-6f0e-4f55-9d55-3f3c0f6f0005",
)
TASKS = {"rule": RULE, "judge": JUDGE, "gsb": GSB, "manual": MANUAL, "existing": EXISTING}
EXPECTED = {
    # kind: (evalObjectConfig child, evalMode, mode configs)
    "rule": ("evalModelConfig", "rule", {"autoRuleEvalConfig"}),
    "judge": ("evalModelConfig", "rule,model", {"autoRuleEvalConfig", "autoModelEvalConfig"}),
    "gsb": ("evalModelConfig", "model", {"autoModelEvalConfig"}),
    "manual": ("evalModelConfig", "manual", {"manualEvalConfig"}),
    "existing": (
        "evalInferDatasetConfig",
        "rule,manual",
        {"autoRuleEvalConfig", "manualEvalConfig"},
    ),
}


def test_the_document_is_read() -> None:
    assert set(TABLES["result"]) == {
        "taskId", "taskName", "description", "evalType", "state", "evalObjectConfig",
        "evalConfig", "inferDatasetList", "createTime", "updateTime",
    }  # fmt: skip
    assert len(TABLES) == 14 and TABLES["params"]["top_k"] == "int"
    assert EXAMPLE["taskId"] == "ame-4kvnxxxxx"


@pytest.mark.parametrize("kind", sorted(TASKS))
def test_each_kind_of_task_gives_exactly_the_documented_fields(kind: str) -> None:
    result = describe(TASKS[kind])
    walk(result, "result", [""], set())
    child, mode, configs = EXPECTED[kind]
    assert list(result["evalObjectConfig"]) == [child]
    assert result["evalConfig"]["evalMode"] == mode
    assert set(result["evalConfig"]) == {"evalMode", *configs}
    assert result["taskId"] == TASKS[kind]["metadata"]["uid"]
    assert result["state"] == TASKS[kind]["status"]["state"]
    assert result["createTime"] == "2024-09-10 03:52:53"
    assert result["updateTime"] == "2024-09-10 08:52:25"


def test_together_they_use_every_field_the_document_lists() -> None:
    seen: set[str] = set()
    for task in TASKS.values():
        walk(describe(task), "result", [""], seen)
    documented = set()

    def paths(section: str, prefix: str) -> None:
        for key in TABLES[section]:
            documented.add(f"{prefix}{key}")
            if key in TABLES:
                paths(key, f"{prefix}{key}.")

    paths("result", "")
    assert documented - seen == set()


def test_the_example_answers_shape_is_kept() -> None:
    """Every key the document's example answer has, the rule task's answer has, nested the
    same way."""

    def keys(node: Any, prefix: str = "") -> set[str]:
        if isinstance(node, list):
            return set().union(*(keys(n, prefix) for n in node)) if node else set()
        if not isinstance(node, dict):
            return set()
        out = set()
        for key, value in node.items():
            out.add(prefix + key)
            out |= keys(value, f"{prefix}{key}.")
        return out

    example = keys(EXAMPLE)
    example.discard("evalObjectConfig.evalModelConfig.evalModelConfigList.params")
    ours = keys(describe(RULE))
    assert example - ours == set()


def test_values_say_what_the_task_says() -> None:
    rule = describe(RULE)
    config = rule["evalObjectConfig"]["evalModelConfig"]
    assert config["versionId"] == "demo-qa"
    assert (config["storageType"], config["storagePath"]) == ("sysStorage", "")
    [model] = config["evalModelConfigList"]
    assert model["modelId"] == "qwen-7b" and model["isBaseline"] is False
    assert model["promptTemplate"] == "Answer briefly. Question: {input}"
    assert model["params"] == {
        "temperature": 0.5, "top_p": 0.8, "penalty_score": 1.2, "system": "You are brief.",
        "top_k": 4, "stop": ["</s>"], "disable_search": True, "enable_citation": False,
    }  # fmt: skip
    assert rule["evalConfig"]["autoRuleEvalConfig"] == {
        "scoreModes": ["accuracy", "similarity"],
        "stopWordList": ["the", "a", "的"],
        "stopWordsPath": "",
    }
    assert rule["inferDatasetList"] == [
        {"inferDatasetId": "predictions/qwen-7b.jsonl", "modelId": "qwen-7b"}
    ]
    assert rule["taskName"] == "Qwen 7B on the demo QA set" and rule["evalType"] == "auto"

    gsb = describe(GSB)
    baselines = {
        m["modelId"]: m["isBaseline"]
        for m in gsb["evalObjectConfig"]["evalModelConfig"]["evalModelConfigList"]
    }
    assert baselines == {"candidate": False, "baseline": True}
    assert gsb["evalConfig"]["autoModelEvalConfig"] == {
        "apiName": "judge",
        "promptParam": {"metric": "helpfulness and correctness", "steps": "", "maxScore": 10},
    }

    manual = describe(MANUAL)
    assert manual["evalType"] == "manual"
    assert [d["dimension"] for d in manual["evalConfig"]["manualEvalConfig"]["evalDimension"]] == [
        "correctness",
        "fluency",
    ]

    existing = describe(EXISTING)
    assert existing["evalObjectConfig"]["evalInferDatasetConfig"] == {
        "evalInferDatasetConfigList": [{"inferDatasetId": "run-2024-09", "isBaseline": False}]
    }
    assert existing["inferDatasetList"] == []  # result-set tasks produce none
    assert existing["evalType"] == "manual"  # derived from its modes: it has no status.evalType
    assert describe(JUDGE)["taskName"] == "external-judge"  # no displayName: its name


def test_a_new_task_without_status_is_queued_and_dated_by_its_creation() -> None:
    task = {**RULE, "status": None}
    result = describe(task)
    assert result["state"] == "Queued"
    assert result["updateTime"] == result["createTime"] == "2024-09-10 03:52:53"


def test_s3_results_are_shown_as_bos_storage() -> None:
    task = json.loads(json.dumps(RULE))
    task["spec"]["results"] = {"type": "S3", "s3": {"url": "s3://aip-static/123"}}
    config = describe(task)["evalObjectConfig"]["evalModelConfig"]
    assert (config["storageType"], config["storagePath"]) == ("BOS", "bos:/aip-static/123")


@pytest.mark.parametrize("kind", sorted(TASKS))
def test_the_answer_over_http_is_the_documented_one(vendors: Vendors, kind: str) -> None:
    """The same check on what POST /v2/eval?Action=DescribeEvalTask answers."""
    task = json.loads(json.dumps(TASKS[kind]))
    task["metadata"]["namespace"] = NS
    vendors.cluster.put(c.EVAL_TASK_PLURAL, task)
    response = vendors.qianfan("DescribeEvalTask", {"taskId": task["metadata"]["uid"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"requestId", "result"}
    walk(body["result"], "result", [""], set())
    assert body["result"] == describe(task)
