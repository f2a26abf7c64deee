"""Ingest: runners send their task's summary and items here (``modeleval.runner.console``).

Three calls per phase, each safe to repeat (a retried pod sends everything again):

1. ``PUT /api/v1/ingest/{namespace}/{name}`` — the task (``metadata`` with ``uid``, ``spec``),
   the phase and, when there is one, ``summary.json``;
2. ``PUT …/items?uid=U&start=S`` — an NDJSON chunk of item records (``scores.jsonl`` lines),
   records ``S, S+1, …`` in the order the runner sends them (by item id), upserted by item id;
3. ``POST …/complete?uid=U&total=N`` — drops items past ``N`` and computes the charts.

The caller must present a bearer token (the runner's projected ServiceAccount token for the
console's audience) whose user may ``patch evaltasks/status`` on that task — exactly what the
runner's per-task Role grants, and nobody else but the operator holds.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from modeleval.console.auth import Identity
from modeleval.console.db.models import Task
from modeleval.console.kubeapi import KubeApiError, ResourceCheck
from modeleval.console.store import NotFound
from modeleval.console.web.deps import (
    Conflicting,
    ConsoleError,
    Forbidden,
    Missing,
    Unavailable,
    can,
    require_identity,
    services,
)
from modeleval.constants import EVAL_TASK_PLURAL

router = APIRouter(prefix="/api/v1/ingest", tags=["ingest"])
MAX_CHUNK = 20_000


class TaskDocument(BaseModel):
    """The EvalTask as the runner knows it (task.json without the plan)."""

    metadata: dict[str, Any]
    spec: dict[str, Any] = Field(default_factory=dict)


class IngestTask(BaseModel):
    task: TaskDocument
    phase: str = Field(description="infer, score or manual: which phase sends.")
    summary: dict[str, Any] | None = Field(default=None, description="summary.json, if any.")


class IngestAnswer(BaseModel):
    task_id: int
    items: int = 0
    failed: int = 0


class BadRequest(ConsoleError):
    status = 400
    title = "Bad request"


def _authorize(request: Request, namespace: str, name: str) -> Identity:
    identity = require_identity(request)
    if identity.via != "token":
        raise Forbidden("ingest takes a bearer token (the runner's), not a browser session")
    check = ResourceCheck("patch", namespace, name, EVAL_TASK_PLURAL, "status")
    if not can(request, identity, check):
        raise Forbidden(
            f"{identity.name} may not send results for evaltask {namespace}/{name}: that needs "
            "patch on evaltasks/status (the task's runner ServiceAccount has it)"
        )
    return identity


def _task(request: Request, namespace: str, name: str, uid: str) -> Task:
    try:
        return services(request).store.find_task(namespace, name, uid)
    except NotFound:
        raise Missing(f"no task {namespace}/{name} with uid {uid}: send the task first") from None


@router.put("/{namespace}/{name}", response_model=IngestAnswer)
def put_task(request: Request, namespace: str, name: str, body: IngestTask) -> IngestAnswer:
    """Create or update the task's row (and its summary)."""
    _authorize(request, namespace, name)
    meta = body.task.metadata
    if meta.get("namespace", namespace) != namespace or meta.get("name", name) != name:
        raise BadRequest("metadata.namespace/name differ from the URL")
    if not meta.get("uid"):
        raise BadRequest("metadata.uid is required")
    kube = services(request).kube
    try:
        live = kube.get_task(namespace, name)
    except KubeApiError as exc:
        raise Unavailable(f"cannot read the EvalTask: {exc}") from None
    obj: dict[str, Any] = {
        "metadata": {**meta, "namespace": namespace, "name": name},
        "spec": body.task.spec,
    }
    if live is not None:
        if (live.get("metadata") or {}).get("uid") != meta["uid"]:
            raise Conflicting(
                f"evaltask {namespace}/{name} now has another uid: these results belong to a "
                "task that was deleted"
            )
        obj = live
    task_id = services(request).store.upsert_task(obj, summary=body.summary, phase=body.phase)
    return IngestAnswer(task_id=task_id)


@router.put("/{namespace}/{name}/items", response_model=IngestAnswer)
async def put_items(
    request: Request, namespace: str, name: str, uid: str, start: int = 0
) -> IngestAnswer:
    """Upsert an NDJSON chunk of item records starting at dataset position ``start``."""
    _authorize(request, namespace, name)
    task = _task(request, namespace, name, uid)
    if start < 0:
        raise BadRequest("start must be >= 0")
    raw = await request.body()
    store = services(request).store

    def parse_and_store() -> int:  # off the event loop: parsing 5,000 records takes a while
        records = parse_records(raw)
        return store.ingest_items(task.id, start, records)

    from starlette.concurrency import run_in_threadpool

    count = await run_in_threadpool(parse_and_store)
    return IngestAnswer(task_id=task.id, items=count)


def parse_records(raw: bytes) -> list[dict[str, Any]]:
    """NDJSON item records; each needs an ``id``."""
    records = []
    for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise BadRequest(f"line {number}: not JSON") from None
        if not isinstance(record, dict) or "id" not in record:
            raise BadRequest(f"line {number}: an item record needs an id")
        records.append(record)
        if len(records) > MAX_CHUNK:
            raise BadRequest(f"at most {MAX_CHUNK} items per chunk")
    return records


@router.post("/{namespace}/{name}/complete", response_model=IngestAnswer)
def complete(request: Request, namespace: str, name: str, uid: str, total: int) -> IngestAnswer:
    """Every chunk is in: the task has ``total`` items."""
    _authorize(request, namespace, name)
    task = _task(request, namespace, name, uid)
    counts = services(request).store.complete_ingest(task.id, max(0, total))
    return IngestAnswer(task_id=task.id, items=counts["items"], failed=counts["failed"])
