"""Results: tasks and their items.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", ID, primary_key=True),
        sa.Column("uid", sa.String(64), nullable=False, unique=True),
        sa.Column("resource_version", sa.String(64), nullable=True),
        sa.Column("namespace", sa.String(253), nullable=False),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("display_name", sa.String(512), nullable=True),
        sa.Column("task_type", sa.String(32), nullable=True),
        sa.Column("eval_type", sa.String(16), nullable=True),
        sa.Column("state", sa.String(40), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("percentage", sa.Integer(), nullable=True),
        sa.Column("total_score", sa.Float(), nullable=True),
        sa.Column("dataset", sa.String(512), nullable=True),
        sa.Column("models", JSON, nullable=False),
        sa.Column("spec", JSON, nullable=True),
        sa.Column("status", JSON, nullable=True),
        sa.Column("summary", JSON, nullable=True),
        sa.Column("charts", JSON, nullable=True),
        sa.Column("items_total", sa.Integer(), nullable=False),
        sa.Column("items_failed", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ingest_phase", sa.String(16), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_tasks_namespace_name", "tasks", ["namespace", "name"])
    op.create_index("ix_tasks_state", "tasks", ["state"])
    op.create_index("ix_tasks_dataset", "tasks", ["dataset"])
    op.create_index("ix_tasks_created_at", "tasks", ["created_at"])
    op.create_index("ix_tasks_deleted_at", "tasks", ["deleted_at"])
    op.create_table(
        "items",
        sa.Column("id", ID, primary_key=True),
        sa.Column("task_id", ID, sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("task_id", "key", name="uq_items_task_key"),
    )
    op.create_index("ix_items_task_seq", "items", ["task_id", "seq"])
    op.create_index("ix_items_task_score", "items", ["task_id", "score", "seq"])


def downgrade() -> None:
    op.drop_table("items")
    op.drop_table("tasks")
