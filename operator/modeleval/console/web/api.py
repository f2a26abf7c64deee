"""The JSON API (``/api/v1``, described at ``/api/openapi.json``): tasks, items, and the
manual-evaluation calls the CLI (offline annotation) and the runner's manual phase use.

Same permissions as the pages. A browser session calling a state-changing endpoint must send
the page's CSRF token in ``X-CSRF-Token``; bearer-token callers need none.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from modeleval.console.annotations import AnnotationError, annotation_document
from modeleval.console.completion import CompletionError, complete_annotation
from modeleval.console.db.models import Task
from modeleval.console.kubeapi import KubeApiError
from modeleval.console.store import ItemFilter, NotFound, TaskFilter
from modeleval.console.web import deps
from modeleval.console.web.deps import (
    ANNOTATE,
    COMPLETE,
    VIEW,
    Conflicting,
    ConsoleError,
    Forbidden,
    Missing,
    require,
    require_identity,
    services,
)
from modeleval.scoring.manual import SCALE_MAX, SCALE_MIN

router = APIRouter(prefix="/api/v1", tags=["console"])


class Unprocessable(ConsoleError):
    status = 422
    title = "Invalid"


def _task(request: Request, namespace: str, name: str, uid: str | None, verb: str) -> Task:
    identity = require_identity(request)
    try:
        task = services(request).store.find_task(namespace, name, uid)
    except NotFound:
        raise Missing(f"no task {namespace}/{name} in the console") from None
    require(request, identity, verb, task)
    return task


def _check_csrf_header(request: Request) -> None:
    identity = require_identity(request)
    deps.check_origin(request)
    if not services(request).auth.csrf_ok(identity, request.headers.get("x-csrf-token")):
        raise Forbidden("a browser session must send its CSRF token in X-CSRF-Token")


def task_document(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "uid": task.uid,
        "namespace": task.namespace,
        "name": task.name,
        "displayName": task.display_name,
        "state": task.state,
        "percentage": task.percentage,
        "totalScore": task.total_score,
        "evalType": task.eval_type,
        "dataset": task.dataset,
        "models": task.models,
        "items": task.items_total,
        "createdAt": _iso(task.created_at),
        "endedAt": _iso(task.ended_at),
        "deletedAt": _iso(task.deleted_at),
        "manual": None
        if not task.manual_dimensions
        else {
            "dimensions": task.manual_dimensions,
            "completedAt": _iso(task.manual_completed_at),
            "completedBy": task.manual_completed_by,
        },
    }


def _iso(value: Any) -> str | None:
    from modeleval.clock import timestamp

    return None if value is None else timestamp(value)


@router.get("/tasks")
def list_tasks(
    request: Request,
    namespace: str = "",
    state: str = "",
    dataset: str = "",
    page: int = 1,
) -> dict[str, Any]:
    """Tasks in the namespaces the caller may list."""
    identity = require_identity(request)
    allowed = deps.allowed_namespaces(request, identity)
    flt = TaskFilter(namespace=namespace, state=state, dataset=dataset, namespaces=allowed)
    result = services(request).store.list_tasks(flt, page=page)
    rows = [
        {k: (_iso(v) if k.endswith("_at") else v) for k, v in dict(row).items()}
        for row in result.rows
    ]
    return {"items": rows, "total": result.total, "page": result.page}


@router.get("/tasks/{namespace}/{name}")
def get_task(request: Request, namespace: str, name: str, uid: str | None = None) -> dict[str, Any]:
    task = _task(request, namespace, name, uid, VIEW)
    return {**task_document(task), "summary": task.summary, "status": task.status}


@router.get("/tasks/{namespace}/{name}/items")
def get_items(
    request: Request,
    namespace: str,
    name: str,
    uid: str | None = None,
    page: int = 1,
    failed: bool = False,
    order: str = "seq",
    q: str = "",
) -> dict[str, Any]:
    task = _task(request, namespace, name, uid, VIEW)
    flt = ItemFilter(q=q, failed=failed, order="worst" if order == "worst" else "seq")
    result = services(request).store.items_page(task.id, flt, page=page)
    return {
        "items": [
            {"seq": i.seq, "id": i.key, "input": i.input, "target": i.target, **i.data}
            for i in result.rows
        ],
        "total": result.total,
        "page": result.page,
    }


@router.get("/tasks/{namespace}/{name}/annotations")
def get_annotations(
    request: Request, namespace: str, name: str, uid: str | None = None
) -> dict[str, Any]:
    """Every annotation of a manual-mode task (the runner's manual phase reads this)."""
    task = _task(request, namespace, name, uid, VIEW)
    annotations = services(request).annotations
    rows = annotations.all(task.id)
    return {
        "task": task_document(task),
        "dimensions": task.manual_dimensions or [],
        "scale": [SCALE_MIN, SCALE_MAX],
        "items": task.items_total,
        "annotations": [annotation_document(a) for a in rows],
    }


@router.get("/tasks/{namespace}/{name}/annotations.csv")
def export_annotations(
    request: Request, namespace: str, name: str, uid: str | None = None
) -> StreamingResponse:
    """The items as CSV for offline annotation: one row per (item, model), a column per
    dimension (filled where a score was saved)."""
    task = _task(request, namespace, name, uid, VIEW)
    if not task.manual_dimensions:
        raise Conflicting(f"{namespace}/{name} is not a manual-mode task")
    body = services(request).annotations.export_csv(task)
    return StreamingResponse(
        (chunk.encode() for chunk in body),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{namespace}-{name}.csv"'},
    )


class ImportScores(BaseModel):
    items: dict[str, dict[str, dict[str, int | str | None]]] = Field(
        description="{item id: {model: {dimension: 1..5}}}"
    )


@router.post("/tasks/{namespace}/{name}/annotations")
async def import_annotations(
    request: Request, namespace: str, name: str, uid: str | None = None
) -> dict[str, Any]:
    """Scores from offline annotation: a CSV (``text/csv``, as exported) or JSON
    (``{"items": {id: {model: {dimension: score}}}}``). Replaces those items' annotations."""
    _check_csrf_header(request)
    task = _task(request, namespace, name, uid, ANNOTATE)
    identity = require_identity(request)
    if task.manual_completed_at is not None:
        raise Conflicting(f"the annotation of {namespace}/{name} is complete; it cannot change")
    annotations = services(request).annotations
    raw = (await request.body()).decode("utf-8-sig")
    try:
        if "csv" in request.headers.get("content-type", ""):
            counts = annotations.import_csv(task, raw, annotator=identity.name)
        else:
            body = ImportScores.model_validate_json(raw)
            counts = annotations.replace_many(task, body.items, annotator=identity.name)
    except AnnotationError as exc:
        raise Unprocessable(str(exc)) from None
    except ValueError as exc:
        raise Unprocessable(f"not a valid import: {exc}") from None
    progress = annotations.progress(task)
    return {**counts, "annotated": progress.annotated, "items": progress.total}


@router.post("/tasks/{namespace}/{name}/complete")
def complete(request: Request, namespace: str, name: str, uid: str | None = None) -> dict[str, Any]:
    """Mark the annotation complete (``patch`` on the EvalTask)."""
    _check_csrf_header(request)
    task = _task(request, namespace, name, uid, COMPLETE)
    identity = require_identity(request)
    try:
        complete_annotation(services(request).store, services(request).kube, task, by=identity.name)
    except CompletionError as exc:
        raise Conflicting(str(exc)) from None
    except KubeApiError as exc:
        raise Conflicting(f"the Kubernetes API refused the change: {exc}") from None
    progress = services(request).annotations.progress(task)
    return {"completed": True, "annotated": progress.annotated, "items": progress.total}
