"""Sharded phases, pure: an Indexed Job's shards, the shards' status entries folded into the
task's progress, the task's error budget over all shards, and which shard failed.

Each runner pod of a sharded phase writes only its own entry ``status.shards["<k>"]``
(:mod:`modeleval.runner.shard_status`): many writers, no lost updates. The operator folds the
entries of the current layout (``shards`` = the Job's count, one ``phase``) into the keys one
writer used to own:

- ``progress``: sums of total / processed / succeeded / failed / items per second; until every
  shard has reported, the total is extrapolated from those that have (round-robin slices
  differ by at most one item per model), so the percentage is not overstated early;
- ``percentage`` (inference only): processed / total, never lower than before, and below 100
  until every shard has reported all its items;
- ``inferenceResults``: per model, the shards' items, failures and cut-off answers added up;
- ``droppedParameters``: each model's first report.

When the inference Job is complete, the shards' final counts are held to the task's error
budget (``inference.client.maxErrorRatio``) as one run's would be (:func:`budget_failure`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

INFERENCE = "inference"
JUDGING = "judging"
INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
"""The pod annotation (and label) holding an Indexed Job pod's index."""
BUDGET_REASON = "ErrorBudgetExceeded"
"""Reason of a failed sharded inference whose shards together failed too many items."""


def parse_indexes(text: str | None) -> list[int]:
    """An Indexed Job's index set (``"0-2,5"``, as in ``status.completedIndexes``) as a list."""
    found: list[int] = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        try:
            low = int(first)
            high = int(last) if last else low
        except ValueError:
            continue
        found.extend(range(low, high + 1))
    return found


def current_entries(status: Mapping[str, Any], shards: int) -> dict[int, Mapping[str, Any]]:
    """The shard entries of this layout (``shards`` of them), of the phase most of them are
    in, by index."""
    entries: dict[int, Mapping[str, Any]] = {}
    for key, entry in (status.get("shards") or {}).items():
        if not isinstance(entry, Mapping) or entry.get("shards") != shards:
            continue
        try:
            index = int(key)
        except ValueError:
            continue
        if 0 <= index < shards:
            entries[index] = entry
    phases = [str(e.get("phase") or "") for e in entries.values()]
    if phases:
        phase = max(dict.fromkeys(phases), key=phases.count)
        entries = {i: e for i, e in entries.items() if (e.get("phase") or "") == phase}
    return entries


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def fold(status: Mapping[str, Any], shards: int) -> dict[str, Any]:
    """The task-wide keys the shards' entries say (empty when there are none)."""
    entries = current_entries(status, shards)
    if not entries:
        return {}
    listed = [entries[i] for i in sorted(entries)]
    phase = str(listed[0].get("phase") or INFERENCE)
    reported = sum(_int(e.get("total")) for e in listed)
    processed = sum(_int(e.get("processed")) for e in listed)
    complete = len(listed) == shards
    total = reported if complete else -(-reported * shards // len(listed))
    rate = round(sum(_num(e.get("itemsPerSecond")) for e in listed), 2)
    remaining = max(0, total - processed)
    stamps = [str(e["updatedAt"]) for e in listed if e.get("updatedAt")]
    progress: dict[str, Any] = {
        "phase": phase,
        "total": total,
        "processed": processed,
        "succeeded": sum(_int(e.get("succeeded")) for e in listed),
        "failed": sum(_int(e.get("failed")) for e in listed),
        "itemsPerSecond": rate,
        "etaSeconds": round(remaining / rate, 1) if rate > 0 else None,
    }
    if stamps:
        progress["updatedAt"] = max(stamps)
    patch: dict[str, Any] = {"progress": progress}
    if phase != INFERENCE:
        return patch
    percent = 100 if total <= 0 else processed * 100 // total
    if not complete or processed < total:
        percent = min(percent, 99)
    current = status.get("percentage")
    patch["percentage"] = max(percent, current if isinstance(current, int) else 0)
    results = fold_results(e.get("inferenceResults") for e in listed)
    if results:
        patch["inferenceResults"] = results
    dropped = fold_dropped(e.get("droppedParameters") for e in listed)
    if dropped:
        patch["droppedParameters"] = dropped
    return patch


def fold_results(lists: Iterable[Any]) -> list[dict[str, Any]]:
    """``inferenceResults`` of the whole task from each shard's list (model order kept)."""
    by_model: dict[str, dict[str, Any]] = {}
    for entries in lists:
        for entry in entries or []:
            if not isinstance(entry, Mapping) or not entry.get("model"):
                continue
            model = str(entry["model"])
            folded = by_model.setdefault(
                model,
                {
                    "model": model,
                    "location": entry.get("location"),
                    "items": 0,
                    "failed": 0,
                    "truncated": 0,
                },
            )
            for key in ("items", "failed", "truncated"):
                folded[key] += _int(entry.get(key))
    return list(by_model.values())


def fold_dropped(lists: Iterable[Any]) -> list[dict[str, Any]]:
    """``droppedParameters``: the first report of each model."""
    by_model: dict[str, dict[str, Any]] = {}
    for entries in lists:
        for entry in entries or []:
            if isinstance(entry, Mapping) and entry.get("model"):
                by_model.setdefault(str(entry["model"]), dict(entry))
    return list(by_model.values())


def changed(status: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of ``patch`` whose value differs from the status (``updatedAt`` ignored)."""
    out: dict[str, Any] = {}
    for key, value in patch.items():
        old = status.get(key)
        if key == "progress" and isinstance(old, Mapping):
            same = {k: v for k, v in old.items() if k != "updatedAt"} == {
                k: v for k, v in value.items() if k != "updatedAt"
            }
            if same:
                continue
        if old != value:
            out[key] = value
    return out


def budget_failure(status: Mapping[str, Any], shards: int, max_ratio: float) -> str | None:
    """Why a complete sharded inference fails the task's error budget, or None.

    Every shard exited 0 after writing its final counts (a required patch), so the entries
    are the whole run's."""
    entries = current_entries(status, shards)
    if len(entries) < shards or any(e.get("phase") != INFERENCE for e in entries.values()):
        return None
    total = sum(_int(e.get("total")) for e in entries.values())
    failed = sum(_int(e.get("failed")) for e in entries.values())
    ratio = failed / total if total else 0.0
    if ratio <= max_ratio:
        return None
    worst = max(entries.values(), key=lambda e: _int(e.get("failed")))
    error = worst.get("error")
    why = f"; most common error: {error}" if error else ""
    return (
        f"{failed} of {total} items failed after retries in {shards} shards "
        f"({ratio:.1%} > allowed {max_ratio:.1%}){why}"
    )


def pod_index(pod: Mapping[str, Any]) -> int | None:
    """The shard of an Indexed Job's pod (its completion-index annotation), if it has one."""
    meta = pod.get("metadata") or {}
    value = (meta.get("annotations") or {}).get(INDEX_ANNOTATION)
    if value is None:
        value = (meta.get("labels") or {}).get(INDEX_ANNOTATION)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
