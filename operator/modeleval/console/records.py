"""Pure helpers: what the console keeps of an EvalTask object and of one item record.

No database here: ``task_fields`` turns an EvalTask (as listed from the API, or as the runner
sends it) into the columns of ``tasks``; ``item_row`` turns a ``scores.jsonl`` line into the
columns of ``items``; ``histograms`` computes the distribution charts' counts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from statistics import fmean
from typing import Any

from modeleval.scoring.manual import dimension_names

DEFAULT_MAX_SCORE = 5.0
HISTOGRAM_BINS = 10
JUDGE = "judge"


def parse_time(value: object) -> datetime | None:
    """A Kubernetes timestamp (``2026-12-02T10:00:00Z``) as an aware datetime, or None."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def dataset_key(spec: Mapping[str, Any], namespace: str) -> str | None:
    """Which dataset a task evaluated: its declared name, else where it came from."""
    dataset = spec.get("dataset") or {}
    if not isinstance(dataset, Mapping) or not dataset:
        return None
    if dataset.get("name"):
        return f"name:{dataset['name']}"
    if dataset.get("configMap"):
        cm = dataset["configMap"]
        return f"configMap:{namespace}/{cm.get('name')}/{cm.get('key')}"
    if dataset.get("pvc"):
        pvc = dataset["pvc"]
        return f"pvc:{namespace}/{pvc.get('claimName')}/{pvc.get('path')}"
    if dataset.get("url"):
        return f"url:{dataset['url']}"
    if dataset.get("s3"):
        return f"s3:{dataset['s3'].get('url')}"
    if dataset.get("inline") is not None:
        digest = hashlib.sha256(
            json.dumps(dataset["inline"], sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        return f"inline:{digest[:16]}"
    return None


def model_names(spec: Mapping[str, Any]) -> list[str]:
    targets = spec.get("models") or spec.get("existingResults") or []
    return [str(t["name"]) for t in targets if isinstance(t, Mapping) and t.get("name")]


def manual_dimensions(spec: Mapping[str, Any]) -> list[dict[str, str]] | None:
    """``[{dimension, description}]`` (satisfaction first) for a manual-mode task, else None."""
    scoring = spec.get("scoring") or {}
    if "manual" not in (scoring.get("modes") or []):
        return None
    declared = {
        str(d.get("dimension")): str(d.get("description") or "")
        for d in (scoring.get("manual") or {}).get("evalDimension") or []
        if d.get("dimension")
    }
    names = dimension_names(declared)
    defaults = {"satisfaction": "Overall satisfaction with the answer"}
    return [{"dimension": n, "description": declared.get(n) or defaults.get(n, "")} for n in names]


def max_judge_score(spec: Mapping[str, Any]) -> float:
    judge = (spec.get("scoring") or {}).get("judge") or {}
    value = (judge.get("promptParam") or {}).get("maxScore")
    return float(value) if value else DEFAULT_MAX_SCORE


def task_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The ``tasks`` columns an EvalTask object determines (``status`` may be absent)."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    namespace = str(meta.get("namespace") or "")
    dims = manual_dimensions(spec)
    fields: dict[str, Any] = {
        "uid": str(meta.get("uid") or ""),
        "resource_version": meta.get("resourceVersion"),
        "namespace": namespace,
        "name": str(meta.get("name") or ""),
        "display_name": spec.get("displayName"),
        "task_type": spec.get("type") or "Quality",
        "eval_type": status.get("evalType") or ("manual" if dims else "auto"),
        "dataset": dataset_key(spec, namespace),
        "models": model_names(spec),
        "spec": dict(spec),
        "manual_dimensions": dims,
        "created_at": parse_time(meta.get("creationTimestamp")),
    }
    if status:
        fields.update(
            state=status.get("state"),
            message=status.get("message"),
            percentage=status.get("percentage"),
            total_score=status.get("totalScore"),
            status=dict(status),
            started_at=parse_time(status.get("startTime")),
            ended_at=parse_time(status.get("endTime")),
        )
    return fields


def model_item_score(result: Mapping[str, Any], max_score: float) -> float | None:
    """One answer's mean score on 0-100 (rule metrics ×100, judge ÷ maxScore ×100)."""
    values = [float(v) * 100 for v in (result.get("metrics") or {}).values() if v is not None]
    judge = result.get("judge") or {}
    if judge.get("score") is not None:
        values.append(float(judge["score"]) / max_score * 100)
    return fmean(values) if values else None


def item_row(record: Mapping[str, Any], seq: int, max_score: float) -> dict[str, Any]:
    """The ``items`` columns of one record (a ``scores.jsonl`` line or an aligned prediction).

    ``score``: the lowest per-model score (None when nothing was scored); ``failed``: some model
    has no answer or its judge call failed.
    """
    rows, _ = item_rows([record], seq, max_score)
    return rows[0]


def item_rows(
    records: Iterable[Mapping[str, Any]], start: int, max_score: float
) -> tuple[list[dict[str, Any]], dict[str, dict[str, list[int]]]]:
    """`item_row` of many records (``seq`` from ``start``) and, in the same pass, their
    `histograms` — ingest's hot loop, written out for speed (100,000 items per task)."""
    rows: list[dict[str, Any]] = []
    counts: dict[str, dict[str, list[int]]] = {}
    width = 100 / HISTOGRAM_BINS
    top = HISTOGRAM_BINS - 1
    for seq, record in enumerate(records, start):
        worst: float | None = None
        failed = False
        for model, result in (record.get("models") or {}).items():
            total = 0.0
            scored = 0
            for metric, value in (result.get("metrics") or {}).items():
                if value is None:
                    continue
                percent = float(value) * 100
                total += percent
                scored += 1
                bins = counts.setdefault(metric, {}).setdefault(model, [0] * HISTOGRAM_BINS)
                bins[min(int(percent / width), top) if percent > 0 else 0] += 1
            judge = result.get("judge")
            if judge:
                if judge.get("error"):
                    failed = True
                if judge.get("score") is not None:
                    percent = float(judge["score"]) / max_score * 100
                    total += percent
                    scored += 1
                    bins = counts.setdefault(JUDGE, {}).setdefault(model, [0] * HISTOGRAM_BINS)
                    bins[min(int(percent / width), top) if percent > 0 else 0] += 1
            if result.get("error"):
                failed = True
            if scored:
                mean = total / scored
                worst = mean if worst is None or mean < worst else worst
        rows.append(
            {
                "seq": seq,
                "key": str(record.get("id", seq))[:512],
                "input": _text(record.get("input")),
                "target": _text(record.get("target")),
                "data": {k: v for k, v in record.items() if k not in ("id", "input", "target")},
                "score": None if worst is None else round(worst, 4),
                "failed": failed,
            }
        )
    return rows, counts


def _text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def metric_values(data: Mapping[str, Any], max_score: float) -> Iterable[tuple[str, str, float]]:
    """``(model, metric, value 0-100)`` of one item's data."""
    for model, result in (data.get("models") or {}).items():
        for metric, value in (result.get("metrics") or {}).items():
            if value is not None:
                yield model, metric, float(value) * 100
        judge = result.get("judge") or {}
        if judge.get("score") is not None:
            yield model, JUDGE, float(judge["score"]) / max_score * 100


def histograms(
    datas: Iterable[Mapping[str, Any]], max_score: float, bins: int = HISTOGRAM_BINS
) -> dict[str, dict[str, list[int]]]:
    """``{metric: {model: [count per bin]}}`` over 0-100 in ``bins`` equal bins."""
    result: dict[str, dict[str, list[int]]] = {}
    for data in datas:
        for model, metric, value in metric_values(data, max_score):
            counts = result.setdefault(metric, {}).setdefault(model, [0] * bins)
            index = min(int(value / (100 / bins)), bins - 1) if value > 0 else 0
            counts[index] += 1
    return result
