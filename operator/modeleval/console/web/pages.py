"""The browser pages: login, task list, task, items, downloads, annotation, completion,
comparison and leaderboards. Every page checks the caller's permission on the EvalTask(s)
it shows before reading anything else; every POST checks the CSRF token first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from modeleval.api import TaskState
from modeleval.console.annotations import AnnotationError, Conflict, Saved
from modeleval.console.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, Identity
from modeleval.console.benchmark_scores import benchmark_tables, models_of
from modeleval.console.completion import CompletionError, complete_annotation
from modeleval.console.db.models import Task
from modeleval.console.kubeapi import KubeApiError, ResourceCheck
from modeleval.console.records import max_judge_score
from modeleval.console.store import TASK_SORTS, ItemFilter, NotFound, Page, TaskFilter
from modeleval.console.web import deps
from modeleval.console.web.deps import (
    ANNOTATE,
    COMPLETE,
    VIEW,
    Conflicting,
    Forbidden,
    Missing,
    can,
    check_form,
    require,
    require_identity,
    services,
    task_for,
)
from modeleval.console.web.render import page, task_charts

router = APIRouter(include_in_schema=False)
STATES = [s.value for s in TaskState]


# -- login ---------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect a fresh login to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/tasks"
    return target


def login_page(request: Request, *, status: int = 200, message: str = "") -> HTMLResponse:
    import secrets

    token = secrets.token_urlsafe(24)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    next_path = request.query_params.get("next") or (target if status == 401 else "/tasks")
    response = page(
        request,
        "login.html.j2",
        status=status,
        login_csrf=token,
        next=_safe_next(next_path),
        message=message,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=services(request).settings.secure_cookies,
        path="/login",
    )
    return response


@router.get("/login")
def get_login(request: Request) -> HTMLResponse:
    return login_page(request)


@router.post("/login")
async def post_login(request: Request) -> Response:
    deps.check_origin(request)
    form = await request.form()
    values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected or values.get("csrf") != expected:
        raise Forbidden("the login form expired: reload the page and try again")
    token = (values.get("token") or "").strip()
    try:
        result = services(request).auth.login(token) if token else None
    except KubeApiError as exc:
        raise deps.Unavailable(f"cannot check the token with the Kubernetes API: {exc}") from None
    if result is None:
        return login_page(
            request, status=401, message="The cluster did not accept this token (TokenReview)."
        )
    cookie, _identity = result
    response = RedirectResponse(_safe_next(values.get("next")), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=services(request).settings.secure_cookies,
        max_age=int(services(request).settings.session_hours * 3600),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def post_logout(request: Request) -> Response:
    identity = require_identity(request)
    await check_form(request, identity)
    services(request).auth.logout(identity)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
def root() -> Response:
    return RedirectResponse("/tasks", status_code=303)


# -- task list -----------------------------------------------------------------------------


def _int(value: str | None, default: int = 1) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _query(params: Mapping[str, Any]) -> str:
    return urlencode([(k, v) for k, v in params.items() if v not in (None, "", False)])


@router.get("/tasks")
def tasks_page(request: Request) -> HTMLResponse:
    identity = require_identity(request)
    q = request.query_params
    namespaces = deps.allowed_namespaces(request, identity)
    flt = TaskFilter(
        q=q.get("q", ""),
        namespace=q.get("namespace", ""),
        state=q.get("state", ""),
        dataset=q.get("dataset", ""),
        model=q.get("model", ""),
        eval_type=q.get("eval_type", ""),
        presence=q.get("presence", ""),
        namespaces=namespaces,
    )
    sort = q.get("sort", "created") if q.get("sort") in TASK_SORTS else "created"
    descending = q.get("order", "desc") != "asc"
    store = services(request).store
    result = store.list_tasks(flt, sort=sort, descending=descending, page=_int(q.get("page")))
    params = {k: v for k, v in q.items() if k != "page"}
    return page(
        request,
        "tasks.html.j2",
        identity=identity,
        page=result,
        f=flt,
        sort=sort,
        descending=descending,
        sorts=list(TASK_SORTS),
        states=STATES,
        namespaces=sorted(namespaces),
        datasets=store.datasets(namespaces),
        query=_query(params),
    )


# -- one task ------------------------------------------------------------------------------


def _manual_context(request: Request, task: Task) -> dict[str, Any] | None:
    if not task.manual_dimensions:
        return None
    annotations = services(request).annotations
    means, _counts = annotations.means(task)
    return {
        "dimensions": task.manual_dimensions,
        "progress": annotations.progress(task),
        "means": means,
    }


@router.get("/tasks/{task_id}")
def task_page(request: Request, task_id: int) -> HTMLResponse:
    identity, task = task_for(request, task_id)
    summary = task.summary or {}
    status_scores = (task.status or {}).get("scores") or {}
    per_model_items = list((summary.get("perModel") or {}).items())
    if not per_model_items and status_scores.get("perModel"):
        per_model_items = [
            (row.get("model"), {"totalScore": row.get("totalScore"), "metrics": row.get("metrics")})
            for row in status_scores["perModel"]
        ]
    task_metrics = summary.get("metrics") or status_scores.get("metrics") or {}
    metrics = list(
        dict.fromkeys(
            [*task_metrics, *(k for _, d in per_model_items for k in (d.get("metrics") or {}))]
        )
    )
    groups = benchmark_tables(summary, status_scores)
    return page(
        request,
        "task.html.j2",
        identity=identity,
        task=task,
        groups=groups,
        group_models=models_of(groups),
        metrics=metrics,
        per_model=per_model_items,
        task_metrics=task_metrics,
        definition=summary.get("definition") or status_scores.get("definition"),
        charts=task_charts(summary, task.charts),
        manual=_manual_context(request, task),
    )


def _item_filter(request: Request, task: Task) -> ItemFilter:
    q = request.query_params
    model = q.get("model") or (task.models[0] if task.models else "")
    return ItemFilter(
        q=q.get("q", ""),
        model=model,
        metric=q.get("metric", ""),
        low=_float(q.get("low")),
        high=_float(q.get("high")),
        failed=q.get("failed") in ("1", "true", "on"),
        order="worst" if q.get("order") == "worst" else "seq",
    )


def _metric_names(task: Task) -> list[str]:
    histograms = (task.charts or {}).get("histograms") or {}
    names = list(histograms) or list((task.summary or {}).get("metrics") or {})
    return [n for n in names if not n.startswith("manual.") and n != "gsb"]


@router.get("/tasks/{task_id}/items")
def items_page(request: Request, task_id: int) -> HTMLResponse:
    identity, task = task_for(request, task_id)
    flt = _item_filter(request, task)
    result = services(request).store.items_page(
        task.id, flt, page=_int(request.query_params.get("page"))
    )
    params = {k: v for k, v in request.query_params.items() if k != "page"}
    manual_open = bool(task.manual_dimensions) and task.state == TaskState.RUNNING_WITH_MANUAL_BEGIN
    return page(
        request,
        "items.html.j2",
        identity=identity,
        task=task,
        page=result,
        f=flt,
        metric_names=_metric_names(task),
        max_score=max_judge_score(task.spec or {}),
        manual_open=manual_open and not task.manual_completed_at,
        query=_query(params),
    )


def _item_document(task: Task, item: Any) -> dict[str, Any]:
    return {
        "task": f"{task.namespace}/{task.name}",
        "seq": item.seq,
        "id": item.key,
        "input": item.input,
        "target": item.target,
        "score": item.score,
        "failed": item.failed,
        **item.data,
    }


@router.get("/tasks/{task_id}/download.jsonl")
def download_jsonl(request: Request, task_id: int) -> StreamingResponse:
    _identity, task = task_for(request, task_id)
    flt = _item_filter(request, task)
    store = services(request).store

    def lines() -> Iterator[str]:
        for item in store.iter_items(task.id, flt):
            yield json.dumps(_item_document(task, item), ensure_ascii=False) + "\n"

    return _download(lines(), f"{task.namespace}-{task.name}-items.jsonl", "application/x-ndjson")


@router.get("/tasks/{task_id}/download.csv")
def download_csv(request: Request, task_id: int) -> StreamingResponse:
    import csv
    import io

    _identity, task = task_for(request, task_id)
    flt = _item_filter(request, task)
    store = services(request).store
    metric_names = _metric_names(task)

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        header = [
            "seq",
            "id",
            "input",
            "target",
            "model",
            "answer",
            "error",
            "score",
            *metric_names,
        ]
        writer.writerow([*header, "judgeScore", "judgeReason"])
        for item in store.iter_items(task.id, flt):
            for model, result in (item.data.get("models") or {}).items():
                metrics = result.get("metrics") or {}
                judge = result.get("judge") or {}
                writer.writerow(
                    [
                        item.seq,
                        item.key,
                        item.input,
                        item.target,
                        model,
                        result.get("answer") or "",
                        result.get("error") or "",
                        "" if item.score is None else item.score,
                        *[metrics.get(m, "") for m in metric_names],
                        "" if judge.get("score") is None else judge["score"],
                        judge.get("reason") or "",
                    ]
                )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    return _download(rows(), f"{task.namespace}-{task.name}-items.csv", "text/csv; charset=utf-8")


def _download(body: Iterator[str], filename: str, media_type: str) -> StreamingResponse:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in filename)
    return StreamingResponse(
        (chunk.encode("utf-8") for chunk in body),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


# -- manual evaluation ---------------------------------------------------------------------


def _annotatable(request: Request, task_id: int) -> tuple[Identity, Task]:
    identity, task = task_for(request, task_id, ANNOTATE)
    if not task.manual_dimensions:
        raise Conflicting(f"{task.namespace}/{task.name} is not a manual-mode task")
    if task.manual_completed_at is not None:
        raise Conflicting(
            f"the annotation of {task.namespace}/{task.name} was completed by "
            f"{task.manual_completed_by}; it can no longer change"
        )
    if task.state != TaskState.RUNNING_WITH_MANUAL_BEGIN.value:
        raise Conflicting(
            f"{task.namespace}/{task.name} is {task.state or 'not started'}: annotation opens in "
            "RunningWithManualBegin"
        )
    if task.items_total == 0:
        raise Conflicting(
            f"the answers of {task.namespace}/{task.name} have not reached the console yet"
        )
    return identity, task


@router.get("/tasks/{task_id}/annotate")
def annotate_next(request: Request, task_id: int) -> Response:
    identity, task = _annotatable(request, task_id)
    after = _int(request.query_params.get("after"), -1)
    annotations = services(request).annotations
    seq = annotations.next_unannotated(task.id, after)
    if seq is None:
        return page(
            request,
            "annotate_done.html.j2",
            identity=identity,
            task=task,
            progress=annotations.progress(task),
            can_complete=can(request, identity, _check(task, COMPLETE)),
        )
    return RedirectResponse(f"/tasks/{task.id}/annotate/{seq}", status_code=303)


def _check(task: Task, verb: str) -> ResourceCheck:
    return ResourceCheck(verb, task.namespace, task.name)


def _annotate_page(
    request: Request,
    identity: Identity,
    task: Task,
    seq: int,
    *,
    status: int = 200,
    chosen: Mapping[str, Mapping[str, Any]] | None = None,
    comment: str | None = None,
    conflict: Any = None,
    error: str | None = None,
    version: int | None = None,
) -> HTMLResponse:
    store = services(request).store
    annotations = services(request).annotations
    try:
        item = store.get_item(task.id, seq)
    except NotFound:
        raise Missing(f"no item #{seq} in {task.namespace}/{task.name}") from None
    saved = annotations.get(task.id, item.key)
    results = item.data.get("models") or {}
    models = [(i, m, results.get(m) or {}) for i, m in enumerate(task.models or [])]
    current_version = saved.version if saved is not None else 0
    return page(
        request,
        "annotate.html.j2",
        status=status,
        identity=identity,
        task=task,
        item=item,
        models=models,
        dimensions=task.manual_dimensions or [],
        annotation=saved,
        chosen=chosen if chosen is not None else (saved.scores if saved else {}),
        comment=comment if comment is not None else (saved.comment if saved else ""),
        version=current_version if version is None else version,
        conflict=conflict,
        error=error,
        saved=request.query_params.get("saved") == "1",
        progress=annotations.progress(task),
        prev_seq=seq - 1 if seq > 0 else None,
        next_seq=seq + 1 if seq + 1 < task.items_total else None,
        max_score=max_judge_score(task.spec or {}),
        can_complete=can(request, identity, _check(task, COMPLETE)),
    )


@router.get("/tasks/{task_id}/annotate/{seq}")
def annotate_item(request: Request, task_id: int, seq: int) -> HTMLResponse:
    identity, task = _annotatable(request, task_id)
    return _annotate_page(request, identity, task, seq)


def _scores_from_form(task: Task, values: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The form's ``s-<model index>-<dimension index>`` radios; a model without an answer has
    none (nothing to score)."""
    dims = [str(d["dimension"]) for d in task.manual_dimensions or []]
    scores: dict[str, dict[str, str]] = {}
    for index, model in enumerate(task.models or []):
        for d_index, dim in enumerate(dims):
            value = values.get(f"s-{index}-{d_index}")
            if value:
                scores.setdefault(model, {})[dim] = value
    return scores


def _answered(result: Mapping[str, Any]) -> bool:
    return not result.get("error") and result.get("answer") is not None


@router.post("/tasks/{task_id}/annotate/{seq}")
async def save_annotation(request: Request, task_id: int, seq: int) -> Response:
    identity, task = _annotatable(request, task_id)
    values = await check_form(request, identity)
    store = services(request).store
    try:
        item = store.get_item(task.id, seq)
    except NotFound:
        raise Missing(f"no item #{seq} in {task.namespace}/{task.name}") from None
    scores = _scores_from_form(task, values)
    comment = (values.get("comment") or "").strip()[:4000]
    results = item.data.get("models") or {}
    answered = [m for m in task.models or [] if _answered(results.get(m) or {})]
    try:
        outcome = services(request).annotations.save(
            task,
            item.key,
            scores,
            annotator=identity.name,
            base_version=_int(values.get("version"), 0),
            comment=comment,
            complete=True,
            allow_empty=not answered,  # no model answered: the item is looked at, not scored
        )
    except AnnotationError as exc:
        return _annotate_page(
            request, identity, task, seq, status=422, chosen=scores, comment=comment, error=str(exc)
        )
    if isinstance(outcome, Conflict):
        return _annotate_page(
            request,
            identity,
            task,
            seq,
            status=409,
            chosen=scores,
            comment=comment,
            conflict=outcome.current,
            version=outcome.current.version,
        )
    assert isinstance(outcome, Saved)
    if values.get("action") == "stay":
        return RedirectResponse(f"/tasks/{task.id}/annotate/{seq}?saved=1", status_code=303)
    return RedirectResponse(f"/tasks/{task.id}/annotate?after={seq}", status_code=303)


@router.get("/tasks/{task_id}/complete")
def complete_page(request: Request, task_id: int) -> HTMLResponse:
    identity, task = task_for(request, task_id, COMPLETE)
    if not task.manual_dimensions:
        raise Conflicting(f"{task.namespace}/{task.name} is not a manual-mode task")
    return page(
        request,
        "complete.html.j2",
        identity=identity,
        task=task,
        progress=services(request).annotations.progress(task),
    )


@router.post("/tasks/{task_id}/complete")
async def complete_post(request: Request, task_id: int) -> Response:
    identity, task = task_for(request, task_id, COMPLETE)
    values = await check_form(request, identity)
    progress = services(request).annotations.progress(task)
    error = None
    if progress.annotated == 0:
        error = "nothing is annotated yet"
    elif not progress.done and values.get("partial") != "1":
        error = "some items have no annotation: confirm that they are left out"
    if error is None:
        try:
            complete_annotation(
                services(request).store, services(request).kube, task, by=identity.name
            )
        except CompletionError as exc:
            error = str(exc)
        except KubeApiError as exc:
            error = f"the Kubernetes API refused the change: {exc}"
    if error is not None:
        return page(
            request,
            "complete.html.j2",
            status=409,
            identity=identity,
            task=task,
            progress=progress,
            error=error,
        )
    return RedirectResponse(f"/tasks/{task.id}", status_code=303)


# -- comparison and leaderboards -----------------------------------------------------------


def _runs(request: Request, identity: Identity) -> list[tuple[Task, str]]:
    """The runs named by ``run=ID:model`` and ``task=ID`` (every model of the task)."""
    runs: list[tuple[Task, str]] = []
    params = request.query_params
    for value in params.getlist("run"):
        raw_id, _, model = value.partition(":")
        task = deps.load_task(request, _int(raw_id, 0))
        require(request, identity, VIEW, task)
        if model in (task.models or []):
            runs.append((task, model))
    for raw_id in params.getlist("task"):
        task = deps.load_task(request, _int(raw_id, 0))
        require(request, identity, VIEW, task)
        runs.extend((task, model) for model in task.models or [])
    return _unique(runs)


def _unique(runs: list[tuple[Task, str]]) -> list[tuple[Task, str]]:
    seen: set[tuple[int, str]] = set()
    result = []
    for task, model in runs:
        if (task.id, model) not in seen:
            seen.add((task.id, model))
            result.append((task, model))
    return result


def _model_scores(task: Task, model: str) -> tuple[float | None, dict[str, float]]:
    per_model = ((task.summary or {}).get("perModel") or {}).get(model)
    if per_model is None:
        for row in ((task.status or {}).get("scores") or {}).get("perModel") or []:
            if row.get("model") == model:
                per_model = row
    if per_model is None:
        return (task.total_score if len(task.models or []) == 1 else None), {}
    return per_model.get("totalScore"), dict(per_model.get("metrics") or {})


@router.get("/compare")
def compare_page(request: Request) -> HTMLResponse:
    identity = require_identity(request)
    store = services(request).store
    namespaces = deps.allowed_namespaces(request, identity)
    runs = _runs(request, identity)
    dataset = request.query_params.get("dataset") or (runs[0][0].dataset if runs else "") or ""
    if len(runs) < 2:
        candidates = []
        chosen = {(t.id, m) for t, m in runs}
        if dataset:
            for task in store.tasks_on_dataset(dataset, namespaces):
                for model in task.models or []:
                    total, _ = _model_scores(task, model)
                    candidates.append(
                        {
                            "id": task.id,
                            "model": model,
                            "label": f"{task.namespace}/{task.name} · {model}",
                            "dataset": task.dataset,
                            "score": total,
                            "ended": task.ended_at,
                            "checked": (task.id, model) in chosen,
                        }
                    )
        return page(
            request,
            "compare.html.j2",
            identity=identity,
            runs=runs,
            candidates=candidates,
            dataset=dataset,
            datasets=store.datasets(namespaces),
        )
    rows = []
    base_total, base_metrics = _model_scores(*runs[0])
    metric_names: list[str] = []
    for index, (task, model) in enumerate(runs):
        total, metrics = _model_scores(task, model)
        metric_names.extend(m for m in metrics if m not in metric_names)
        rows.append(
            {
                "key": f"{task.id}:{model}",
                "task_id": task.id,
                "label": f"{task.namespace}/{task.name} · {model}",
                "total": total,
                "metrics": metrics,
                "is_baseline": index == 0,
                "total_delta": None if total is None or base_total is None else total - base_total,
                "deltas": {
                    m: v - base_metrics[m]
                    for m, v in metrics.items()
                    if base_metrics.get(m) is not None and v is not None
                },
            }
        )
    against = min(max(_int(request.query_params.get("against"), 1), 1), len(runs) - 1)
    first, second = runs[0], runs[against]
    diffs: Page = store.item_differences(
        (first[0].id, first[1]),
        (second[0].id, second[1]),
        page=_int(request.query_params.get("page")),
    )
    datasets_seen = sorted({t.dataset or "?" for t, _ in runs})
    params = [("run", r["key"]) for r in rows] + [("against", str(against))]
    return page(
        request,
        "compare.html.j2",
        identity=identity,
        runs=rows,
        metrics=metric_names,
        against=against,
        diffs=diffs,
        mixed_datasets=datasets_seen if len(datasets_seen) > 1 else [],
        max_score=max_judge_score(first[0].spec or {}),
        query=urlencode(params),
    )


@router.get("/leaderboard")
def leaderboard_page(request: Request) -> HTMLResponse:
    identity = require_identity(request)
    store = services(request).store
    namespaces = deps.allowed_namespaces(request, identity)
    dataset = request.query_params.get("dataset", "")
    show_all = request.query_params.get("all") == "1"
    rows: list[dict[str, Any]] = []
    metric_names: list[str] = []
    if dataset:
        for task in store.tasks_on_dataset(dataset, namespaces):
            for model in task.models or []:
                total, metrics = _model_scores(task, model)
                if total is None:
                    continue
                metric_names.extend(m for m in metrics if m not in metric_names)
                rows.append(
                    {
                        "model": model,
                        "total": total,
                        "metrics": metrics,
                        "task_id": task.id,
                        "task": f"{task.namespace}/{task.name}",
                        "ended": task.ended_at,
                        "deleted": task.deleted_at is not None,
                    }
                )
        rows.sort(key=lambda r: -float(r["total"]))
        if not show_all:
            best: dict[str, dict[str, Any]] = {}
            for row in rows:
                best.setdefault(row["model"], row)
            rows = list(best.values())
    return page(
        request,
        "leaderboard.html.j2",
        identity=identity,
        dataset=dataset,
        datasets=store.datasets(namespaces),
        rows=rows,
        metrics=metric_names,
        show_all=show_all,
    )
