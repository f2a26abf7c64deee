"""Invalid resources are rejected by the CRD (schema + CEL) and by the models, naming the field.

Each case mutates a valid object. The CRD side runs the same defaulting, pruning, schema and
CEL evaluation as the API emulator; the model side is what `modeleval run` and the operator use.
Both must reject, and both messages must name the field.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from pydantic import ValidationError

from modeleval.api import EvalTask, ModelEvalServiceGroup
from modeleval_testkit.apiserver.schema import validate_custom_resource

DELETE = object()

TASK: dict[str, Any] = {
    "apiVersion": "modeleval.io/v1alpha1",
    "kind": "EvalTask",
    "metadata": {"name": "t"},
    "spec": {
        "models": [{"name": "m", "endpoint": {"url": "http://llm:8000/v1", "model": "m"}}],
        "dataset": {"inline": [{"input": "q", "target": "a"}]},
        "inference": {"promptTemplate": "Q: {input}", "params": {}, "client": {}},
        "scoring": {"modes": ["rule"]},
    },
}
GROUP: dict[str, Any] = {
    "apiVersion": "modeleval.io/v1alpha1",
    "kind": "ModelEvalServiceGroup",
    "metadata": {"name": "g"},
    "spec": {"image": "vllm/vllm-openai:v0.6.3"},
}
JUDGE = {"endpoint": {"url": "http://judge:8000/v1"}}
TWO = [
    {"name": "a", "endpoint": {"url": "http://a/v1"}},
    {"name": "b", "endpoint": {"url": "http://b/v1"}},
]

# (case id, base, {path: value or DELETE}, the field the error must name)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("temperature-zero", TASK, {"spec.inference.params.temperature": 0}, "temperature"),
    ("temperature-high", TASK, {"spec.inference.params.temperature": 1.5}, "temperature"),
    ("topP-high", TASK, {"spec.inference.params.topP": 1.2}, "topP"),
    ("topP-type", TASK, {"spec.inference.params.topP": "high"}, "topP"),
    ("penalty-low", TASK, {"spec.inference.params.repetitionPenalty": 0.5}, "repetitionPenalty"),
    ("penalty-high", TASK, {"spec.inference.params.repetitionPenalty": 2.5}, "repetitionPenalty"),
    ("penalty-score", TASK, {"spec.inference.params.penaltyScore": 3}, "penaltyScore"),
    ("topK-zero", TASK, {"spec.inference.params.topK": 0}, "topK"),
    ("parallel-zero", TASK, {"spec.inference.client.parallel": 0}, "parallel"),
    ("parallel-negative", TASK, {"spec.inference.client.parallel": -1}, "parallel"),
    ("limits-zero", TASK, {"spec.limits": 0}, "limits"),
    (
        "connect-timeout-zero",
        TASK,
        {"spec.inference.client.connectTimeoutSeconds": 0},
        "connectTimeoutSeconds",
    ),
    (
        "read-timeout-negative",
        TASK,
        {"spec.inference.client.readTimeoutSeconds": -5},
        "readTimeoutSeconds",
    ),
    ("retries-negative", TASK, {"spec.inference.client.maxRetries": -1}, "maxRetries"),
    ("error-ratio", TASK, {"spec.inference.client.maxErrorRatio": 1.5}, "maxErrorRatio"),
    (
        "prompt-no-input",
        TASK,
        {"spec.inference.promptTemplate": "Answer: {question}"},
        "promptTemplate",
    ),
    ("model-prompt-no-input", TASK, {"spec.models[0].promptTemplate": "hi"}, "promptTemplate"),
    ("target-both", TASK, {"spec.models[0].serviceGroupRef": {"name": "g"}}, "models"),
    ("target-neither", TASK, {"spec.models[0].endpoint": DELETE}, "models"),
    ("task-type-enum", TASK, {"spec.type": "Speed"}, "type"),
    ("api-enum", TASK, {"spec.models[0].endpoint.api": "grpc"}, "api"),
    ("url-scheme", TASK, {"spec.models[0].endpoint.url": "ftp://llm/v1"}, "url"),
    ("mode-enum", TASK, {"spec.scoring.modes": ["magic"]}, "modes"),
    ("score-mode-enum", TASK, {"spec.scoring.rule": {"scoreModes": ["fuzzy"]}}, "scoreModes"),
    ("judge-missing", TASK, {"spec.scoring.modes": ["rule", "model"]}, "judge"),
    (
        "judge-both-targets",
        TASK,
        {
            "spec.scoring.modes": ["model"],
            "spec.scoring.judge": {**JUDGE, "serviceGroupRef": {"name": "g"}},
        },
        "judge",
    ),
    (
        "judge-max-score",
        TASK,
        {
            "spec.scoring.modes": ["model"],
            "spec.scoring.judge": {**JUDGE, "promptParam": {"maxScore": 0}},
        },
        "maxScore",
    ),
    (
        "gsb-one-model",
        TASK,
        {"spec.scoring.judge": JUDGE, "spec.scoring.pairwise": {"enabled": True}},
        "models",
    ),
    (
        "gsb-no-baseline",
        TASK,
        {
            "spec.models": TWO,
            "spec.scoring.judge": JUDGE,
            "spec.scoring.pairwise": {"enabled": True},
        },
        "models",
    ),
    (
        "gsb-two-baselines",
        TASK,
        {
            "spec.models": [{**m, "isBaseline": True} for m in TWO],
            "spec.scoring.judge": JUDGE,
            "spec.scoring.pairwise": {"enabled": True},
        },
        "models",
    ),
    (
        "gsb-without-judge",
        TASK,
        {
            "spec.models": [TWO[0], {**TWO[1], "isBaseline": True}],
            "spec.scoring.pairwise": {"enabled": True},
        },
        "judge",
    ),
    (
        "manual-five-dimensions",
        TASK,
        {
            "spec.scoring.modes": ["manual"],
            "spec.scoring.manual": {"evalDimension": [{"dimension": f"d{i}"} for i in range(5)]},
        },
        "evalDimension",
    ),
    ("dataset-two-sources", TASK, {"spec.dataset.url": "https://example.com/qa.jsonl"}, "dataset"),
    ("dataset-no-source", TASK, {"spec.dataset.inline": DELETE}, "dataset"),
    ("dataset-format", TASK, {"spec.dataset.format": "xml"}, "format"),
    ("models-without-dataset", TASK, {"spec.dataset": DELETE}, "dataset"),
    (
        "models-and-results",
        TASK,
        {"spec.existingResults": [{"name": "r", "source": {"url": "https://x/r.jsonl"}}]},
        "existingResults",
    ),
    ("neither-models-nor-results", TASK, {"spec.models": DELETE}, "models"),
    ("duplicate-model-names", TASK, {"spec.models": [TWO[0], {**TWO[1], "name": "a"}]}, "models"),
    (
        "perf-level-zero",
        TASK,
        {"spec.type": "Performance", "spec.performance": {"parallel": [1, 0]}},
        "parallel",
    ),
    ("benchmark-and-dataset", TASK, {"spec.benchmark": {"name": "mmlu"}}, "benchmark"),
    (
        "benchmark-and-scoring",
        TASK,
        {"spec.benchmark": {"name": "mmlu"}, "spec.dataset": DELETE},
        "scoring",
    ),
    (
        "benchmark-prompt-template",
        TASK,
        {"spec.benchmark": {"name": "mmlu"}, "spec.dataset": DELETE, "spec.scoring": DELETE},
        "benchmark",
    ),
    ("benchmark-name", TASK, {"spec.benchmark": {"name": "mmlu-pro"}}, "name"),
    (
        "benchmark-mode",
        TASK,
        {"spec.benchmark": {"name": "gsm8k", "mode": "loglikelihood"}},
        "mode",
    ),
    ("benchmark-few-shot", TASK, {"spec.benchmark": {"name": "mmlu", "fewShot": -1}}, "fewShot"),
    (
        "benchmark-two-sources",
        TASK,
        {"spec.benchmark": {"name": "mmlu", "source": {"hub": {}, "pvc": {"claimName": "m"}}}},
        "source",
    ),
    (
        "benchmark-hub-repo",
        TASK,
        {"spec.benchmark": {"name": "mmlu", "source": {"hub": {"repo": "no-owner"}}}},
        "repo",
    ),
    ("s3-without-bucket", TASK, {"spec.results": {"type": "S3"}}, "s3"),
    ("s3-bad-url", TASK, {"spec.results": {"type": "S3", "s3": {"url": "bucket/x"}}}, "url"),
    ("missing-spec", TASK, {"spec": DELETE}, "spec"),
    ("image-missing", GROUP, {"spec.image": DELETE}, "image"),
    ("instances-negative", GROUP, {"spec.instances": -1}, "instances"),
    ("gpu-negative", GROUP, {"spec.resources": {"gpu": {"count": -1}}}, "count"),
    ("cpu-not-quantity", GROUP, {"spec.resources": {"limits": {"cpu": "lots"}}}, "cpu"),
    ("memory-negative", GROUP, {"spec.resources": {"requests": {"memory": "-4Gi"}}}, "memory"),
    ("boot-time-zero", GROUP, {"spec.health": {"bootTimeSeconds": 0}}, "bootTimeSeconds"),
    ("readiness-path", GROUP, {"spec.health": {"readinessPath": "health"}}, "readinessPath"),
    ("port-range", GROUP, {"spec.serving": {"port": 70000}}, "port"),
    ("pull-policy-enum", GROUP, {"spec.imagePullPolicy": "Sometimes"}, "imagePullPolicy"),
    (
        "env-from-both",
        GROUP,
        {
            "spec.envFrom": [
                {
                    "name": "A",
                    "secretKeyRef": {"name": "s", "key": "k"},
                    "configMapKeyRef": {"name": "c", "key": "k"},
                }
            ]
        },
        "envFrom",
    ),
    (
        "group-prompt-no-input",
        GROUP,
        {"spec.evaluation": {"promptTemplate": "no placeholder"}},
        "promptTemplate",
    ),
    (
        "group-temperature",
        GROUP,
        {"spec.evaluation": {"params": {"temperature": 2}}},
        "temperature",
    ),
    (
        "toleration-effect",
        GROUP,
        {"spec.placement": {"tolerations": [{"key": "k", "effect": "Sometimes"}]}},
        "effect",
    ),
]

MODELS = {"EvalTask": EvalTask, "ModelEvalServiceGroup": ModelEvalServiceGroup}
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def mutate(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    for path, value in changes.items():
        steps: list[str | int] = [
            name if name else int(index) for name, index in _STEP.findall(path)
        ]
        node: Any = doc
        for step in steps[:-1]:
            node = node.setdefault(step, {}) if isinstance(step, str) else node[step]
        if value is DELETE:
            del node[steps[-1]]
        else:
            node[steps[-1]] = copy.deepcopy(value)
    return doc


def test_there_are_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("base", [TASK, GROUP], ids=["task", "group"])
def test_base_objects_are_valid(base: dict[str, Any], crds: dict[str, dict[str, Any]]) -> None:
    assert validate_custom_resource(crds[base["kind"]], base).ok
    MODELS[base["kind"]].model_validate(base)


@pytest.mark.parametrize(
    ("case", "base", "changes", "field"), CASES, ids=[case[0] for case in CASES]
)
def test_crd_rejects_and_names_the_field(
    case: str,
    base: dict[str, Any],
    changes: dict[str, Any],
    field: str,
    crds: dict[str, dict[str, Any]],
) -> None:
    doc = mutate(base, changes)
    result = validate_custom_resource(crds[doc["kind"]], doc)
    assert not result.ok, f"{case}: the CRD accepted {changes}"
    assert any(field in error for error in result.errors), result.errors


@pytest.mark.parametrize(
    ("case", "base", "changes", "field"), CASES, ids=[case[0] for case in CASES]
)
def test_model_rejects_and_names_the_field(
    case: str, base: dict[str, Any], changes: dict[str, Any], field: str
) -> None:
    doc = mutate(base, changes)
    with pytest.raises(ValidationError) as info:
        MODELS[doc["kind"]].model_validate(doc)
    described = [
        ".".join(str(step) for step in error["loc"]) + ": " + error["msg"]
        for error in info.value.errors()
    ]
    assert any(field in text for text in described), described
