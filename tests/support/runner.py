"""Builders shared by the runner tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modeleval.runner.client import ClientSettings
from modeleval.runner.config import ModelRun, RunConfig, RunSettings
from modeleval.runner.datasets import Item


def make_items(count: int) -> list[Item]:
    return [Item(id=f"q{i}", input=f"question {i}", target=f"question {i}") for i in range(count)]


def make_config(
    url: str, results: Path, *, parallel: int = 4, models: tuple[str, ...] = ("m1",), **run: Any
) -> RunConfig:
    client = ClientSettings(parallel=parallel, max_retries=2, backoff_base_s=0.01)
    return RunConfig(
        task_name="t",
        namespace="ns",
        models=tuple(ModelRun(name=n, url=url, model="mock", client=client) for n in models),
        dataset=None,
        settings=RunSettings(results_dir=results, **run),
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class RecordingSink:
    """A status sink that keeps every patch it receives."""

    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []

    def patch_status(self, patch: dict[str, Any]) -> None:
        self.patches.append(patch)
