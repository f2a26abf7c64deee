"""The runner's side of the console: send results, fetch annotations (HTTP only).

Configured by the Job (``modeleval.builders.jobs``) when the operator knows a console:
``MODELEVAL_CONSOLE_URL`` and ``MODELEVAL_CONSOLE_TOKEN_FILE`` (a projected ServiceAccount
token bound to the console's audience, re-read on every call because the kubelet rotates it).
Without them nothing is sent and nothing changes.

Sending is idempotent (see ``modeleval.console.web.ingest``) and optional: a failure is logged
and the phase still succeeds — the results are in the results volume either way. Fetching the
annotations is not optional: the manual phase fails (and its Job retries) without them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

log = logging.getLogger("modeleval.runner.console")

CHUNK_ITEMS = 5000
IN_FLIGHT = 2
"""Chunks sent at once: the console parses one while its database stores the other."""
ATTEMPTS = 5
TIMEOUT_S = 120


class ConsoleError(Exception):
    """The console refused a call or stayed unreachable."""


@dataclass(frozen=True)
class ConsoleTarget:
    url: str
    token_file: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ConsoleTarget | None:
        url = (env.get("MODELEVAL_CONSOLE_URL") or "").rstrip("/")
        token_file = env.get("MODELEVAL_CONSOLE_TOKEN_FILE") or ""
        if not url or not token_file:
            return None
        return cls(url, token_file)

    def headers(self, content_type: str = "application/json") -> dict[str, str]:
        token = Path(self.token_file).read_text().strip()
        return {"Authorization": f"Bearer {token}", "Content-Type": content_type}


async def _request(
    session: aiohttp.ClientSession,
    target: ConsoleTarget,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    content_type: str = "application/json",
    params: Mapping[str, str] | None = None,
) -> Any:
    """One call, retried on connection errors, 429 and 5xx with backoff; 4xx raise at once."""
    delay = 0.5
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with session.request(
                method,
                target.url + path,
                data=body,
                params=params,
                headers=target.headers(content_type),
            ) as response:
                text = await response.text()
                if response.status < 400:
                    return json.loads(text) if text else None
                if response.status != 429 and response.status < 500:
                    raise ConsoleError(f"{method} {path}: {response.status} {text[:300]}")
                problem = f"{response.status} {text[:200]}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            problem = str(exc) or type(exc).__name__
        if attempt == ATTEMPTS:
            raise ConsoleError(f"{method} {path}: {problem} (after {ATTEMPTS} attempts)")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 8.0)
    raise AssertionError("unreachable")


def _task_path(task: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = task.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or ""), str(meta.get("uid") or "")


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for line in lines:
        if line.strip():
            chunk.append(line.rstrip("\n"))
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


ID_FIELD = re.compile(r'^\{"id": ("(?:[^"\\]|\\.)*"|-?\d+)')


def item_id(line: str) -> str:
    """The ``id`` of a record line (records are written id first; parsed fully otherwise)."""
    found = ID_FIELD.match(line)
    value = json.loads(found.group(1)) if found else json.loads(line).get("id")
    return str(value)


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """``q2`` before ``q10``; ids without digits in plain order."""
    return tuple(
        (0, int(part)) if part.isdecimal() else (1, part)
        for part in re.split(r"(\d+)", text)
        if part
    )


def in_dataset_order(lines: Iterable[str]) -> list[str]:
    """Records in the order of their ids (``0, 1, … 10`` or ``q0, q1, … q10``): results files
    hold them in the order answers finished, which means nothing to a reader."""
    keyed = [(natural_key(item_id(line)), line) for line in lines if line.strip()]
    keyed.sort(key=lambda pair: pair[0])
    return [line for _, line in keyed]


def result_lines(task: Mapping[str, Any], results_dir: Path) -> Iterator[str]:
    """The item records to send: ``scores.jsonl`` when scoring ran, else the predictions
    aligned per item (answers without scores, for a manual-only task)."""
    scores = results_dir / "scores.jsonl"
    if scores.exists():
        with scores.open(encoding="utf-8") as fh:
            yield from fh
        return
    from modeleval.runner.shards import prediction_files
    from modeleval.scoring.records import align_items, read_prediction_files

    spec = task.get("spec") or {}
    names = [str(m["name"]) for m in spec.get("models") or spec.get("existingResults") or []]
    directory = results_dir / "predictions"
    predictions = {  # one file per model, or one per shard
        name: read_prediction_files(files)
        for name in names
        if (files := prediction_files(directory, name))
    }
    for record in align_items(predictions):
        yield json.dumps(record.to_dict(), ensure_ascii=False)


async def send_results(
    target: ConsoleTarget,
    task: Mapping[str, Any],
    results_dir: Path,
    *,
    phase: str,
    chunk_items: int = CHUNK_ITEMS,
) -> int:
    """Send the task, its summary (if any) and every item record; returns the item count."""
    namespace, name, uid = _task_path(task)
    if not (namespace and name and uid):
        raise ConsoleError("task.json lacks metadata.namespace, name or uid")
    summary_path = results_dir / "summary.json"
    summary = (
        json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else None
    )
    base = f"/api/v1/ingest/{namespace}/{name}"
    document = {
        "task": {"metadata": dict(task.get("metadata") or {}), "spec": task.get("spec") or {}},
        "phase": phase,
        "summary": summary,
    }
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    total = 0
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await _request(session, target, "PUT", base, body=json.dumps(document).encode())
        lines = await asyncio.to_thread(lambda: in_dataset_order(result_lines(task, results_dir)))
        slots = asyncio.Semaphore(IN_FLIGHT)

        async def put(start: int, chunk: list[str]) -> None:
            async with slots:
                await _request(
                    session,
                    target,
                    "PUT",
                    f"{base}/items",
                    body=("\n".join(chunk) + "\n").encode("utf-8"),
                    content_type="application/x-ndjson",
                    params={"uid": uid, "start": str(start)},
                )

        starts = []
        for chunk in _chunks(lines, chunk_items):
            starts.append((total, chunk))
            total += len(chunk)
        await asyncio.gather(*(put(start, chunk) for start, chunk in starts))
        await _request(
            session, target, "POST", f"{base}/complete", params={"uid": uid, "total": str(total)}
        )
    return total


async def send_best_effort(
    task: Mapping[str, Any], results_dir: Path, *, phase: str, env: Mapping[str, str]
) -> None:
    """`send_results` when a console is configured; failures are logged, never raised."""
    target = ConsoleTarget.from_env(env)
    if target is None:
        return
    try:
        count = await send_results(target, task, results_dir, phase=phase)
    except (ConsoleError, OSError, ValueError) as exc:
        log.warning("results not sent to the console at %s: %s", target.url, exc)
        return
    log.info("sent %d item(s) to the console at %s", count, target.url)


async def fetch_annotations(target: ConsoleTarget, task: Mapping[str, Any]) -> dict[str, Any]:
    """The console's annotations of the task (``GET /api/v1/tasks/{ns}/{name}/annotations``)."""
    namespace, name, uid = _task_path(task)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        found = await _request(
            session,
            target,
            "GET",
            f"/api/v1/tasks/{namespace}/{name}/annotations",
            params={"uid": uid},
        )
    if not isinstance(found, dict):
        raise ConsoleError("the console answered no annotations document")
    return found
