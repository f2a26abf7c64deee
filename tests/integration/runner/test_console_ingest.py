"""The runner talks to the console over HTTP only: results sent (idempotently, in chunks,
optionally), annotations fetched for the manual phase. And it never imports the console."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modeleval.console.store import ItemFilter
from modeleval.console.web.app import create_app
from modeleval.console.web.services import Services
from modeleval.runner.console import (
    ConsoleError,
    ConsoleTarget,
    fetch_annotations,
    send_best_effort,
    send_results,
)
from tests.support.console import (
    FakeKube,
    build_services,
    evaltask,
    item_records,
    served,
    standard_kube,
)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[str, Services, FakeKube]]:
    kube = standard_kube()
    services = build_services(f"sqlite:///{tmp_path / 'console.db'}", kube)
    try:
        with served(create_app(services)) as url:
            yield url, services, kube
    finally:
        services.close()


def results_dir(
    tmp_path: Path, records: list[dict[str, Any]], summary: dict[str, Any] | None
) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "scores.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records), encoding="utf-8"
    )
    if summary is not None:
        (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return folder


def token_file(tmp_path: Path, token: str) -> str:
    path = tmp_path / "token"
    path.write_text(token + "\n")
    return str(path)


def test_results_arrive_in_chunks_and_a_resend_replaces_them(
    console: tuple[str, Services, FakeKube], tmp_path: Path
) -> None:
    url, services, kube = console
    task = evaltask("qa", models=("a", "b"))
    kube.tasks[("team", "qa")] = task
    folder = results_dir(tmp_path, item_records(1234, ("a", "b")), {"totalScore": 75.0})
    target = ConsoleTarget(url, token_file(tmp_path, "runner"))
    assert asyncio.run(send_results(target, task, folder, phase="score", chunk_items=500)) == 1234
    assert asyncio.run(send_results(target, task, folder, phase="score", chunk_items=300)) == 1234
    stored = services.store.find_task("team", "qa")
    assert stored.items_total == 1234 and stored.summary == {"totalScore": 75.0}
    assert stored.ingest_phase == "score"
    assert services.store.items_page(stored.id, ItemFilter()).total == 1234


def test_a_manual_only_task_sends_its_answers(
    console: tuple[str, Services, FakeKube], tmp_path: Path
) -> None:
    url, services, kube = console
    task = evaltask("judged", models=("a",), manual=("fluency",), state="Running")
    kube.tasks[("team", "judged")] = task
    folder = tmp_path / "results"
    (folder / "predictions").mkdir(parents=True)
    lines = [
        {"id": f"q{i}", "input": f"in {i}", "target": "t", "output": f"out {i}"} for i in range(3)
    ]
    (folder / "predictions" / "a.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    target = ConsoleTarget(url, token_file(tmp_path, "runner"))
    assert asyncio.run(send_results(target, task, folder, phase="infer")) == 3
    stored = services.store.find_task("team", "judged")
    [first] = services.store.items_page(stored.id, ItemFilter(), page_size=1).rows
    assert first.data["models"]["a"]["answer"] == "out 0"


def test_a_refusal_is_an_error_and_best_effort_only_logs(
    console: tuple[str, Services, FakeKube], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url, _services, kube = console
    task = evaltask("qa")
    kube.tasks[("team", "qa")] = task
    folder = results_dir(tmp_path, item_records(3), None)
    with pytest.raises(ConsoleError, match="403"):
        asyncio.run(
            send_results(
                ConsoleTarget(url, token_file(tmp_path, "viewer")), task, folder, phase="score"
            )
        )
    env = {
        "MODELEVAL_CONSOLE_URL": "http://127.0.0.1:9",
        "MODELEVAL_CONSOLE_TOKEN_FILE": token_file(tmp_path, "runner"),
    }
    with caplog.at_level(logging.WARNING, logger="modeleval.runner.console"):
        asyncio.run(_quick(send_best_effort(task, folder, phase="score", env=env)))
    assert "results not sent to the console" in caplog.text
    asyncio.run(send_best_effort(task, folder, phase="score", env={}))  # no console: no call


async def _quick(coro: Any) -> None:
    from modeleval.runner import console as module

    attempts, module.ATTEMPTS = module.ATTEMPTS, 2
    try:
        await coro
    finally:
        module.ATTEMPTS = attempts


def test_the_manual_phase_fetches_the_annotations(
    console: tuple[str, Services, FakeKube], tmp_path: Path
) -> None:
    url, services, kube = console
    task = evaltask("judged", models=("a",), manual=(), state="RunningWithManualBegin")
    kube.tasks[("team", "judged")] = task
    target = ConsoleTarget(url, token_file(tmp_path, "runner"))
    asyncio.run(
        send_results(target, task, results_dir(tmp_path, item_records(2), None), phase="infer")
    )
    stored = services.store.find_task("team", "judged")
    services.annotations.save(
        stored, "q1", {"a": {"satisfaction": 4}}, annotator="anna", base_version=0
    )
    document = asyncio.run(fetch_annotations(target, task))
    assert [a["id"] for a in document["annotations"]] == ["q1"]
    assert document["dimensions"][0]["dimension"] == "satisfaction"


def test_the_runner_never_imports_the_console() -> None:
    code = (
        "import sys, modeleval.runner.__main__, modeleval.runner.phases, modeleval.runner.score,"
        " modeleval.runner.manual, modeleval.runner.console\n"
        "print(sorted(m for m in sys.modules if m.startswith("
        "('modeleval.console', 'fastapi', 'sqlalchemy', 'starlette', 'uvicorn', 'alembic'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
