"""The console's tables (SQLAlchemy 2 typed ORM). Migrations in ``migrations/versions`` create
exactly these; a test compares them (``alembic check`` style).

- ``tasks``: one row per EvalTask ever seen (by uid), mirrored from the cluster and filled by
  the runner's ingest; it stays after the EvalTask is deleted (``deleted_at``) until retention.
- ``items``: one row per dataset item of a task: input, reference and, in ``data``, every
  model's answer, metrics, judge verdict and GSB outcome (a ``scores.jsonl`` line). ``score``
  (the item's lowest per-model score, 0-100) and ``failed`` serve "worst" and "failed".
- ``annotations``: one row per annotated item: ``{model: {dimension: 1..5}}``, who saved it
  last and a ``version`` that detects concurrent edits.
- ``sessions``: browser sessions (the sha256 of the cookie value, never the value itself).
- ``meta``: key/value: the secret that signs CSRF tokens (shared by every replica).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from modeleval.clock import utc_now

JsonType = JSON().with_variant(JSONB(), "postgresql")
IdType = BigInteger().with_variant(Integer(), "sqlite")  # sqlite: INTEGER PRIMARY KEY = rowid


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JsonType, list[Any]: JsonType, datetime: UtcDateTime}


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    resource_version: Mapped[str | None] = mapped_column(String(64))
    """Of the EvalTask when last mirrored: unchanged objects are skipped."""
    namespace: Mapped[str] = mapped_column(String(253))
    name: Mapped[str] = mapped_column(String(253))
    display_name: Mapped[str | None] = mapped_column(String(512))
    task_type: Mapped[str | None] = mapped_column(String(32))
    eval_type: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text)
    percentage: Mapped[int | None] = mapped_column(Integer)
    total_score: Mapped[float | None] = mapped_column(Float)
    dataset: Mapped[str | None] = mapped_column(String(512))
    """What the task evaluated on (``configMap:demo-qa-dataset/qa.jsonl``, ``name:demo-qa``):
    tasks with the same dataset are compared and ranked together."""
    models: Mapped[list[Any]] = mapped_column(default=list)
    spec: Mapped[dict[str, Any] | None] = mapped_column()
    status: Mapped[dict[str, Any] | None] = mapped_column()
    summary: Mapped[dict[str, Any] | None] = mapped_column()
    charts: Mapped[dict[str, Any] | None] = mapped_column()
    manual_dimensions: Mapped[list[Any] | None] = mapped_column()
    manual_completed_at: Mapped[datetime | None] = mapped_column()
    manual_completed_by: Mapped[str | None] = mapped_column(String(512))
    items_total: Mapped[int] = mapped_column(Integer, default=0)
    items_failed: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    seen_at: Mapped[datetime | None] = mapped_column()
    deleted_at: Mapped[datetime | None] = mapped_column()
    ingested_at: Mapped[datetime | None] = mapped_column()
    ingest_phase: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (
        Index("ix_tasks_namespace_name", "namespace", "name"),
        Index("ix_tasks_state", "state"),
        Index("ix_tasks_dataset", "dataset"),
        Index("ix_tasks_created_at", "created_at"),
        Index("ix_tasks_deleted_at", "deleted_at"),
    )


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    task_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False
    )
    seq: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(512))
    input: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column()
    score: Mapped[float | None] = mapped_column(Float)
    failed: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("task_id", "key", name="uq_items_task_key"),
        Index("ix_items_task_seq", "task_id", "seq"),
        Index("ix_items_task_score", "task_id", "score", "seq"),
    )


class Annotation(Base):
    __tablename__ = "annotations"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    task_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False
    )
    key: Mapped[str] = mapped_column(String(512))
    scores: Mapped[dict[str, Any]] = mapped_column()
    comment: Mapped[str | None] = mapped_column(Text)
    annotator: Mapped[str] = mapped_column(String(512))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (UniqueConstraint("task_id", "key", name="uq_annotations_task_key"),)


class Session(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """sha256 (hex) of the cookie value."""
    username: Mapped[str] = mapped_column(String(512))
    groups: Mapped[list[Any]] = mapped_column(default=list)
    user_uid: Mapped[str | None] = mapped_column(String(128))
    extra: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime] = mapped_column()

    __table_args__ = (Index("ix_sessions_expires_at", "expires_at"),)


class Meta(Base):
    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
