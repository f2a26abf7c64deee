"""Alembic migrations: an empty database goes to the newest schema, a database at the previous
migration (with data) is upgraded without losing it, and the migrations create exactly the
tables the models describe."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.dialects import postgresql

from modeleval.console.db.engine import current_revision, head_revision, make_engine, upgrade
from modeleval.console.db.models import Base


def test_an_empty_database_is_upgraded_to_the_newest_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision() == "0002"
        tables = set(inspect(engine).get_table_names())
        assert {"tasks", "items", "annotations", "sessions", "meta"} <= tables
        upgrade(engine)  # again: nothing to do
        assert current_revision(engine) == "0002"
    finally:
        engine.dispose()


def test_the_migrations_create_what_the_models_describe(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_a_database_at_the_previous_migration_keeps_its_results(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0001")
        now = datetime(2026, 12, 1, tzinfo=UTC)
        # The tables as migration 0001 made them (the models describe the newest schema).
        json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
        tasks = sa.table(
            "tasks",
            *(sa.column(n) for n in ("uid", "namespace", "name", "state")),
            sa.column("models", json),
            sa.column("items_total"),
            sa.column("items_failed"),
            sa.column("updated_at", sa.DateTime(timezone=True)),
        )
        items = sa.table(
            "items",
            *(sa.column(n) for n in ("task_id", "seq", "key", "input", "target")),
            sa.column("data", json),
            sa.column("failed", sa.Boolean()),
        )
        with engine.begin() as connection:
            connection.execute(
                tasks.insert().values(
                    uid="u1",
                    namespace="team",
                    name="qa",
                    state="Succeeded",
                    models=["m1"],
                    items_total=1,
                    items_failed=0,
                    updated_at=now,
                )
            )
            task_id = connection.execute(text("SELECT id FROM tasks")).scalar_one()
            connection.execute(
                items.insert().values(
                    task_id=task_id,
                    seq=0,
                    key="q0",
                    input="in",
                    target="t",
                    data={"models": {}},
                    failed=False,
                )
            )
        upgrade(engine)
        assert current_revision(engine) == "0002"
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT name, state, manual_dimensions, manual_completed_at FROM tasks")
            ).one()
            assert tuple(row) == ("qa", "Succeeded", None, None)
            assert connection.execute(text("SELECT key FROM items")).scalar_one() == "q0"
            assert connection.execute(text("SELECT count(*) FROM annotations")).scalar_one() == 0
    finally:
        engine.dispose()
