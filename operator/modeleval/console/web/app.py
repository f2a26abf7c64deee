"""The console's FastAPI application.

``create_app(services, routers=...)`` mounts the pages, the JSON API and ingest, plus any
extra routers (a later vendor API, e.g. Qianfan ``/v2/eval``, is one more ``APIRouter`` that
uses ``modeleval.console.web.deps`` for identity and permissions). Errors raised as
``deps.ConsoleError`` become an HTML page for browsers and ``{"error", "message"}`` JSON for
``/api/`` paths and JSON clients; a 401 on a page shows the login form.

Every response carries ``Server-Timing: app;dur=<ms>`` and a strict Content-Security-Policy
(no scripts at all, styles only from ``/static``), ``X-Content-Type-Options: nosniff``,
``Referrer-Policy: no-referrer`` and ``frame-ancestors 'none'``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from modeleval import __version__
from modeleval.console.web import api, ingest, pages
from modeleval.console.web.deps import ConsoleError, identify
from modeleval.console.web.render import page
from modeleval.console.web.services import Services

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(request: Request, status: int, title: str, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"error": title, "message": message}, status_code=status)
    if status == 401:
        return pages.login_page(request, status=401, message=message)
    try:
        identity = identify(request)
    except ConsoleError:
        identity = None
    return page(
        request,
        "error.html.j2",
        identity=identity,
        status=status,
        title=title,
        message=message,
        back="/tasks",
    )


def create_app(services: Services, *, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """The application over ``services``; ``routers`` are mounted after the console's own."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        services.mirror.start()
        try:
            yield
        finally:
            services.mirror.stop()

    app = FastAPI(
        title="modeleval console",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # the Swagger page loads scripts from a CDN: the CSP forbids it
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.services = services

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        # Time in the application (before a streamed body is sent), for clients and benchmarks.
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        if request.url.path.startswith(("/tasks", "/api/", "/compare", "/leaderboard")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(ConsoleError)
    async def console_error(request: Request, exc: ConsoleError) -> Response:
        return error_response(request, exc.status, exc.title, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed"}
        title = titles.get(exc.status_code, "Error")
        return error_response(request, exc.status_code, title, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        where = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg')}"
            for err in exc.errors()[:5]
        )
        return error_response(request, 422, "Invalid request", where)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> PlainTextResponse:
        from sqlalchemy import text

        with services.store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return PlainTextResponse("ok")

    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(ingest.router)
    for router in routers:
        app.include_router(router)
    app.mount("/static", StaticFiles(packages=[("modeleval.console", "static")]), name="static")
    return app
