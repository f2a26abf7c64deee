"""Existing inference results (``spec.existingResults``, Qianfan ``evalInferDatasetConfig``)
turned into the score phase's predictions.

Each result set is read from its source like a dataset (inline, ConfigMap, PVC, URL, S3; JSONL,
JSON or CSV) and written as ``predictions/<name>.jsonl`` in our layout, which the scoring then
reads as it reads the inference phase's output. Columns, unless ``source.fields`` says others:

- our predictions layout: ``id``, ``input`` (or prompt/question…), ``target``, ``output``
  (the model's answer, required), ``error`` (a failed inference: scored as failed);
- Qianfan's (``fields.preset: qianfan``): ``prompt``, ``reference``, ``response`` (the model's
  answer; a list of lists gives its first answer).

A row without the answer column fails the phase naming the file and line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modeleval.runner.datasets import DatasetError, Item, as_text
from modeleval.runner.plan import dataset_source
from modeleval.runner.sources import load_dataset


class ExistingResultsError(ValueError):
    """A result set that cannot be read; the message names the set, the file and the line."""


def prediction(item: Item, output_column: str) -> dict[str, Any]:
    """One row of ``predictions/<name>.jsonl`` from a result-set row."""
    row = item.fields
    error = row.get("error")
    if output_column not in row and not error:
        raise ExistingResultsError(
            f"{item.where}: no answer column {output_column!r} "
            f"(set source.fields.output to the column that holds the model's answer)"
        )
    output = row.get(output_column)
    return {
        "id": item.id,
        "input": item.input,
        "target": item.target,
        "output": None if output is None else as_text(output),
        "error": None if not error else str(error),
    }


def import_result_sets(
    plan: Mapping[str, Any], results_dir: Path, env: Mapping[str, str] | None = None
) -> list[str]:
    """Write ``predictions/<name>.jsonl`` for every existing result set of the plan; the names."""
    env = os.environ if env is None else env
    written = []
    directory = results_dir / "predictions"
    for entry in plan.get("existingResults") or []:
        name = str(entry["name"])
        try:
            items = load_dataset(dataset_source(entry["dataset"], env))
            rows = [prediction(item, str(entry.get("output") or "output")) for item in items]
        except DatasetError as exc:
            raise ExistingResultsError(f"existing results {name}: {exc}") from None
        except ExistingResultsError as exc:
            raise ExistingResultsError(f"existing results {name}: {exc}") from None
        if not rows:
            raise ExistingResultsError(f"existing results {name}: no rows")
        directory.mkdir(parents=True, exist_ok=True)
        partial = directory / f".{name}.jsonl.partial"
        with partial.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        partial.replace(directory / f"{name}.jsonl")
        written.append(name)
    return written
