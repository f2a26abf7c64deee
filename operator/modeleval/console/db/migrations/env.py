"""Alembic environment of the console: the engine comes from ``modeleval.console.db.engine``
(``config.attributes["engine"]``), never from an ini file."""

from __future__ import annotations

from alembic import context

from modeleval.console.db.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
