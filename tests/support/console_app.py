"""The console in process for tests: FastAPI's TestClient over its services, logged in with a
bearer token or through the login page, and a runner's ingest of one task."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient

from modeleval.console.web.services import Services
from tests.support.console import FakeKube, ndjson

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
