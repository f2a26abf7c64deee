"""A benchmark task's scores per category and per subject, as the console's task page shows
them (pure: the task's summary.json or its status in, table rows out).

A benchmark's ``perModel`` entries carry ``categories[]`` and ``subsets[]`` (see
``modeleval.benchmarks.results``); each table has a row per group and a column per model and
metric, in the order the benchmark reports them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class GroupTable:
    """One table: ``label`` (Categories / Subjects), the name of its first column, its metric
    columns and its rows."""

    label: str
    column: str
    metrics: list[str]
    rows: list[GroupRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GroupRow:
    name: str
    category: str | None
    items: int | None
    scores: dict[str, dict[str, float]]
    """Model -> metric -> score (0-100)."""


def _per_model(summary: Mapping[str, Any], status_scores: Mapping[str, Any]) -> dict[str, Any]:
    from_summary = summary.get("perModel") or {}
    if from_summary:
        return dict(from_summary)
    return {row.get("model"): row for row in status_scores.get("perModel") or []}


def benchmark_tables(
    summary: Mapping[str, Any], status_scores: Mapping[str, Any]
) -> list[GroupTable]:
    """The categories table (when there are several) and the subjects table; empty for a task
    that is not a benchmark."""
    per_model = _per_model(summary, status_scores)
    tables = []
    for label, column, key in (
        ("Categories", "category", "categories"),
        ("Subjects", "subject", "subsets"),
    ):
        rows: dict[str, GroupRow] = {}
        metrics: dict[str, None] = {}
        for model, block in per_model.items():
            for group in (block or {}).get(key) or []:
                name = str(group.get("name"))
                scores = dict(group.get("scores") or {})
                metrics.update(dict.fromkeys(scores))
                row = rows.setdefault(
                    name, GroupRow(name, group.get("category"), group.get("items"), {})
                )
                row.scores[str(model)] = scores
        if len(rows) > (1 if key == "categories" else 0):
            tables.append(GroupTable(label, column, list(metrics), list(rows.values())))
    return tables


def models_of(tables: Iterable[GroupTable]) -> list[str]:
    """Every model with a score in the tables, in first-seen order."""
    seen: dict[str, None] = {}
    for table in tables:
        for row in table.rows:
            seen.update(dict.fromkeys(row.scores))
    return list(seen)
