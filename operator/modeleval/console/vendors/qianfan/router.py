"""``POST /v2/eval?Action=<Name>``: Baidu Qianfan's evaluation console API (docs/vendor-qianfan.md).

The ``qianfan`` SDKs reach it unchanged with ``QIANFAN_CONSOLE_API_BASE_URL`` pointed at the
console. Authentication: ``Authorization: Bearer <Kubernetes token>`` or a ``bce-auth-v1``
signature by an access key (`modeleval.console.vendors.access_keys`). Answers
``{"requestId", "result"}`` (200) or Qianfan's error envelope (`errors`); a failure never
shows a traceback and never changes anything.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from modeleval.console.vendors.bodies import read_json_object
from modeleval.console.vendors.callers import Caller
from modeleval.console.vendors.context import VendorContext
from modeleval.console.vendors.errors import INTERNAL, INVALID, UNAUTHENTICATED, VendorError
from modeleval.console.vendors.qianfan.actions import ACTIONS
from modeleval.console.vendors.qianfan.errors import error_response

ROUTE = "/v2/eval"
log = logging.getLogger("modeleval.console.vendors.qianfan")


def authenticate(ctx: VendorContext, request: Request) -> Caller:
    authorization = request.headers.get("authorization", "").strip()
    if authorization.lower().startswith("bearer "):
        return ctx.callers.from_token(authorization[7:].strip())
    if authorization.startswith("bce-auth-v1/"):
        return ctx.callers.from_signature(
            authorization,
            method=request.method,
            path=request.url.path,
            query=list(request.query_params.multi_items()),
            headers=request.headers,
        )
    if not authorization:
        raise VendorError(
            UNAUTHENTICATED,
            "Access denied: the request is not signed (Authorization: bce-auth-v1/… with an "
            "access key, or Bearer <Kubernetes token>)",
        )
    raise VendorError(
        UNAUTHENTICATED,
        "The HTTP authorization header is invalid: use bce-auth-v1/… or Bearer <token>",
        code="InvalidHTTPAuthHeader",
        status=400,
    )


def build_router(ctx: VendorContext) -> APIRouter:
    router = APIRouter()

    @router.post(ROUTE, include_in_schema=False)
    async def eval_action(request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            action = ACTIONS.get(request.query_params.get("Action", ""))
            if action is None:
                raise VendorError(
                    INVALID,
                    f"unknown Action {request.query_params.get('Action', '')!r}: this service "
                    f"supports {', '.join(ACTIONS)}",
                    field="Action",
                    code="InvalidURI",
                )
            caller = await run_in_threadpool(authenticate, ctx, request)
            body = await read_json_object(request, ctx.settings.vendor_max_body_bytes, empty={})
            result = await run_in_threadpool(action, ctx, caller, body)
        except VendorError as exc:
            return error_response(request_id, exc)
        except Exception:
            log.exception("Qianfan request %s failed", request_id)
            return error_response(
                request_id,
                VendorError(INTERNAL, f"We encountered an internal error (request {request_id})."),
            )
        return JSONResponse({"requestId": request_id, "result": result})

    return router
