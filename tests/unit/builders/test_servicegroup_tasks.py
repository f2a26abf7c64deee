"""build_group_tasks: one valid EvalTask per dataset x target, inheriting the group's defaults."""

from __future__ import annotations

from typing import Any

from modeleval import constants as c
from modeleval.api import EvalTask
from modeleval.builders.servicegroup_tasks import build_group_tasks
from tests.support.groups import DATASETS
from tests.support.groups import evaluating_group as group


def validated(tasks: list[dict[str, Any]]) -> list[EvalTask]:
    return [EvalTask.model_validate(task) for task in tasks]


def test_no_evaluation_no_tasks() -> None:
    assert build_group_tasks(group(None)) == []
    assert build_group_tasks(group({"datasets": []})) == []


def test_one_task_per_dataset_named_deterministically() -> None:
    tasks = build_group_tasks(group({"datasets": DATASETS}))
    assert [t["metadata"]["name"] for t in tasks] == ["llama-ceval", "llama-1"]
    assert tasks == build_group_tasks(group({"datasets": DATASETS}))
    for task in validated(tasks):
        model = task.spec.models[0]
        assert model.service_group_ref is not None and model.service_group_ref.name == "llama"
        assert task.spec.type == "Quality"
    assert tasks[0]["spec"]["dataset"] == DATASETS[0]
    assert tasks[1]["spec"]["dataset"] == DATASETS[1]


def test_owner_labels_and_namespace() -> None:
    task = build_group_tasks(group({"datasets": DATASETS}))[0]
    meta = task["metadata"]
    assert meta["namespace"] == "evals"
    assert meta["labels"][c.LABEL_SERVICE_GROUP] == "llama"
    assert meta["labels"][c.LABEL_DATASET] == "ceval"
    assert meta["ownerReferences"][0]["kind"] == "ModelEvalServiceGroup"
    assert meta["ownerReferences"][0]["uid"] == "uid-9"
    assert task["apiVersion"] == "modeleval.io/v1alpha1" and task["kind"] == "EvalTask"


def test_dataset_by_target_and_target_suffix() -> None:
    tasks = build_group_tasks(group({"datasets": DATASETS, "targets": ["llama", "qwen"]}))
    names = [t["metadata"]["name"] for t in tasks]
    assert names == ["llama-ceval-llama", "llama-ceval-qwen", "llama-1-llama", "llama-1-qwen"]
    refs = [t.spec.models[0].service_group_ref.name for t in validated(tasks)]
    assert refs == ["llama", "qwen", "llama", "qwen"]


def test_parameters_are_inherited() -> None:
    evaluation = {
        "datasets": DATASETS[:1],
        "taskType": "Performance",
        "promptTemplate": "Question: {input}\nAnswer:",
        "limits": 50,
        "params": {"temperature": 0.2, "topK": 5, "maxNewTokens": 128},
        "client": {"parallel": 16, "logEveryQuery": 10, "readTimeoutSeconds": 60},
        "scoring": {"modes": ["rule"]},
    }
    task = build_group_tasks(group(evaluation, exportPath="s3://results"))[0]
    spec = task["spec"]
    assert spec["type"] == "Performance"
    assert spec["limits"] == 50
    assert spec["inference"] == {
        "promptTemplate": "Question: {input}\nAnswer:",
        "params": {"temperature": 0.2, "topK": 5, "maxNewTokens": 128},
        "client": {"parallel": 16, "logEveryQuery": 10, "readTimeoutSeconds": 60},
    }
    assert spec["scoring"] == {"modes": ["rule"]}
    assert spec["results"] == {"type": "S3", "s3": {"url": "s3://results/llama"}}
    validated([task])


def test_url_and_headers_make_an_endpoint_target() -> None:
    evaluation = {
        "datasets": DATASETS[:1],
        "url": "https://gateway.example.com/v1",
        "requestHeaders": {"X-Tenant": "eval"},
        "requestHeadersFrom": [
            {"name": "Authorization", "secretKeyRef": {"name": "gw", "key": "token"}}
        ],
    }
    spec = {"serving": {"api": "openai-completions", "servedModelName": "llama-70b"}}
    task = build_group_tasks(group(evaluation, **spec))[0]
    (model,) = validated([task])[0].spec.models
    assert model.service_group_ref is None
    assert model.endpoint is not None
    assert model.endpoint.url == "https://gateway.example.com/v1"
    assert model.endpoint.api == "openai-completions"
    assert model.endpoint.model == "llama-70b"
    assert model.endpoint.request_headers == {"X-Tenant": "eval"}
    assert model.endpoint.request_headers_from[0].secret_key_ref.name == "gw"


def test_headers_without_url_use_the_groups_own_url() -> None:
    evaluation = {"datasets": DATASETS[:1], "requestHeaders": {"X-Trace": "1"}}
    (task,) = validated(build_group_tasks(group(evaluation)))
    endpoint = task.spec.models[0].endpoint
    assert endpoint is not None
    assert endpoint.url == "http://llama.evals.svc.cluster.local:8000/v1"


def test_pvc_export_path() -> None:
    task = build_group_tasks(group({"datasets": DATASETS[:1]}, exportPath="runs/llama"))[0]
    assert task["spec"]["results"] == {"type": "PVC", "path": "runs/llama"}


def test_long_names_are_trimmed_with_a_hash() -> None:
    long_group = "g" * 60
    datasets = [
        {"name": "d" * 40, "url": "https://x/a.jsonl"},
        {"name": "d" * 40 + "x", "url": "https://x/b.jsonl"},
    ]
    tasks = build_group_tasks(group({"datasets": datasets}, name=long_group))
    names = [t["metadata"]["name"] for t in tasks]
    assert all(len(n) <= 63 for n in names)
    assert len(set(names)) == 2
    assert all(len(v) <= 63 for t in tasks for v in t["metadata"]["labels"].values())
    validated(tasks)
