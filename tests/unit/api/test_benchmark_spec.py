"""``spec.benchmark``: the API's names and modes match the catalogue; the task rules hold."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from modeleval.api import EvalTask
from modeleval.api.benchmarks import BenchmarkMode, BenchmarkName, BenchmarkSpec
from modeleval.benchmarks import BENCHMARKS

MODEL = {"name": "m", "endpoint": {"url": "http://llm:8000/v1"}}


def task(**spec: Any) -> dict[str, Any]:
    return {"kind": "EvalTask", "metadata": {"name": "t"}, "spec": {"models": [MODEL], **spec}}


def test_the_api_names_every_benchmark_of_the_catalogue() -> None:
    assert [b.value for b in BenchmarkName] == list(BENCHMARKS)


@pytest.mark.parametrize("name", list(BenchmarkName))
@pytest.mark.parametrize("mode", list(BenchmarkMode))
def test_the_api_allows_exactly_the_modes_the_catalogue_has(
    name: BenchmarkName, mode: BenchmarkMode
) -> None:
    has_mode = mode.value in BENCHMARKS[name.value].variants
    try:
        BenchmarkSpec.model_validate({"name": name.value, "mode": mode.value})
    except ValidationError:
        assert not has_mode
    else:
        assert has_mode


def test_a_benchmark_task_needs_no_dataset_and_validates() -> None:
    parsed = EvalTask.model_validate(
        task(benchmark={"name": "mmlu", "subsets": ["anatomy"], "fewShot": 5}, limits=10)
    )
    assert parsed.spec.benchmark is not None
    assert parsed.spec.benchmark.few_shot == 5


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"benchmark": {"name": "mmlu"}, "dataset": {"inline": [{"input": "q"}]}}, "at most one"),
        ({"benchmark": {"name": "mmlu"}, "scoring": {"modes": ["rule"]}}, "own metrics"),
        (
            {"benchmark": {"name": "mmlu"}, "inference": {"promptTemplate": "Q: {input}"}},
            "own prompts",
        ),
        ({"benchmark": {"name": "mmlu"}, "type": "Performance"}, "Quality task"),
    ],
)
def test_what_a_benchmark_task_cannot_have(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        EvalTask.model_validate(task(**spec))


def test_a_system_prompt_is_allowed_with_a_benchmark() -> None:
    EvalTask.model_validate(
        task(benchmark={"name": "gsm8k"}, inference={"systemPrompt": "Be brief."})
    )


def test_the_mirror_pvc_and_the_hub_token_are_checked_like_any_named_object() -> None:
    from modeleval.reconcile.access import accesses

    spec = EvalTask.model_validate(
        task(benchmark={"name": "mmlu", "source": {"pvc": {"claimName": "mirror"}}})
    ).spec
    assert [(a.resource, a.name, a.field) for a in accesses(spec)] == [
        ("persistentvolumeclaims", "mirror", "spec.benchmark.source.pvc.claimName")
    ]
    token = {"hub": {"tokenSecretRef": {"name": "hf", "key": "token"}}}
    spec = EvalTask.model_validate(task(benchmark={"name": "mmlu", "source": token})).spec
    assert [(a.resource, a.name) for a in accesses(spec)] == [("secrets", "hf")]


def test_the_hub_endpoint_is_held_to_the_dataset_url_allow_list() -> None:
    from modeleval.reconcile.access import task_policy
    from modeleval.settings import OperatorSettings

    internal = OperatorSettings(allowed_dataset_urls=("https://hub.internal/*",))
    default = EvalTask.model_validate(task(benchmark={"name": "gsm8k"})).spec
    (problem,) = task_policy(default, internal)
    assert problem.startswith("spec.benchmark.source.hub.endpoint: URL https://huggingface.co")
    mirror = {"hub": {"endpoint": "https://hub.internal/hf"}}
    allowed = EvalTask.model_validate(task(benchmark={"name": "gsm8k", "source": mirror})).spec
    assert task_policy(allowed, internal) == []
    pvc = {"pvc": {"claimName": "mirror"}}
    offline = EvalTask.model_validate(task(benchmark={"name": "gsm8k", "source": pvc})).spec
    assert task_policy(offline, internal) == []
