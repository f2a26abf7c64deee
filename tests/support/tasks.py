"""EvalTask documents that tests of several tiers start from."""

from __future__ import annotations

from typing import Any


def task(spec: dict[str, Any], resolved: list[dict[str, str]] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": "t1", "namespace": "team", "uid": "u", "generation": 1},
        "spec": spec,
    }
    if resolved is not None:
        doc["resolved"] = {"models": resolved}
    return doc


def local_task(url: str) -> dict[str, object]:
    return {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": "local"},
        "spec": {
            "models": [{"name": "mock", "endpoint": {"url": url, "model": "mock-model"}}],
            "dataset": {
                "inline": [
                    {"id": "1", "input": "capital of France", "target": "Paris"},
                    {"id": "2", "input": "2+2", "target": "4"},
                    {"id": "3", "input": "中国的首都", "target": "北京"},
                ]
            },
            "inference": {"promptTemplate": "{input}", "client": {"parallel": 2}},
            "scoring": {"modes": ["rule"], "rule": {"scoreModes": ["accuracy", "similarity"]}},
        },
    }
