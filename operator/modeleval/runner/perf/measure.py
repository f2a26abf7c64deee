"""Time one streaming (SSE) request: first token, gaps between tokens, end to end, usage."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from modeleval.runner.client import error_kind
from modeleval.runner.payloads import ApiFlavour, parse_answer
from modeleval.runner.server_compat import error_message


@dataclass(slots=True)
class RequestTiming:
    """Measurements of one request; times in seconds from the moment it was sent."""

    ok: bool = False
    status: int | None = None
    """The HTTP status of the answer (None: no answer)."""
    error: str | None = None
    error_kind: str | None = None
    """The metrics kind of ``error``: ``http_5xx``, ``timeout``, ``connection``, ..."""
    ttft_s: float | None = None
    """Time to the first chunk that carries text."""
    gaps_s: list[float] = field(default_factory=list)
    """Inter-token latency samples: the time between consecutive text chunks, per token when
    ``usage`` says the chunks carried more tokens than there were chunks (servers such as
    ``transformers serve`` send several tokens in one chunk when bytes are held back)."""
    chunks: int = 0
    """Chunks that carried text."""
    latency_s: float | None = None
    """End to end: until the stream ended."""
    input_tokens: int = 0
    output_tokens: int = 0
    """From ``usage`` when the server sends it, else the number of text chunks."""


async def stream_request(
    session: aiohttp.ClientSession,
    url: str,
    api: ApiFlavour,
    body: dict[str, Any],
    headers: dict[str, str],
) -> RequestTiming:
    """Send ``body`` (with ``stream: true``) and time the answer; never raises for HTTP errors."""
    timing = RequestTiming()
    data = json.dumps(body, ensure_ascii=False).encode()
    chunks = 0
    usage: dict[str, Any] | None = None
    started = time.perf_counter()
    last: float | None = None
    try:
        async with session.post(url, data=data, headers=headers) as resp:
            timing.status = resp.status
            if resp.status != 200:
                timing.error = f"HTTP {resp.status}: {error_message(await resp.read())}"
                timing.error_kind = error_kind(resp.status)
                return timing
            async for raw in resp.content:
                line = raw.strip()
                if not line.startswith(b"data:"):
                    continue
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    break
                event = json.loads(payload)
                if event.get("usage"):
                    usage = event["usage"]
                if _has_text(api, event):
                    now = time.perf_counter()
                    if last is None:
                        timing.ttft_s = now - started
                    else:
                        timing.gaps_s.append(now - last)
                    last = now
                    chunks += 1
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        timing.error = f"{type(exc).__name__}: {exc}"
        timing.error_kind = (
            "timeout"
            if isinstance(exc, TimeoutError)
            else "bad_response"
            if isinstance(exc, ValueError)
            else "connection"
        )
        return timing
    timing.latency_s = time.perf_counter() - started
    timing.ok = chunks > 0 or bool(usage)
    if not timing.ok:
        timing.error = "empty answer"
        timing.error_kind = "bad_response"
    timing.input_tokens = int((usage or {}).get("prompt_tokens") or 0)
    timing.output_tokens = int((usage or {}).get("completion_tokens") or chunks)
    timing.chunks = chunks
    if timing.output_tokens > chunks > 0:
        # Several tokens per chunk: each gap spans output_tokens / chunks tokens on average.
        scale = chunks / timing.output_tokens
        timing.gaps_s = [gap * scale for gap in timing.gaps_s]
    return timing


async def plain_request(
    session: aiohttp.ClientSession,
    url: str,
    api: ApiFlavour,
    body: dict[str, Any],
    headers: dict[str, str],
) -> RequestTiming:
    """Send ``body`` without streaming (``performance.stream: false``) and time the whole
    answer: end-to-end latency and usage only (no first token or gaps to see); never raises
    for HTTP errors."""
    timing = RequestTiming()
    data = json.dumps(body, ensure_ascii=False).encode()
    started = time.perf_counter()
    try:
        async with session.post(url, data=data, headers=headers) as resp:
            raw = await resp.read()
            timing.status = resp.status
            if resp.status != 200:
                timing.error = f"HTTP {resp.status}: {error_message(raw)}"
                timing.error_kind = error_kind(resp.status)
                return timing
            text, tokens = parse_answer(api, json.loads(raw))
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        timing.error = f"{type(exc).__name__}: {exc}"
        timing.error_kind = (
            "timeout"
            if isinstance(exc, TimeoutError)
            else ("bad_response" if isinstance(exc, ValueError) else "connection")
        )
        return timing
    timing.latency_s = time.perf_counter() - started
    timing.ok = bool(text) or bool(tokens.get("completion"))
    if not timing.ok:
        timing.error, timing.error_kind = "empty answer", "bad_response"
    timing.input_tokens = tokens.get("prompt", 0)
    timing.output_tokens = tokens.get("completion", 0) or len(text.split())
    return timing


def _has_text(api: ApiFlavour, event: dict[str, Any]) -> bool:
    choices = event.get("choices") or []
    if not choices:
        return False
    choice = choices[0]
    if api is ApiFlavour.CHAT:
        return bool((choice.get("delta") or {}).get("content"))
    return bool(choice.get("text"))
