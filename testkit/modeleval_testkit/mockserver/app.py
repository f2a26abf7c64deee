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

from modeleval_testkit.mockserver.answers import (
    AnswerBook,
    count_tokens,
    echo_logprobs,
    fit_tokens,
    tokenize,
)
from modeleval_testkit.mockserver.config import FaultKind, MockSettings
from modeleval_testkit.mockserver.flavours import PROFILES, unknown_fields
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
        self.profile = PROFILES[settings.flavour]

    def error(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        """An error answer in this server make's shape."""
        if self.profile.error_shape == "fastapi":
            return web.json_response({"detail": message}, status=status, headers=headers)
        return _error(status, message, headers)

    def refusal(self, body: dict[str, Any]) -> web.Response | None:
        """What this make answers a request it will not serve (unknown fields, another model)."""
        profile = self.profile
        unknown = unknown_fields(profile, body)
        if unknown and profile.unknown_fields == "reject-422":
            names = "{" + ", ".join(repr(name) for name in unknown) + "}"
            return self.error(422, f"Unexpected fields in the request: {names}")
        if unknown and profile.unknown_fields == "reject-400":
            plural = "s" if len(unknown) > 1 else ""
            return self.error(
                400, f"Unrecognized request argument{plural} supplied: {', '.join(unknown)}"
            )
        model = body.get("model")
        if profile.pinned_model and model is not None and model != self.settings.model:
            if profile.error_shape == "fastapi":
                return self.error(
                    400, f"Server is pinned to '{self.settings.model}'; requested '{model}'."
                )
            return self.error(404, f"The model `{model}` does not exist.")
        return None

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
            if self.profile.malformed_is_plain_500:
                return web.Response(status=500, text="Internal Server Error")
            return _error(400, "messages must be a non-empty list")
        texts = [str(m.get("content", "")) for m in messages if isinstance(m, dict)]
        users = [str(m.get("content", "")) for m in messages if m.get("role") == "user"]
        last_user = users[-1] if users else None
        return await self._infer(request, body, "\n".join(texts), last_user, chat=True)

    async def completions(self, request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        prompt = body.get("prompt")
        if body.get("echo") and body.get("logprobs") is not None:
            prompts = prompt if isinstance(prompt, list) else [prompt]
            if not prompts or not all(isinstance(p, str) for p in prompts):
                return _error(400, "prompt must be a string or a list of strings")
            return await self._infer(request, body, str(prompts[0]), None, chat=False)
        if isinstance(prompt, list):
            prompt = prompt[0] if prompt else ""
        if not isinstance(prompt, str):
            if self.profile.malformed_is_plain_500:
                return web.Response(status=500, text="Internal Server Error")
            return _error(400, "prompt must be a string")
        return await self._infer(request, body, prompt, None, chat=False)

    async def _infer(
        self, request: web.Request, body: dict[str, Any], prompt: str, user: str | None, chat: bool
    ) -> web.StreamResponse:
        stats = self.stats
        key = request.headers.get(self.settings.item_header) or (
            user if user is not None else prompt
        )
        stats.requests += 1
        if request.headers.get("Authorization"):
            stats.credentials[request.headers["Authorization"]] += 1
        stats.by_item[key] += 1
        stats.by_prompt[prompt] += 1
        fault = self.faults.decide(key, stats.by_item[key])
        stats.enter()
        try:
            if fault is not FaultKind.OK:
                return await self._fault(request, fault)
            refused = self.refusal(body)
            if refused is not None:
                stats.by_status[str(refused.status)] += 1
                return refused
            async with self._slot():
                response: web.StreamResponse
                if not chat and body.get("echo") and body.get("logprobs") is not None:
                    response = await self._echo(body)
                    stats.by_status["200"] += 1
                    stats.completed_by_item[key] += 1
                    return response
                answer = self.book.answer(prompt, user)
                tokens, finish = self._shape(answer, body)
                if body.get("stream"):
                    response = await self._stream(request, body, prompt, tokens, chat, finish)
                else:
                    response = await self._whole(body, prompt, tokens, chat, finish)
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

    def _shape(self, answer: str, body: dict[str, Any]) -> tuple[list[str], str]:
        """The answer's tokens and its finish reason: ``stop`` (the answer, or a stop string,
        ended it) or ``length`` (``max_tokens`` cut it off)."""
        tokens = tokenize(answer)
        wanted = self.settings.output_tokens
        if wanted is not None:
            tokens = fit_tokens(tokens, wanted)
        tokens = _apply_stop(tokens, body.get("stop"), keep=self.profile.stop_in_text)
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
        if isinstance(max_tokens, int) and 0 < max_tokens < len(tokens):
            return tokens[:max_tokens], "length"
        return tokens, "stop"

    async def _whole(
        self, body: dict[str, Any], prompt: str, tokens: list[str], chat: bool, finish: str
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
                "finish_reason": finish,
            }
        else:
            choice = {"index": 0, "text": text, "finish_reason": finish}
        return web.json_response(
            {
                **_envelope(chat, self.settings.model, chunk=False),
                "choices": [choice],
                "usage": usage,
            }
        )

    async def _echo(self, body: dict[str, Any]) -> web.Response:
        """Prompt log-probabilities (``echo`` + ``logprobs``), one choice per prompt, as vLLM
        answers lm-eval's loglikelihood requests; ``max_tokens`` > 0 adds one generated token."""
        if self.settings.latency_s > 0:
            await asyncio.sleep(self.settings.latency_s)
        prompt = body.get("prompt")
        prompts: list[str] = prompt if isinstance(prompt, list) else [str(prompt)]
        generate = (body.get("max_tokens") or 0) > 0
        choices = []
        prompt_tokens = 0
        for index, text in enumerate(prompts):
            logprobs = echo_logprobs(text, self.book.preferred_start(text))
            if generate:
                logprobs["tokens"].append(" the")
                logprobs["token_logprobs"].append(-1.0)
                logprobs["top_logprobs"].append({" the": -1.0})
                logprobs["text_offset"].append(len(text))
            prompt_tokens += count_tokens(text)
            choices.append(
                {
                    "index": index,
                    "text": text + (" the" if generate else ""),
                    "logprobs": logprobs,
                    "finish_reason": "length",
                }
            )
        completion = len(prompts) if generate else 0
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": prompt_tokens + completion,
        }
        envelope = _envelope(False, self.settings.model, chunk=False)
        return web.json_response({**envelope, "choices": choices, "usage": usage})

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        prompt: str,
        tokens: list[str],
        chat: bool,
        finish: str,
    ) -> web.StreamResponse:
        s, profile = self.settings, self.profile
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        envelope = _envelope(chat, s.model, chunk=True)

        async def send(choice: dict[str, Any], **extra: Any) -> None:
            if profile.omit_nulls:
                choice = {k: v for k, v in choice.items() if v is not None}
            await response.write(_sse({**envelope, "choices": [choice], **extra}))

        if chat and profile.role_only_first_chunk:
            await send({"index": 0, "delta": {"role": "assistant"}, "finish_reason": None})
        # Token k is due at start + ttft + k * itl (absolute times: no drift from write costs).
        loop = asyncio.get_running_loop()
        first_due = loop.time() + (s.ttft_s or s.latency_s)
        step = max(1, profile.tokens_per_chunk)
        for index in range(0, len(tokens), step):
            last_token = min(len(tokens), index + step) - 1
            delay = first_due + last_token * s.itl_s - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            text = "".join(tokens[index : index + step])
            if chat:
                delta: dict[str, Any] = {"content": text}
                if index == 0 and not profile.role_only_first_chunk:
                    delta["role"] = "assistant"
                choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": None}
            else:
                choice = {"index": 0, "text": text, "finish_reason": None}
            await send(choice)
        last: dict[str, Any] = {"index": 0, "finish_reason": finish}
        if chat:
            last["delta"] = {}
        else:
            last["text"] = ""
        usage = _usage(prompt, len(tokens))
        if profile.usage_in_finish_chunk:
            await send(last, usage=usage)
        else:
            await send(last)
            options = body.get("stream_options") or {}
            if isinstance(options, dict) and options.get("include_usage"):
                await response.write(_sse({**envelope, "choices": [], "usage": usage}))
        if profile.done_marker:
            await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _fault(self, request: web.Request, fault: FaultKind) -> web.StreamResponse:
        self.stats.by_status[fault.value] += 1
        f = self.settings.faults
        if fault is FaultKind.RATE_LIMIT:
            return self.error(
                429, "rate limited (injected)", {"Retry-After": _seconds(f.retry_after_s)}
            )
        if fault in (FaultKind.SERVER_ERROR, FaultKind.UNAVAILABLE):
            return self.error(int(fault.value), f"injected fault {fault.value}")
        if fault is FaultKind.ECHO_AUTH:
            echoed = {k: v for k, v in request.headers.items() if _credential_header(k)}
            return self.error(401, f"invalid credentials: {echoed}")
        if fault is FaultKind.ERROR_200:
            body = {"error": {"message": "model overloaded (injected)", "type": "mock_error"}}
            return web.json_response(body, status=200)
        if fault is FaultKind.HANG:
            await asyncio.sleep(f.hang_s)
        _drop(request)
        raise asyncio.CancelledError  # aiohttp treats this as "client went away": nothing is sent


def _credential_header(name: str) -> bool:
    lower = name.lower()
    return lower == "authorization" or "key" in lower or "token" in lower


def _apply_stop(tokens: list[str], stop: Any, *, keep: bool) -> list[str]:
    """Cut the answer at its first stop string: before it, or (``keep``, as ``transformers
    serve`` does) after the token that completes it."""
    stops = [stop] if isinstance(stop, str) else [s for s in stop or [] if isinstance(s, str)]
    text = "".join(tokens)
    found = [(text.find(s), s) for s in stops if s and s in text]
    if not found:
        return tokens
    at, string = min(found)
    if not keep:
        return tokenize(text[:at])
    end, kept = at + len(string), []
    for token in tokens:
        kept.append(token)
        end -= len(token)
        if end <= 0:
            break
    return kept


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
