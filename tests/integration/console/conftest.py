"""Store tests run on both databases: SQLite (a file) and a real PostgreSQL server started
here from Debian's ``postgresql`` package (``scripts/test.sh`` installs it when it can)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer, require_binaries


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    binaries = require_binaries()
    root = Path(tempfile.mkdtemp(prefix="modeleval-pg-", dir="/tmp"))
    root.chmod(0o755)  # the postgres user must reach its data folder inside
    server = PostgresServer(binaries, root / "pg")
    try:
        server.start()
    except Exception as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL is installed but did not start: {exc}\n{server.log()}")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'console.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.database()
