"""Inputs and per-item outputs of scoring: predictions in, item records out (``scores.jsonl``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modeleval.redact import mask


@dataclass(frozen=True, slots=True)
class Prediction:
    """One line of ``predictions/<model>.jsonl`` as the inference phase writes it."""

    id: str
    input: str
    target: str
    output: str | None
    error: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Prediction:
        return cls(
            id=str(data["id"]),
            input=_text(data.get("input")),
            target=_text(data.get("target")),
            output=None if data.get("output") is None else _text(data["output"]),
            error=data.get("error") or None,
        )


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def read_predictions(path: Path) -> list[Prediction]:
    """Read one predictions JSONL file; blank lines are skipped, the last line per id wins."""
    by_id: dict[str, Prediction] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                prediction = Prediction.from_dict(json.loads(line))
                by_id[prediction.id] = prediction
    return list(by_id.values())


def read_prediction_files(paths: Iterable[Path]) -> list[Prediction]:
    """One model's predictions from all its files (one per shard): one per id, an answer beating
    a failure, else the later line; in dataset order when every line has its ``index``, else
    in order of first appearance. Only complete lines are read."""
    chosen: dict[str, tuple[int | None, Prediction]] = {}
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip() or not line.endswith("\n"):
                    continue  # a torn last line: another shard is still writing it
                data = json.loads(line)
                prediction = Prediction.from_dict(data)
                old = chosen.get(prediction.id)
                if old is None or not _answered(old[1]) or _answered(prediction):
                    index = data.get("index")
                    chosen[prediction.id] = (index if isinstance(index, int) else None, prediction)
    entries = list(chosen.values())
    if all(index is not None for index, _ in entries):
        entries.sort(key=lambda entry: entry[0] or 0)
    return [prediction for _, prediction in entries]


def _answered(prediction: Prediction) -> bool:
    return prediction.error is None and prediction.output is not None


def load_predictions_dir(directory: Path) -> dict[str, list[Prediction]]:
    """``{model name: predictions}`` from ``<dir>/<model-name>.jsonl`` files, sorted by name."""
    return {p.stem: read_predictions(p) for p in sorted(directory.glob("*.jsonl"))}


@dataclass(slots=True)
class ModelResult:
    """One model's answer to one item and everything scored about it."""

    answer: str | None
    metrics: dict[str, float] = field(default_factory=dict)
    judge_score: float | None = None
    judge_reason: str | None = None
    judge_error: str | None = None
    judge_cause: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"answer": self.answer, "metrics": self.metrics}
        if self.judge_score is not None or self.judge_error is not None:
            data["judge"] = {
                "score": self.judge_score,
                "reason": self.judge_reason,
                "error": self.judge_error,
            }
            if self.judge_cause is not None:
                data["judge"]["cause"] = self.judge_cause
        if self.error:
            data["error"] = self.error
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelResult:
        """The inverse of `to_dict` (a model's entry of a ``scores.jsonl`` line)."""
        judge = data.get("judge") or {}
        return cls(
            answer=data.get("answer"),
            metrics={k: float(v) for k, v in (data.get("metrics") or {}).items() if v is not None},
            judge_score=judge.get("score"),
            judge_reason=judge.get("reason"),
            judge_error=judge.get("error"),
            error=data.get("error"),
        )


@dataclass(slots=True)
class ItemRecord:
    """One dataset item across all models: a line of ``scores.jsonl``."""

    id: str
    input: str
    target: str
    models: dict[str, ModelResult] = field(default_factory=dict)
    gsb: dict[str, Any] | None = None
    manual: dict[str, dict[str, int]] | None = None
    """Annotators' 1-5 scores per model and dimension (after manual evaluation)."""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "input": self.input,
            "target": self.target,
            "models": {name: result.to_dict() for name, result in self.models.items()},
        }
        if self.gsb is not None:
            data["gsb"] = self.gsb
        if self.manual is not None:
            data["manual"] = self.manual
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemRecord:
        """The inverse of `to_dict` (one ``scores.jsonl`` line)."""
        return cls(
            id=str(data["id"]),
            input=_text(data.get("input")),
            target=_text(data.get("target")),
            models={m: ModelResult.from_dict(r) for m, r in (data.get("models") or {}).items()},
            gsb=data.get("gsb"),
            manual=data.get("manual"),
        )


def align_items(predictions_by_model: Mapping[str, Iterable[Prediction]]) -> list[ItemRecord]:
    """One record per item id (first-seen order); a model without a line for an id gets an
    error entry, so every model appears in every record."""
    records: dict[str, ItemRecord] = {}
    answers: dict[str, dict[str, Prediction]] = {}
    for model, predictions in predictions_by_model.items():
        answers[model] = {}
        for p in predictions:
            answers[model][p.id] = p
            records.setdefault(p.id, ItemRecord(id=p.id, input=p.input, target=p.target))
    for record in records.values():
        for model, by_id in answers.items():
            found = by_id.get(record.id)
            if found is None:
                record.models[model] = ModelResult(answer=None, error="no prediction")
            elif found.error or found.output is None:
                record.models[model] = ModelResult(
                    answer=found.output, error=f"inference failed: {found.error or 'no output'}"
                )
            else:
                record.models[model] = ModelResult(answer=found.output)
    return list(records.values())


def read_jsonl(path: Path) -> list[ItemRecord]:
    """Item records from a ``scores.jsonl`` file."""
    with path.open(encoding="utf-8") as fh:
        return [ItemRecord.from_dict(json.loads(line)) for line in fh if line.strip()]


def write_jsonl(path: Path, records: Iterable[ItemRecord]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(mask(json.dumps(record.to_dict(), ensure_ascii=False)) + "\n")
