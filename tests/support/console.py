"""Helpers of the console tests: a stand-in for the Kubernetes API (tokens, RBAC verbs,
EvalTasks), console services over a database URL, and EvalTask / item documents."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from modeleval.console.kubeapi import ResourceCheck, UserInfo
from modeleval.console.settings import ConsoleSettings
from modeleval.console.web.services import Services

RUNNER = "system:serviceaccount:team:qa-runner"


@dataclass
class FakeKube:
    """Answers the console's Kubernetes calls from dictionaries.

    ``users``: token -> user; ``audiences``: token -> audiences it is bound to (default: the
    API server's, ``None``); ``grants``: user -> {(verb, namespace, subresource)} ("*" namespace:
    everywhere); ``tasks``: (namespace, name) -> EvalTask object.
    """

    users: dict[str, UserInfo] = field(default_factory=dict)
    audiences: dict[str, str] = field(default_factory=dict)
    grants: dict[str, set[tuple[str, str, str]]] = field(default_factory=dict)
    tasks: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    patches: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    reviews: int = 0
    checks: list[tuple[str, ResourceCheck]] = field(default_factory=list)

    def add_user(self, token: str, name: str, *grants: tuple[str, str, str]) -> None:
        self.users[token] = UserInfo(name, ("system:authenticated",))
        self.grants.setdefault(name, set()).update(grants)

    def review_token(self, token: str, audiences: list[str] | None = None) -> UserInfo | None:
        self.reviews += 1
        user = self.users.get(token)
        if user is None:
            return None
        bound = self.audiences.get(token)
        wanted = (audiences or [None])[0]
        return user if bound == wanted else None

    def allowed(self, user: UserInfo, check: ResourceCheck) -> bool:
        self.checks.append((user.username, check))
        grants = self.grants.get(user.username, set())
        return any(
            verb == check.verb and ns in ("*", check.namespace) and sub == check.subresource
            for verb, ns, sub in grants
        )

    def list_tasks(self) -> list[dict[str, Any]]:
        return list(self.tasks.values())

    def get_task(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.tasks.get((namespace, name))

    def patch_task_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.patches.append((namespace, name, status))
        task = self.tasks.get((namespace, name))
        if task is not None:
            current = task.setdefault("status", {})
            for key, value in status.items():
                if isinstance(value, dict) and isinstance(current.get(key), dict):
                    current[key] = {**current[key], **value}
                else:
                    current[key] = value

    def close(self) -> None:
        pass


VIEWER = ("get", "*", "")
LISTER = ("list", "*", "")
ANNOTATOR = ("annotate", "*", "")
COMPLETER = ("patch", "*", "")
INGEST = ("patch", "team", "status")


def standard_kube() -> FakeKube:
    """Tokens ``viewer``, ``annotator``, ``editor``, ``runner`` (console audience), ``nobody``."""
    kube = FakeKube()
    kube.add_user("viewer", "vera", VIEWER, LISTER)
    kube.add_user("annotator", "anna", VIEWER, LISTER, ANNOTATOR)
    kube.add_user("annotator2", "arne", VIEWER, LISTER, ANNOTATOR)
    kube.add_user("editor", "eddie", VIEWER, LISTER, ANNOTATOR, COMPLETER)
    kube.add_user("runner", RUNNER, INGEST, ("get", "team", ""))
    kube.audiences["runner"] = "modeleval-console"
    kube.add_user("nobody", "nobody")
    return kube


def console_settings(database_url: str, **changes: Any) -> ConsoleSettings:
    base = replace(
        ConsoleSettings(),
        database_url=database_url,
        sync_seconds=0,
        secure_cookies=False,
        auth_cache_seconds=0,
    )
    return replace(base, **changes)


def build_services(database_url: str, kube: FakeKube, **changes: Any) -> Services:
    return Services.build(console_settings(database_url, **changes), kube=kube)  # type: ignore[arg-type]


def evaltask(
    name: str = "qa",
    namespace: str = "team",
    *,
    uid: str | None = None,
    models: Iterable[str] = ("m1",),
    manual: Iterable[str] | None = None,
    state: str | None = "Succeeded",
    dataset: Mapping[str, Any] | None = None,
    rv: str = "1",
    created: str = "2026-12-01T10:00:00Z",
    total_score: float | None = None,
) -> dict[str, Any]:
    scoring: dict[str, Any] = {"modes": ["rule"]}
    if manual is not None:
        scoring = {
            "modes": ["manual"],
            "manual": {"evalDimension": [{"dimension": d} for d in manual]},
        }
    status: dict[str, Any] = {}
    if state is not None:
        status = {"state": state, "percentage": 100 if state == "Succeeded" else 50}
        if total_score is not None:
            status["totalScore"] = total_score
    return {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid or f"uid-{namespace}-{name}",
            "resourceVersion": rv,
            "creationTimestamp": created,
        },
        "spec": {
            "models": [{"name": m, "endpoint": {"url": "http://x/v1"}} for m in models],
            "dataset": dict(dataset or {"name": "qa-set"}),
            "scoring": scoring,
        },
        "status": status,
    }


def item_records(
    count: int, models: Iterable[str] = ("m1",), *, prefix: str = "q", answer: str = "answer"
) -> list[dict[str, Any]]:
    """Scored item records (``scores.jsonl`` lines): accuracy alternates 1/0 per item, the
    second model is always right."""
    records = []
    for i in range(count):
        results = {}
        for index, model in enumerate(models):
            right = 1.0 if index > 0 or i % 2 == 0 else 0.0
            results[model] = {"answer": f"{answer} {i}", "metrics": {"accuracy": right}}
        records.append(
            {"id": f"{prefix}{i}", "input": f"question {i}", "target": f"t{i}", "models": results}
        )
    return records


def ndjson(records: Iterable[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread on a free loopback port; yields its URL."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
