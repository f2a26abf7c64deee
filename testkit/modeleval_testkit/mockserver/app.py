"""The aiohttp application: OpenAI-compatible routes, health routes and /mock/* introspection."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from modeleval_testkit.mockserver.answers import AnswerBook, count_tokens, fit_tokens, tokenize
from modeleval_testkit.mockserver.config import FaultKind, MockSettings
from modeleval_testkit.mockserver.stats import FaultPlan, MockStats

STATS_KEY = web.AppKey("stats", MockStats)


class _Handlers:
    def __init__(self, settings: MockSettings, stats: MockStats) -> None:
        self.settings = settings
        self.stats = stats
        self.book = AnswerBook(
            answers=settings.answers, rules=settings.rules, default_mode=settings.default_mode
        )
        self.faults = FaultPlan(settings.faults)
        self.slots = asyncio.Semaphore(settings.capacity) if settings.capacity > 0 else None
        self.started = time.monotonic()

    # -- health -----------------------------------------------------------
    async def live(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def ready(self, request: web.Request) -> web.Response:
        if time.monotonic() - self.started < self.settings.ready_delay_s:
            return web.json_response({"status": "loading"}, status=503)
        return web.json_response({"status": "ready"})

    async def models(self, request: web.Request) -> web.Response:
        if time.monotonic() - self.started < self.settings.ready_delay_s:
            return web.json_response({"status": "loading"}, status=503)
        model = {"id": self.settings.model, "object": "model", "owned_by": "modeleval-mock"}
        return web.json_response({"object": "list", "data": [model]})

    async def get_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats.to_json())

    async def reset_stats(self, request: web.Request) -> web.Response:
        self.stats.reset()
        return web.json_response({"reset": True})

    # -- inference --------------------------------------------------------
    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _error(400, "messages must be a non-empty list")
        texts = [str(m.get("content", "")) for m in messages if isinstance(m, dict)]
        users = [str(m.get("content", "")) for m in messages if m.get("role") == "user"]
        last_user = users[-1] if users else None
        return await self._infer(request, body, "\n".join(texts), last_user, chat=True)

    async def completions(self, request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        prompt = body.get("prompt")
        if isinstance(prompt, list):
            prompt = prompt[0] if prompt else ""
        if not isinstance(prompt, str):
            return _error(400, "prompt must be a string")
        return await self._infer(request, body, prompt, None, chat=False)

    async def _infer(
        self, request: web.Request, body: dict[str, Any], prompt: str, user: str | None, chat: bool
    ) -> web.StreamResponse:
        asked = body.get("model")
        if self.settings.pinned and asked is not None and asked != self.settings.model:
            return _error(400, f"Server is pinned to {self.settings.model}; got {asked!r}")
        stats = self.stats
        key = request.headers.get(self.settings.item_header) or (
            user if user is not None else prompt
        )
        stats.requests += 1
        stats.by_item[key] += 1
        stats.by_prompt[prompt] += 1
        fault = self.faults.decide(key, stats.by_item[key])
        stats.enter()
        try:
            if fault is not FaultKind.OK:
                return await self._fault(request, fault)
            async with self._slot():
                answer = self.book.answer(prompt, user)
                tokens = self._shape(answer, body)
                if body.get("stream"):
                    response = await self._stream(request, body, prompt, tokens, chat)
                else:
                    response = await self._whole(body, prompt, tokens, chat)
            stats.by_status["200"] += 1
            stats.completed_by_item[key] += 1
            return response
        finally:
            stats.leave()

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        if self.slots is None:
            self.stats.start_serving()
            try:
                yield
            finally:
                self.stats.stop_serving()
            return
        async with self.slots:
            self.stats.start_serving()
            try:
                yield
            finally:
                self.stats.stop_serving()

    def _shape(self, answer: str, body: dict[str, Any]) -> list[str]:
        tokens = tokenize(answer)
        wanted = self.settings.output_tokens
        if wanted is not None:
            tokens = fit_tokens(tokens, wanted)
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
        if isinstance(max_tokens, int) and max_tokens > 0:
            tokens = tokens[:max_tokens]
        return tokens

    async def _whole(
        self, body: dict[str, Any], prompt: str, tokens: list[str], chat: bool
    ) -> web.Response:
        s = self.settings
        delay = s.latency_s
        if s.ttft_s or s.itl_s:
            delay += s.ttft_s + s.itl_s * max(0, len(tokens) - 1)
        if delay > 0:
            await asyncio.sleep(delay)
        text = "".join(tokens)
        usage = _usage(prompt, len(tokens))
        if chat:
            choice: dict[str, Any] = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        else:
            choice = {"index": 0, "text": text, "finish_reason": "stop"}
        return web.json_response(
            {
                **_envelope(chat, self.settings.model, chunk=False),
                "choices": [choice],
                "usage": usage,
            }
        )

    async def _stream(
        self, request: web.Request, body: dict[str, Any], prompt: str, tokens: list[str], chat: bool
    ) -> web.StreamResponse:
        s = self.settings
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        envelope = _envelope(chat, s.model, chunk=True)
        # Token k is due at start + ttft + k * itl (absolute times: no drift from write costs).
        loop = asyncio.get_running_loop()
        first_due = loop.time() + (s.ttft_s or s.latency_s)
        for index, token in enumerate(tokens):
            delay = first_due + index * s.itl_s - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if chat:
                delta: dict[str, Any] = {"content": token}
                if index == 0:
                    delta["role"] = "assistant"
                choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": None}
            else:
                choice = {"index": 0, "text": token, "finish_reason": None}
            await response.write(_sse({**envelope, "choices": [choice]}))
        last: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
        if chat:
            last["delta"] = {}
        else:
            last["text"] = ""
        await response.write(_sse({**envelope, "choices": [last]}))
        options = body.get("stream_options") or {}
        if isinstance(options, dict) and options.get("include_usage"):
            usage = _usage(prompt, len(tokens))
            await response.write(_sse({**envelope, "choices": [], "usage": usage}))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _fault(self, request: web.Request, fault: FaultKind) -> web.StreamResponse:
        self.stats.by_status[fault.value] += 1
        f = self.settings.faults
        if fault is FaultKind.RATE_LIMIT:
            return _error(
                429, "rate limited (injected)", {"Retry-After": _seconds(f.retry_after_s)}
            )
        if fault in (FaultKind.SERVER_ERROR, FaultKind.UNAVAILABLE):
            return _error(int(fault.value), f"injected fault {fault.value}")
        if fault is FaultKind.HANG:
            await asyncio.sleep(f.hang_s)
        _drop(request)
        raise asyncio.CancelledError  # aiohttp treats this as "client went away": nothing is sent


def _drop(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _usage(prompt: str, completion_tokens: int) -> dict[str, int]:
    prompt_tokens = count_tokens(prompt)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _envelope(chat: bool, model: str, *, chunk: bool) -> dict[str, Any]:
    kind = ("chat.completion.chunk" if chunk else "chat.completion") if chat else "text_completion"
    return {
        "id": f"mock-{uuid.uuid4().hex[:12]}",
        "object": kind,
        "created": int(time.time()),
        "model": model,
    }


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"error": {"message": message, "type": "mock_error", "code": status}}
    return web.json_response(body, status=status, headers=headers)


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except json.JSONDecodeError as exc:
        raise web.HTTPBadRequest(text=f"invalid JSON body: {exc}") from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="JSON body must be an object")
    return body


def build_app(settings: MockSettings, stats: MockStats | None = None) -> web.Application:
    """The mock server's aiohttp application (stats are shared with the caller if given)."""
    stats = stats if stats is not None else MockStats()
    handlers = _Handlers(settings, stats)
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[STATS_KEY] = stats
    # A probe may point at /v1/models (as vLLM deployments often do): one route per path.
    gets = {"/v1/models": handlers.models}
    gets.setdefault(settings.live_path, handlers.live)
    gets.setdefault(settings.ready_path, handlers.ready)
    for path, handler in gets.items():
        app.router.add_get(path, handler)
    app.router.add_post("/v1/chat/completions", handlers.chat)
    app.router.add_post("/v1/completions", handlers.completions)
    app.router.add_get("/mock/stats", handlers.get_stats)
    app.router.add_post("/mock/reset", handlers.reset_stats)
    return app
