"""ZStack's model-evaluation REST calls under ``/zstack/v1`` (docs/vendor-zstack.md).

Authentication: ``Authorization: OAuth <Kubernetes token>`` (ZStack's session header, with a
token where the session uuid was) or ``Bearer <token>``. Success bodies are ZStack's
(``{inventory, tasks}``; ``{inventories[, total]}``), failures its ``error`` envelope
(`errors`); a failure never shows a traceback and never changes anything.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from modeleval.console.vendors.bodies import read_json_object
from modeleval.console.vendors.callers import Caller
from modeleval.console.vendors.context import VendorContext
from modeleval.console.vendors.errors import INTERNAL, UNAUTHENTICATED, VendorError
from modeleval.console.vendors.zstack import actions
from modeleval.console.vendors.zstack.errors import error_response
from modeleval.console.vendors.zstack.inventories import group_inventory, task_inventory
from modeleval.console.vendors.zstack.query import Condition, parse_query, run_query

PREFIX = "/zstack/v1"
GROUP_FIELDS = frozenset(group_inventory({}))
TASK_FIELDS = frozenset(task_inventory({}, {}))
log = logging.getLogger("modeleval.console.vendors.zstack")
Inventories = Callable[[VendorContext, Caller], list[dict[str, Any]]]


def authenticate(ctx: VendorContext, request: Request) -> Caller:
    authorization = request.headers.get("authorization", "").strip()
    scheme, _, token = authorization.partition(" ")
    if not authorization:
        raise VendorError(
            UNAUTHENTICATED, "missing header 'Authorization': send OAuth <Kubernetes token>"
        )
    if scheme.lower() not in ("oauth", "bearer"):
        raise VendorError(UNAUTHENTICATED, "Authorization type must be 'OAuth' (or 'Bearer')")
    return ctx.callers.from_token(token.strip())


def _query(
    ctx: VendorContext,
    request: Request,
    uuid: str | None,
    known: frozenset[str],
    inventories: Inventories,
) -> dict[str, Any]:
    caller = authenticate(ctx, request)
    query = parse_query(request.query_params.getlist("q"), request.query_params, known)
    if uuid is not None:
        query = replace(query, conditions=(*query.conditions, Condition("uuid", "=", uuid)))
    return run_query(inventories(ctx, caller), query)


async def _answer(call: Callable[[], Any]) -> Response:
    try:
        return JSONResponse(await run_in_threadpool(call))
    except VendorError as exc:
        return error_response(exc)
    except Exception:
        log.exception("ZStack request failed")
        return error_response(VendorError(INTERNAL, "internal error (logged by the console)"))


def query_endpoint(
    ctx: VendorContext, known: frozenset[str], inventories: Inventories
) -> Callable[..., Awaitable[Response]]:
    """A Query… call (``uuid`` from the path when it has one)."""

    async def query(request: Request, uuid: str | None = None) -> Response:
        return await _answer(lambda: _query(ctx, request, uuid, known, inventories))

    return query


def build_router(ctx: VendorContext) -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    @router.put("/ai/model-services/eval/{uuid}")
    async def deploy_model_eval_service(uuid: str, request: Request) -> Response:
        try:
            caller = await run_in_threadpool(authenticate, ctx, request)
            body = await read_json_object(request, ctx.settings.vendor_max_body_bytes)
        except VendorError as exc:
            return error_response(exc)
        return await _answer(lambda: actions.deploy(ctx, caller, uuid, body))

    queries = (
        ("/ai/model-eval-services/instances/groups", GROUP_FIELDS, actions.group_inventories),
        ("/model-evaluation-tasks", TASK_FIELDS, actions.task_inventories),
    )
    for path, known, inventories in queries:
        router.add_api_route(path, query_endpoint(ctx, known, inventories), methods=["GET"])
        router.add_api_route(
            f"{path}/{{uuid}}", query_endpoint(ctx, known, inventories), methods=["GET"]
        )
    return router
