"""Builders of an EvalTask's task.json ConfigMap, results PVC, names and target summary."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modeleval import constants as c
from modeleval.api import EvalTask, ModelEvalServiceGroup, secret_env_name
from modeleval.builders.evaltask import (
    build_results_pvc,
    build_task_config_map,
    group_names,
    job_name,
    resolve_models,
    results_location,
    secret_refs,
    short_name,
    target_summary,
)
from modeleval.settings import OperatorSettings

SETTINGS = OperatorSettings(
    runner_image="registry.local/runner:1",
    runner_cpu="500m",
    runner_memory="2Gi",
    results_storage_class="fast",
    results_size="5Gi",
)


def make_task(spec: dict[str, Any], name: str = "qa", generation: int = 3) -> EvalTask:
    return EvalTask.model_validate(
        {
            "apiVersion": "modeleval.io/v1alpha1",
            "kind": "EvalTask",
            "metadata": {
                "name": name,
                "namespace": "team-a",
                "uid": "uid-1",
                "generation": generation,
            },
            "spec": spec,
        }
    )


DATASET = {"inline": [{"input": "1+1?", "target": "2"}]}
ENDPOINT_MODEL = {
    "name": "hosted",
    "endpoint": {
        "url": "https://llm.example.com:8443/v1",
        "model": "hosted-v2",
        "apiKeySecretRef": {"name": "creds", "key": "api-key"},
        "requestHeadersFrom": [
            {"name": "X-Token", "secretKeyRef": {"name": "creds", "key": "tok"}}
        ],
    },
}
GROUP_MODEL = {"name": "qwen", "serviceGroupRef": {"name": "qwen-7b"}}
JUDGE = {
    "modes": ["rule", "model"],
    "judge": {"apiName": "judge-l", "serviceGroupRef": {"name": "judge-group"}},
}


def group(name: str, url: str, served: str | None = None) -> ModelEvalServiceGroup:
    serving: dict[str, Any] = {"api": "openai-completions"}
    if served:
        serving["servedModelName"] = served
    return ModelEvalServiceGroup.model_validate(
        {
            "metadata": {"name": name, "namespace": "team-a"},
            "spec": {"image": "vllm:1", "serving": serving},
            "status": {"phase": "Running", "url": url},
        }
    )


def test_names_are_deterministic_and_fit_kubernetes_limits() -> None:
    assert job_name("qa", "infer") == "qa-infer"
    long = "x" * 100
    name = job_name(long, "score")
    assert len(name) <= 63 and name.endswith("-score")
    assert name == job_name(long, "score")
    assert job_name(long, "score") != job_name("x" * 99, "score")
    assert short_name("a" * 63) == "a" * 63
    assert len(short_name("a" * 64)) == 63


def test_config_map_holds_the_task_and_resolved_targets_but_no_secret_values() -> None:
    task = make_task({"models": [ENDPOINT_MODEL, GROUP_MODEL], "dataset": DATASET})
    resolved = resolve_models(task.spec, {"qwen-7b": group("qwen-7b", "http://qwen:8000/v1")})
    cm = build_task_config_map(task, resolved)
    assert cm["apiVersion"] == "v1" and cm["kind"] == "ConfigMap"
    assert cm["metadata"]["name"] == "qa-config"
    assert cm["metadata"]["namespace"] == "team-a"
    assert cm["metadata"]["labels"][c.LABEL_EVAL_TASK] == "qa"
    owner = cm["metadata"]["ownerReferences"][0]
    assert owner == {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "name": "qa",
        "uid": "uid-1",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    doc = json.loads(cm["data"]["task.json"])
    assert doc["apiVersion"] == "modeleval.io/v1alpha1" and doc["kind"] == "EvalTask"
    assert doc["metadata"] == {"name": "qa", "namespace": "team-a", "uid": "uid-1", "generation": 3}
    assert doc["spec"]["models"][0]["endpoint"]["apiKeySecretRef"] == {
        "name": "creds",
        "key": "api-key",
    }
    assert doc["resolved"]["models"] == [
        {
            "name": "hosted",
            "url": "https://llm.example.com:8443/v1",
            "model": "hosted-v2",
            "api": "openai-chat",
            "server": "auto",
        },
        {
            "name": "qwen",
            "url": "http://qwen:8000/v1",
            "model": "qwen-7b",
            "api": "openai-completions",
            "server": "auto",
        },
    ]
    # The runner parses task.json with the same model: it must round-trip.
    assert EvalTask.model_validate(doc).spec == task.spec


def test_config_map_never_contains_secret_values() -> None:
    task = make_task({"models": [ENDPOINT_MODEL], "dataset": DATASET})
    body = build_task_config_map(task, resolve_models(task.spec, {}))["data"]["task.json"]
    assert "replace-me" not in body
    # The run plan names the Job's environment variable that carries the key, never its value.
    (model,) = json.loads(body)["plan"]["models"]
    ref = task.spec.models[0].endpoint.api_key_secret_ref  # type: ignore[index,union-attr]
    assert model["client"]["apiKey"] == {
        "env": secret_env_name(ref),
        "secret": f"{ref.name}/{ref.key}",
    }


def test_resolve_models_uses_served_model_name_and_resolves_the_judge() -> None:
    task = make_task({"models": [GROUP_MODEL], "dataset": DATASET, "scoring": JUDGE})
    groups = {
        "qwen-7b": group("qwen-7b", "http://q/v1", served="Qwen2-7B"),
        "judge-group": group("judge-group", "http://j/v1"),
    }
    resolved = resolve_models(task.spec, groups)
    assert resolved["models"][0]["model"] == "Qwen2-7B"
    assert resolved["judge"] == {
        "name": "judge-l",
        "url": "http://j/v1",
        "model": "judge-group",
        "api": "openai-completions",
        "server": "auto",
    }
    assert group_names(task.spec) == ["qwen-7b", "judge-group"]


def test_resolve_models_tolerates_a_group_not_read_yet() -> None:
    task = make_task({"models": [GROUP_MODEL], "dataset": DATASET, "scoring": JUDGE})
    resolved = resolve_models(task.spec, {"qwen-7b": group("qwen-7b", "http://q/v1")})
    assert resolved["models"][0]["url"] == "http://q/v1"
    assert resolved["judge"] == {
        "name": "judge-l",
        "url": None,
        "model": "judge-group",
        "api": "openai-chat",
        "server": "auto",
    }


@pytest.mark.parametrize(
    ("models", "expected"),
    [
        ([GROUP_MODEL], "qwen-7b"),
        ([ENDPOINT_MODEL], "llm.example.com:8443"),
        ([ENDPOINT_MODEL, GROUP_MODEL], "llm.example.com:8443+1"),
    ],
)
def test_target_summary(models: list[dict[str, Any]], expected: str) -> None:
    assert target_summary(make_task({"models": models, "dataset": DATASET}).spec) == expected


def test_target_summary_of_existing_results() -> None:
    results = [{"name": f"run-{i}", "source": DATASET} for i in range(3)]
    assert target_summary(make_task({"existingResults": results}).spec) == "run-0+2"


def test_secret_refs_are_collected_from_everywhere_once() -> None:
    s3 = {
        "url": "s3://bucket/data.jsonl",
        "accessKeyId": {"name": "s3", "key": "id"},
        "secretAccessKey": {"name": "s3", "key": "secret"},
    }
    task = make_task(
        {
            "models": [ENDPOINT_MODEL, {**ENDPOINT_MODEL, "name": "second"}],
            "dataset": {"s3": s3},
        }
    )
    refs = {(r.name, r.key) for r in secret_refs(task.spec)}
    assert refs == {("creds", "api-key"), ("creds", "tok"), ("s3", "id"), ("s3", "secret")}
    assert len(secret_refs(task.spec)) == 4


def test_results_pvc_defaults_come_from_settings() -> None:
    task = make_task({"models": [GROUP_MODEL], "dataset": DATASET})
    pvc = build_results_pvc(task, SETTINGS)
    assert pvc is not None
    assert pvc["metadata"]["name"] == "qa-results"
    assert pvc["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    assert pvc["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "5Gi"}},
        "storageClassName": "fast",
    }
    assert results_location(task) == "pvc://qa-results"


def test_results_pvc_from_spec_overrides_settings() -> None:
    results = {"type": "PVC", "storageClassName": "slow", "size": "20Gi", "path": "runs/a"}
    task = make_task({"models": [GROUP_MODEL], "dataset": DATASET, "results": results})
    pvc = build_results_pvc(task, SETTINGS)
    assert pvc is not None
    assert pvc["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert pvc["spec"]["storageClassName"] == "slow"
    assert results_location(task) == "pvc://qa-results/runs/a"


def test_no_results_pvc_for_a_named_claim_or_s3() -> None:
    named = make_task(
        {"models": [GROUP_MODEL], "dataset": DATASET, "results": {"claimName": "shared"}}
    )
    assert build_results_pvc(named, SETTINGS) is None
    assert results_location(named) == "pvc://shared"
    s3 = make_task(
        {
            "models": [GROUP_MODEL],
            "dataset": DATASET,
            "results": {"type": "S3", "s3": {"url": "s3://bucket/out"}},
        }
    )
    assert build_results_pvc(s3, SETTINGS) is None
    assert results_location(s3) == "s3://bucket/out"


def test_no_storage_class_when_neither_spec_nor_settings_name_one() -> None:
    task = make_task({"models": [GROUP_MODEL], "dataset": DATASET})
    pvc = build_results_pvc(task, OperatorSettings(results_storage_class=None, results_size="1Gi"))
    assert pvc is not None and "storageClassName" not in pvc["spec"]


def test_a_groups_server_flavour_reaches_the_plan_and_decides_the_parameters() -> None:
    from modeleval.builders.runplan import build_run_plan

    served = group("qwen-7b", "http://q/v1")
    served.spec.serving.server = "transformers"  # type: ignore[union-attr,assignment]
    params = {"topK": 20, "temperature": 0.5}
    task = make_task({"models": [GROUP_MODEL], "dataset": DATASET, "inference": {"params": params}})
    resolved = resolve_models(task.spec, {"qwen-7b": served})
    assert resolved["models"][0]["server"] == "transformers"
    [model] = build_run_plan(task, resolved)["models"]
    assert model["params"] == {"temperature": 0.5}
    assert model["dropped"][0]["parameters"] == ["top_k"]
