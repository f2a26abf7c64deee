"""Manual evaluation in the store: annotations saved one by one, conflicts, progress, CSV.

One annotation per item holds every model's scores (``{model: {dimension: 1..5}}``), who saved
it last and a ``version``. A save names the version it was based on (0: none yet): when
someone else saved the item in between, nothing is written and the caller gets a
``Conflict`` with the other's annotation, to show; saving again from the newer version
overwrites it on purpose. Different items never conflict, so annotators work in parallel.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from modeleval.clock import timestamp, utc_now
from modeleval.console.db.models import Annotation, Item, Task
from modeleval.console.store import NotFound, Store
from modeleval.scoring.manual import check_score, dimension_means

CSV_FIXED = ("id", "model", "input", "target", "answer")


class AnnotationError(ValueError):
    """The scores do not fit the task (unknown model or dimension, out-of-range value)."""


@dataclass(frozen=True)
class Saved:
    version: int
    annotation: Annotation


@dataclass(frozen=True)
class Conflict:
    """Someone saved the item since the annotator loaded it."""

    current: Annotation


@dataclass(frozen=True)
class Progress:
    annotated: int
    total: int

    @property
    def percent(self) -> int:
        return int(self.annotated * 100 / self.total) if self.total else 0

    @property
    def done(self) -> bool:
        return self.total > 0 and self.annotated >= self.total


def dimension_list(task: Task) -> list[str]:
    return [str(d["dimension"]) for d in task.manual_dimensions or []]


def validate_scores(
    task: Task,
    scores: Mapping[str, Mapping[str, Any]],
    *,
    complete: bool,
    allow_empty: bool = False,
) -> dict[str, dict[str, int]]:
    """Scores checked against the task's models and dimensions; ``complete``: every model
    given must have every dimension; ``allow_empty``: no score at all is fine (an item no
    model answered)."""
    dims = dimension_list(task)
    if not dims:
        raise AnnotationError(f"task {task.namespace}/{task.name} is not in manual mode")
    models = set(task.models or [])
    clean: dict[str, dict[str, int]] = {}
    for model, by_dim in scores.items():
        if model not in models:
            raise AnnotationError(f"unknown model {model!r} (the task has {sorted(models)})")
        row: dict[str, int] = {}
        for dim, value in by_dim.items():
            if dim not in dims:
                raise AnnotationError(f"unknown dimension {dim!r} (the task has {dims})")
            if value is None or value == "":
                continue
            try:
                row[dim] = check_score(value)
            except ValueError as exc:
                raise AnnotationError(f"{model} / {dim}: {exc}") from None
        missing = [d for d in dims if d not in row]
        if complete and missing:
            raise AnnotationError(f"{model}: score every dimension (missing {', '.join(missing)})")
        if row:
            clean[model] = row
    if not clean and not allow_empty:
        raise AnnotationError("no scores given")
    return clean


class Annotations:
    """Annotations of the tasks in a `Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, task_id: int, key: str) -> Annotation | None:
        with self.store.sessions() as session:
            return session.scalars(
                select(Annotation).where(Annotation.task_id == task_id, Annotation.key == key)
            ).first()

    def save(
        self,
        task: Task,
        key: str,
        scores: Mapping[str, Mapping[str, Any]],
        *,
        annotator: str,
        base_version: int,
        comment: str | None = None,
        complete: bool = True,
        allow_empty: bool = False,
    ) -> Saved | Conflict:
        """Save one item's scores if nobody saved it since ``base_version``."""
        clean = validate_scores(task, scores, complete=complete, allow_empty=allow_empty)
        now = utc_now()
        sessions = self.store.writes
        if base_version <= 0:
            try:
                with sessions.begin() as session:
                    if not session.scalar(
                        select(func.count(Item.id)).where(Item.task_id == task.id, Item.key == key)
                    ):
                        raise NotFound(f"item {key!r} of task {task.namespace}/{task.name}")
                    row = Annotation(
                        task_id=task.id,
                        key=key,
                        scores=clean,
                        comment=comment or None,
                        annotator=annotator,
                        version=1,
                        created_at=now,
                        updated_at=now,
                    )
                    session.add(row)
                return Saved(1, row)
            except IntegrityError:
                current = self.get(task.id, key)
                assert current is not None
                return Conflict(current)
        with sessions.begin() as session:
            result = session.execute(
                update(Annotation)
                .where(
                    Annotation.task_id == task.id,
                    Annotation.key == key,
                    Annotation.version == base_version,
                )
                .values(
                    scores=clean,
                    comment=comment or None,
                    annotator=annotator,
                    version=base_version + 1,
                    updated_at=now,
                )
            )
            changed = getattr(result, "rowcount", 0)
        current = self.get(task.id, key)
        if not changed or current is None:
            if current is None:
                raise NotFound(f"annotation of item {key!r}")
            return Conflict(current)
        return Saved(base_version + 1, current)

    def progress(self, task: Task) -> Progress:
        with self.store.sessions() as session:
            annotated = int(
                session.scalar(
                    select(func.count(Annotation.id)).where(Annotation.task_id == task.id)
                )
                or 0
            )
        return Progress(annotated=annotated, total=task.items_total)

    def next_unannotated(self, task_id: int, after_seq: int = -1) -> int | None:
        """The first item after ``after_seq`` (wrapping around) that nobody annotated yet."""
        with self.store.sessions() as session:
            base = (
                select(Item.seq)
                .outerjoin(
                    Annotation,
                    (Annotation.task_id == Item.task_id) & (Annotation.key == Item.key),
                )
                .where(Item.task_id == task_id, Annotation.id.is_(None))
            )
            found = session.scalar(base.where(Item.seq > after_seq).order_by(Item.seq).limit(1))
            if found is None and after_seq >= 0:
                found = session.scalar(base.order_by(Item.seq).limit(1))
            return None if found is None else int(found)

    def all(self, task_id: int) -> list[Annotation]:
        with self.store.sessions() as session:
            return list(
                session.scalars(
                    select(Annotation).where(Annotation.task_id == task_id).order_by(Annotation.id)
                )
            )

    def by_keys(self, task_id: int, keys: Sequence[str]) -> dict[str, Annotation]:
        if not keys:
            return {}
        with self.store.sessions() as session:
            rows = session.scalars(
                select(Annotation).where(
                    Annotation.task_id == task_id, Annotation.key.in_(list(keys))
                )
            )
            return {row.key: row for row in rows}

    def means(self, task: Task) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, int]]]:
        """Per model and dimension: the mean on 0-100 so far, and how many answers."""
        return dimension_means(
            (a.scores for a in self.all(task.id)), list(task.models or []), dimension_list(task)
        )

    # -- CSV for offline annotation ----------------------------------------------------------

    def export_csv(self, task: Task) -> Iterator[str]:
        """One row per (item, model): id, model, input, target, answer and a column per
        dimension holding the saved score (empty when none)."""
        dims = dimension_list(task)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([*CSV_FIXED, *dims])
        yield _drain(buffer)
        existing = {a.key: a.scores for a in self.all(task.id)}
        for item in self.store.iter_items(task.id):
            for model in task.models or []:
                result = (item.data.get("models") or {}).get(model) or {}
                saved = (existing.get(item.key) or {}).get(model) or {}
                writer.writerow(
                    [
                        item.key,
                        model,
                        item.input,
                        item.target,
                        result.get("answer") or "",
                        *[saved.get(d, "") for d in dims],
                    ]
                )
            yield _drain(buffer)

    def import_csv(self, task: Task, text: str, *, annotator: str) -> dict[str, int]:
        """Scores from a CSV like ``export_csv`` writes (other columns are ignored). Rows of the
        same item are merged; an item's earlier annotation is replaced. Returns counts."""
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise AnnotationError("the CSV needs a header with at least id, model and dimensions")
        dims = dimension_list(task)
        by_item: dict[str, dict[str, dict[str, Any]]] = {}
        for line, row in enumerate(reader, start=2):
            key = (row.get("id") or "").strip()
            model = (row.get("model") or "").strip()
            if not key:
                raise AnnotationError(f"line {line}: no id")
            if not model:
                if len(task.models or []) != 1:
                    raise AnnotationError(f"line {line}: no model (the task has several)")
                model = task.models[0]
            scores = {d: (row.get(d) or "").strip() for d in dims if (row.get(d) or "").strip()}
            if scores:
                by_item.setdefault(key, {}).setdefault(model, {}).update(scores)
        return self.replace_many(task, by_item, annotator=annotator)

    def replace_many(
        self, task: Task, by_item: Mapping[str, Mapping[str, Mapping[str, Any]]], *, annotator: str
    ) -> dict[str, int]:
        """Set the annotations of many items at once (offline annotation): validated first,
        all or nothing."""
        cleaned = {}
        for key, scores in by_item.items():
            try:
                cleaned[key] = validate_scores(task, scores, complete=False)
            except AnnotationError as exc:
                raise AnnotationError(f"item {key}: {exc}") from None
        known = set(self.store.items_by_keys(task.id, list(cleaned)))
        unknown = sorted(set(cleaned) - known)
        if unknown:
            raise AnnotationError(f"unknown item ids: {', '.join(unknown[:10])}")
        now = utc_now()
        created = updated = 0
        with self.store.writes.begin() as session:
            existing = {
                a.key: a
                for a in session.scalars(
                    select(Annotation).where(
                        Annotation.task_id == task.id, Annotation.key.in_(list(cleaned))
                    )
                )
            }
            for key, scores in cleaned.items():
                row = existing.get(key)
                if row is None:
                    session.add(
                        Annotation(
                            task_id=task.id,
                            key=key,
                            scores=scores,
                            annotator=annotator,
                            version=1,
                            created_at=now,
                            updated_at=now,
                        )
                    )
                    created += 1
                else:
                    row.scores = scores
                    row.annotator = annotator
                    row.version += 1
                    row.updated_at = now
                    updated += 1
        return {"created": created, "updated": updated}


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def annotation_document(annotation: Annotation) -> dict[str, Any]:
    return {
        "id": annotation.key,
        "scores": annotation.scores,
        "comment": annotation.comment,
        "annotator": annotation.annotator,
        "version": annotation.version,
        "updatedAt": timestamp(annotation.updated_at),
    }
