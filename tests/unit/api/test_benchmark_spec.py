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
