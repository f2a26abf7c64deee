"""ModelEvalServiceGroups that tests of several modules start from."""

from __future__ import annotations

from typing import Any

from modeleval.api import ModelEvalServiceGroup

DATASETS = [
    {"name": "ceval", "url": "https://data.example.com/ceval.jsonl"},
    {"inline": [{"input": "1+1?", "target": "2"}]},
]


def evaluating_group(
    evaluation: dict[str, Any] | None, name: str = "llama", **spec: Any
) -> ModelEvalServiceGroup:
    body: dict[str, Any] = {"image": "vllm/vllm-openai:v0.6", **spec}
    if evaluation is not None:
        body["evaluation"] = evaluation
    return ModelEvalServiceGroup.model_validate(
        {"metadata": {"name": name, "namespace": "evals", "uid": "uid-9"}, "spec": body}
    )
