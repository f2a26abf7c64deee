"""Benchmark: the console's ingest and its two heaviest pages.

Targets (issue 16): ingest of a 100,000-item task < 10 s; the task list with 10,000 tasks
< 300 ms server time; an item page of a 100,000-item task < 200 ms server time.

The console runs as its own process (uvicorn, as ``modeleval console`` does), with Kubernetes
replaced by a stub that accepts one token for everything (no API server in the loop; the
console caches TokenReview and SubjectAccessReview answers anyway). This process plays the
runner: ``modeleval.runner.console.send_results`` sends a ``scores.jsonl`` of N items with two
models and four metrics each, over HTTP, in chunks of 5,000 — timed end to end (read, sort,
send, upsert, complete with the distribution charts). Then M tasks are added straight into
the database and the pages are fetched; "server time" is the console's own ``Server-Timing``
(application time, before the body goes out), reported as p50 / p90 over the repeats, with the
client's wall time beside it.

    .venv/bin/python bench/console_throughput.py [--items 100000] [--tasks 10000] [--repeat 20]
        [--database postgresql+psycopg://user@host/db]      # default: SQLite in a temp dir
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

TARGETS = {"ingest": 10.0, "task list": 0.300, "item page": 0.200}
TOKEN = "bench"
NAMESPACES = [f"team-{i}" for i in range(8)]


class StubKube:
    """Accepts the token ``bench`` for every verb; lists no EvalTask (results only)."""

    def review_token(self, token: str, audiences: list[str] | None = None) -> Any:
        from modeleval.console.kubeapi import UserInfo

        return UserInfo("bench", ("system:authenticated",)) if token == TOKEN else None

    def allowed(self, user: Any, check: Any) -> bool:
        return True

    def list_tasks(self) -> list[dict[str, Any]]:
        return []

    def get_task(self, namespace: str, name: str) -> dict[str, Any] | None:
        return None

    def patch_task_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


def serve(port: int, database: str) -> None:
    """The console process: migrations, then uvicorn (``--serve``)."""
    import uvicorn

    from modeleval.console.settings import ConsoleSettings
    from modeleval.console.web.app import create_app
    from modeleval.console.web.services import Services

    settings = replace(ConsoleSettings(), database_url=database, sync_seconds=0)
    services = Services.build(settings, kube=StubKube())  # type: ignore[arg-type]
    uvicorn.run(create_app(services), host="127.0.0.1", port=port, log_level="warning")


def scores_file(path: Path, items: int) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(items):
            models = {}
            for model in ("base", "tuned"):
                metrics = {
                    "accuracy": float(rng.random() < 0.6),
                    "rougeL": round(rng.random(), 4),
                    "bleu": round(rng.random(), 4),
                    "editDistance": round(rng.random(), 4),
                }
                models[model] = {"answer": f"answer {i} of {model} " * 3, "metrics": metrics}
            record = {"id": f"q{i}", "input": f"question number {i}? " * 4, "target": f"t{i}"}
            fh.write(json.dumps({**record, "models": models}) + "\n")


def task_document(name: str, namespace: str = "bench") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}"},
        "spec": {
            "models": [{"name": "base"}, {"name": "tuned"}],
            "dataset": {"name": "bench-qa"},
            "scoring": {"modes": ["rule"]},
        },
    }


def add_tasks(database: str, count: int) -> None:
    """``count`` finished tasks over 8 namespaces, inserted in bulk (as the mirror would)."""
    from sqlalchemy import insert

    from modeleval.console.db.engine import make_engine
    from modeleval.console.db.models import Task

    engine = make_engine(database)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(count):
        created = start + timedelta(minutes=i)
        rows.append(
            {
                "uid": f"uid-many-{i}",
                "namespace": NAMESPACES[i % len(NAMESPACES)],
                "name": f"task-{i:05}",
                "display_name": f"Run {i}",
                "task_type": "Quality",
                "eval_type": "auto",
                "state": "Failed" if i % 17 == 0 else "Succeeded",
                "percentage": 100,
                "total_score": (i * 37) % 100 + 0.5,
                "dataset": f"name:set-{i % 20}",
                "models": ["base", "tuned"],
                "spec": task_document(f"task-{i:05}")["spec"],
                "items_total": 100,
                "items_failed": 0,
                "created_at": created,
                "started_at": created,
                "ended_at": created + timedelta(minutes=3),
                "updated_at": created,
            }
        )
    with engine.begin() as connection:
        for first in range(0, len(rows), 2000):
            connection.execute(insert(Task), rows[first : first + 2000])
    engine.dispose()


def timed(client: httpx.Client, path: str, repeat: int) -> tuple[list[float], list[float]]:
    """(server ms, wall ms) of ``repeat`` GETs, after one warm-up."""
    server, wall = [], []
    for attempt in range(repeat + 1):
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        if attempt:
            timing = response.headers["server-timing"]
            server.append(float(timing.split("dur=")[1]))
            wall.append(elapsed)
    return server, wall


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: SQLite)")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.database)
        return 0
    print("command:", shlex.join([sys.executable, *sys.argv]))
    work = Path(tempfile.mkdtemp(prefix="console-bench-"))
    database = args.database or f"sqlite:///{work / 'console.db'}"
    from modeleval_testkit.console import free_port

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--database", database],
        stdout=subprocess.DEVNULL,
    )
    verdicts: dict[str, bool] = {}
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                print("the console did not start")
                return 2
            time.sleep(0.1)
        print(f"console: {url}, database: {database.split('@')[-1]}")

        from modeleval.runner.console import ConsoleTarget, send_results

        results = work / "results"
        results.mkdir()
        scores_file(results / "scores.jsonl", args.items)
        size = (results / "scores.jsonl").stat().st_size / 1e6
        token = work / "token"
        token.write_text(TOKEN)
        target = ConsoleTarget(url, str(token))
        big = task_document("big")
        started = time.perf_counter()
        sent = asyncio.run(send_results(target, big, results, phase="score"))
        ingest = time.perf_counter() - started
        ratio = ingest / TARGETS["ingest"]
        print(
            f"ingest      : {sent} items ({size:.0f} MB of scores.jsonl) in {ingest:.2f} s "
            f"= {sent / ingest:,.0f} items/s; ratio to target {ratio:.2f}"
        )
        verdicts["ingest"] = ingest < TARGETS["ingest"]
        again = time.perf_counter()
        asyncio.run(send_results(target, big, results, phase="score"))
        redo = time.perf_counter() - again
        print(f"re-ingest   : {redo:.2f} s (a retried pod: replaced, not added)")

        started = time.perf_counter()
        add_tasks(database, args.tasks)
        print(f"seeded      : {args.tasks} more tasks in {time.perf_counter() - started:.1f} s")
        client = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
        )
        listed = client.get("/api/v1/tasks").json()
        big_id = next(t["id"] for t in client.get("/api/v1/tasks?namespace=bench").json()["items"])
        assert listed["total"] == args.tasks + 1, listed["total"]
        last_page = max(1, -(-args.items // 50))
        pages = {
            "task list": [
                "/tasks",
                "/tasks?sort=score&order=desc&state=Succeeded",
                f"/tasks?namespace=team-3&dataset=name:set-3&page={max(1, args.tasks // 400)}",
                "/api/v1/tasks?page=50",
            ],
            "item page": [
                f"/tasks/{big_id}/items",
                f"/tasks/{big_id}/items?page={last_page}",
                f"/tasks/{big_id}/items?order=worst",
                f"/api/v1/tasks/bench/big/items?page={last_page // 2}",
            ],
        }
        for kind, paths in pages.items():
            worst = 0.0
            for path in paths:
                server_ms, wall_ms = timed(client, path, args.repeat)
                p50, p90 = quantile(server_ms, 0.5), quantile(server_ms, 0.9)
                worst = max(worst, p50)
                print(f"{kind:<12}: {path:<58} server p50 {p50:6.1f} ms  p90 {p90:6.1f} ms  "
                      f"(wall p50 {quantile(wall_ms, 0.5):6.1f} ms)")  # fmt: skip
            ratio = worst / 1000 / TARGETS[kind]
            print(f"{kind:<12}: worst p50 {worst:.1f} ms; ratio to target {ratio:.2f}")
            verdicts[kind] = worst / 1000 < TARGETS[kind]
        extra = [
            f"/tasks/{big_id}/items?model=tuned&metric=accuracy&low=0&high=0",
            f"/tasks/{big_id}/items?q=number%2099999",
            f"/tasks/{big_id}",
        ]
        for path in extra:  # no target: filters scan the task's items
            server_ms, _ = timed(client, path, max(3, args.repeat // 4))
            print(f"{'(no target)':<12}: {path:<58} server p50 {quantile(server_ms, 0.5):6.1f} ms")
        client.close()
    finally:
        server.terminate()
        server.wait(30)
    failed = [kind for kind, ok in verdicts.items() if not ok]
    print("verdict:", "all targets met" if not failed else f"missed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("MODELEVAL_LOG_LEVEL", "WARNING")
    raise SystemExit(main())
