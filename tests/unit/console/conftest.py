"""The console in process: FastAPI's TestClient over a SQLite file, Kubernetes faked."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modeleval.console.web.app import create_app
from modeleval.console.web.services import Services
from tests.support.console import (
    FakeKube,
    build_services,
    evaltask,
    item_records,
    ndjson,
    standard_kube,
)

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Console:
    services: Services
    kube: FakeKube
    app: object

    def client(self, token: str | None = None) -> TestClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return TestClient(self.app, headers=headers)  # type: ignore[arg-type]

    def browser(self, token: str) -> TestClient:
        """A client logged in through the login page (session cookie)."""
        client = TestClient(self.app)  # type: ignore[arg-type]
        page = client.get("/login")
        csrf = CSRF.search(page.text)
        assert csrf is not None
        done = client.post(
            "/login",
            data={"token": token, "csrf": csrf.group(1), "next": "/tasks"},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
        return client

    def ingest(
        self, obj: dict[str, object], records: list[dict[str, object]], *, summary: object = None
    ) -> int:
        """What a runner sends: the task, one chunk of items, complete."""
        runner = self.client("runner")
        meta = obj["metadata"]
        assert isinstance(meta, dict)
        ns, name, uid = meta["namespace"], meta["name"], meta["uid"]
        body = {
            "task": {"metadata": meta, "spec": obj["spec"]},
            "phase": "score",
            "summary": summary,
        }
        answer = runner.put(f"/api/v1/ingest/{ns}/{name}", json=body)
        assert answer.status_code == 200, answer.text
        chunk = runner.put(
            f"/api/v1/ingest/{ns}/{name}/items",
            params={"uid": uid, "start": 0},
            content=ndjson(records),
        )
        assert chunk.status_code == 200, chunk.text
        done = runner.post(
            f"/api/v1/ingest/{ns}/{name}/complete", params={"uid": uid, "total": len(records)}
        )
        assert done.status_code == 200, done.text
        task_id = done.json()["task_id"]
        assert isinstance(task_id, int)
        return task_id


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
