"""What a task or group gets to use (accesses) and what the administrator's policy forbids."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from modeleval.api import EvalTask, EvalTaskSpec, ModelEvalServiceGroup
from modeleval.api.servicegroup import ModelEvalServiceGroupSpec
from modeleval.reconcile.access import (
    NAMED_FIELDS,
    Access,
    accesses,
    group_policy,
    image_allowed,
    normalized_image,
    refusal,
    task_policy,
    unique,
)
from modeleval.settings import OperatorSettings
from tests.support.paths import REPO

REF = {"name": "prod-db", "key": "k"}
SETTINGS = dataclasses.replace(
    OperatorSettings(),
    runner_image="ghcr.io/modeleval/modeleval:0.1.0",
    allowed_runner_images=("registry.example/runner:*",),
    allowed_model_images=("docker.io/vllm/vllm-openai:*",),
    allowed_dataset_urls=("https://*",),
    allow_control_plane=False,
)


def task_spec(**spec: Any) -> EvalTaskSpec:
    base: dict[str, Any] = {
        "models": [{"name": "m", "endpoint": {"url": "http://x/v1"}}],
        "dataset": {"inline": [{"input": "q"}]},
    }
    return EvalTask.model_validate({"spec": {**base, **spec}}).spec


def group_spec(**spec: Any) -> ModelEvalServiceGroupSpec:
    return ModelEvalServiceGroup.model_validate(
        {"spec": {"image": "vllm/vllm-openai:v1", **spec}}
    ).spec


def found(spec: Any) -> list[tuple[str, str, str, str]]:
    return [(a.field, a.verb, a.kind, a.name) for a in accesses(spec)]


def test_every_secret_configmap_and_pvc_a_task_names_is_found_with_its_field() -> None:
    spec = task_spec(
        models=[
            {
                "name": "m",
                "endpoint": {
                    "url": "http://x/v1",
                    "apiKeySecretRef": REF,
                    "requestHeadersFrom": [
                        {"name": "X-T", "secretKeyRef": {"name": "t", "key": "v"}}
                    ],
                },
            }
        ],
        dataset={"pvc": {"claimName": "data", "path": "qa.jsonl"}},
        results={"claimName": "out"},
        scoring={
            "modes": ["rule", "model"],
            "rule": {"stopWordsFrom": {"configMap": {"name": "stop", "key": "s.txt"}}},
            "judge": {"endpoint": {"url": "http://j/v1", "apiKeySecretRef": REF}},
        },
    )
    assert found(spec) == [
        ("spec.models[0].endpoint.requestHeadersFrom[0].secretKeyRef", "get", "Secret", "t"),
        ("spec.models[0].endpoint.apiKeySecretRef", "get", "Secret", "prod-db"),
        ("spec.dataset.pvc.claimName", "use", "PersistentVolumeClaim", "data"),
        ("spec.scoring.rule.stopWordsFrom.configMap", "get", "ConfigMap", "stop"),
        ("spec.scoring.judge.endpoint.apiKeySecretRef", "get", "Secret", "prod-db"),
        ("spec.results.claimName", "use", "PersistentVolumeClaim", "out"),
    ]
    assert [a.name for a in unique(accesses(spec))] == ["t", "prod-db", "data", "stop", "out"]


def test_a_group_names_its_service_account_pull_secrets_env_and_cache() -> None:
    spec = group_spec(
        serviceAccountName="sa",
        imagePullSecrets=["pull"],
        envFrom=[{"name": "T", "secretKeyRef": REF}, {"name": "C", "configMapKeyRef": REF}],
        modelCache={"claimName": "weights"},
        evaluation={"datasets": [{"configMap": {"name": "qa", "key": "qa.jsonl"}}]},
    )
    assert found(spec) == [
        ("spec.imagePullSecrets[0]", "get", "Secret", "pull"),
        ("spec.envFrom[0].secretKeyRef", "get", "Secret", "prod-db"),
        ("spec.envFrom[1].configMapKeyRef", "get", "ConfigMap", "prod-db"),
        ("spec.modelCache.claimName", "use", "PersistentVolumeClaim", "weights"),
        ("spec.serviceAccountName", "use", "ServiceAccount", "sa"),
        ("spec.evaluation.datasets[0].configMap", "get", "ConfigMap", "qa"),
    ]


def _models(root: type[BaseModel]) -> set[type[BaseModel]]:
    seen: set[type[BaseModel]] = set()
    todo = [root]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for info in model.model_fields.values():
            stack = [info.annotation]
            while stack:
                tp = stack.pop()
                if isinstance(tp, type) and issubclass(tp, BaseModel):
                    todo.append(tp)
                stack.extend(typing.get_args(tp))
    return seen


NAMING = ("claim", "secret", "config_map", "service_account", "pull_secret")


@pytest.mark.parametrize("root", [EvalTaskSpec, ModelEvalServiceGroupSpec])
def test_no_api_field_names_an_object_without_being_checked(root: type[BaseModel]) -> None:
    """A new field that names a Secret, PVC, ConfigMap or ServiceAccount must be in
    NAMED_FIELDS (or be one of the selector types that are), or nobody checks it."""
    selectors = {model for model, _ in NAMED_FIELDS}
    missing = []
    for model in _models(root):
        for field, info in model.model_fields.items():
            text = str(info.annotation)
            if not any(word in field for word in NAMING):
                continue
            if (model, field) in NAMED_FIELDS:
                continue
            if any(selector.__name__ in text for selector in selectors):
                continue
            missing.append(f"{model.__name__}.{field}")
    assert missing == []


@pytest.mark.parametrize(
    ("image", "ok"),
    [
        ("ghcr.io/modeleval/modeleval:0.1.0", True),  # the operator's own runner image
        ("registry.example/runner:2", True),
        ("registry.example/runner-evil:2", False),
        ("evil/runner:1", False),
    ],
)
def test_runner_images_are_the_operators_or_listed(image: str, ok: bool) -> None:
    problems = task_policy(task_spec(runner={"image": image}), SETTINGS)
    assert (problems == []) is ok, problems


def test_image_patterns_match_the_written_or_the_docker_normalized_name() -> None:
    assert normalized_image("nginx") == "docker.io/library/nginx"
    assert normalized_image("vllm/vllm-openai:v1") == "docker.io/vllm/vllm-openai:v1"
    assert normalized_image("localhost:5000/x") == "localhost:5000/x"
    assert image_allowed("vllm/vllm-openai:v1", ["docker.io/vllm/vllm-openai:*"])
    assert not image_allowed("evil.io/vllm/vllm-openai:v1", ["vllm/vllm-openai:*"])
    assert not image_allowed("anything", [])


def test_a_group_image_outside_the_list_is_named() -> None:
    assert group_policy(group_spec(), SETTINGS) == []
    assert group_policy(group_spec(image="evil/miner:1"), SETTINGS) == [
        "spec.image: image evil/miner:1 is not allowed: model servers run only the images "
        "the administrator lists (MODELEVAL_ALLOWED_MODEL_IMAGES)"
    ]


@pytest.mark.parametrize(
    ("toleration", "refused"),
    [
        ({"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}, True),
        ({"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}, True),
        ({"operator": "Exists"}, True),  # tolerates every taint, control-plane's included
        ({"key": "nvidia.com/gpu", "operator": "Exists"}, False),
    ],
)
def test_control_plane_tolerations_are_refused(toleration: dict[str, str], refused: bool) -> None:
    problems = task_policy(task_spec(runner={"tolerations": [toleration]}), SETTINGS)
    assert bool(problems) is refused
    allowed = dataclasses.replace(SETTINGS, allow_control_plane=True)
    assert task_policy(task_spec(runner={"tolerations": [toleration]}), allowed) == []


def test_control_plane_selectors_and_affinities_are_refused() -> None:
    selector = {"node-role.kubernetes.io/control-plane": ""}
    assert task_policy(task_spec(runner={"nodeSelector": selector}), SETTINGS)
    term = {"matchExpressions": [{"key": "node-role.kubernetes.io/master", "operator": "Exists"}]}
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
        }
    }
    assert group_policy(group_spec(placement={"affinity": affinity}), SETTINGS)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://datasets.example/qa.jsonl", True),
        ("http://169.254.169.254/latest/meta-data/", False),
        ("http://svc.ns.svc.cluster.local/qa.jsonl", False),
    ],
)
def test_dataset_urls_follow_the_allow_list(url: str, ok: bool) -> None:
    assert (task_policy(task_spec(dataset={"url": url}), SETTINGS) == []) is ok
    group = group_spec(evaluation={"datasets": [{"url": url}]})
    assert (group_policy(group, SETTINGS) == []) is ok
    none = dataclasses.replace(SETTINGS, allowed_dataset_urls=())
    assert task_policy(task_spec(dataset={"url": url}), none)


def test_the_troubleshooting_guide_quotes_the_messages_the_code_emits() -> None:
    doc = (REPO / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    prod = Access("secrets", "prod-db", "spec.models[0].endpoint.apiKeySecretRef")
    emitted = [
        refusal("EvalTask", "T", [prod.unlabelled()]),
        refusal("EvalTask", "T", [prod.denied("alice")]),
        refusal(
            "EvalTask",
            "T",
            task_policy(task_spec(runner={"image": "docker.io/evil/runner:1"}), SETTINGS),
        ),
        refusal(
            "EvalTask",
            "T",
            task_policy(task_spec(dataset={"url": "http://10.0.0.5/qa.jsonl"}), SETTINGS),
        ),
        refusal(
            "EvalTask",
            "T",
            task_policy(task_spec(runner={"tolerations": [{"operator": "Exists"}]}), SETTINGS),
        ),
        refusal(
            "ModelEvalServiceGroup",
            "G",
            group_policy(group_spec(image="docker.io/evil/miner:1"), SETTINGS),
        ),
        refusal(
            "ModelEvalServiceGroup",
            "G",
            [Access("serviceaccounts", "powerful", "spec.serviceAccountName").unlabelled()],
        ),
        refusal(
            "ModelEvalServiceGroup",
            "G",
            group_policy(group_spec(placement={"tolerations": [{"operator": "Exists"}]}), SETTINGS),
        ),
        Access("persistentvolumeclaims", "archive", "spec.results.claimName").denied("alice"),
        Access("configmaps", "qa", "spec.dataset.configMap").denied("alice"),
    ]
    missing = [message for message in emitted if message not in doc]
    assert missing == []
