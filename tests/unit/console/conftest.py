"""The console in process: FastAPI's TestClient over a SQLite file, Kubernetes faked."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from modeleval.console.web.app import create_app
from tests.support.console import build_services, evaltask, item_records, standard_kube
from tests.support.console_app import Console


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty console database at the newest migration, made once and copied per test."""
    from modeleval.console.db.engine import make_engine, upgrade

    path = tmp_path_factory.mktemp("console-template") / "console.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def console(tmp_path: Path, migrated_database: Path) -> Iterator[Console]:
    kube = standard_kube()
    database = tmp_path / "console.db"
    shutil.copyfile(migrated_database, database)
    services = build_services(f"sqlite:///{database}", kube)
    try:
        yield Console(services, kube, create_app(services))
    finally:
        services.close()


@pytest.fixture
def manual_task(console: Console) -> tuple[dict[str, object], int]:
    """A manual-mode task with two models and three items, waiting for annotation."""
    obj = evaltask(
        "judged", models=("m1", "m2"), manual=("fluency",), state="RunningWithManualBegin"
    )
    console.kube.tasks[("team", "judged")] = obj
    task_id = console.ingest(obj, item_records(3, ("m1", "m2")))
    console.services.mirror.run_once()
    return obj, task_id
