"""Manual evaluation and browser sessions: annotations, sessions, meta; the tasks' manual
columns.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("manual_dimensions", JSON, nullable=True))
        batch.add_column(
            sa.Column("manual_completed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("manual_completed_by", sa.String(512), nullable=True))
    op.create_table(
        "annotations",
        sa.Column("id", ID, primary_key=True),
        sa.Column("task_id", ID, sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("scores", JSON, nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("annotator", sa.String(512), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("task_id", "key", name="uq_annotations_task_key"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(512), nullable=False),
        sa.Column("groups", JSON, nullable=False),
        sa.Column("user_uid", sa.String(128), nullable=True),
        sa.Column("extra", JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("meta")
    op.drop_table("sessions")
    op.drop_table("annotations")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("manual_completed_by")
        batch.drop_column("manual_completed_at")
        batch.drop_column("manual_dimensions")
