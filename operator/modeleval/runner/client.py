"""HTTP client for one model endpoint: aiohttp, sized pool, timeouts, retries with backoff.

Retried: connection errors, timeouts, 408, 429, 500, 502, 503, 504. A ``Retry-After`` header
(seconds or an HTTP date) on 429/503 sets the wait; otherwise exponential backoff with jitter.
Anything else (400, 401, 404, ...) fails at once. ``RequestFailed`` carries the last error.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from modeleval.runner.payloads import ApiFlavour, parse_answer
from modeleval.runner.server_compat import error_message, finish_reason

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
ITEM_HEADER = "X-Modeleval-Item-Id"


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """How requests are sent (``parallel`` also sizes the connection pool)."""

    parallel: int = 1
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 600.0
    """Longest silence while waiting for (more of) an answer."""
    request_timeout_s: float | None = None
    """Longest a whole request may take (``requestTimeoutSeconds``); None: no such limit."""
    max_retries: int = 3
    """Retries after the first attempt."""
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    max_retry_after_s: float = 300.0
    """Cap on a server's Retry-After."""
    headers: dict[str, str] = field(default_factory=dict)
    api_key: str | None = None
    """Sent as ``Authorization: Bearer …`` unless ``headers`` sets Authorization."""


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    tokens: dict[str, int]
    latency_s: float
    """Time of the successful attempt."""
    attempts: int
    finish_reason: str | None = None
    """Why generation stopped: ``stop``, ``length`` (cut off at the token limit), ..."""
    body: Any = None
    """The decoded JSON answer (benchmarks read its logprobs)."""


class RequestFailed(Exception):
    """The request failed for good (not retryable, or retries exhausted).

    ``kind`` names the last error for metrics: ``http_429``, ``http_5xx``, ``http_4xx``,
    ``timeout``, ``connection`` or ``bad_response``.
    """

    def __init__(
        self, message: str, *, attempts: int, status: int | None = None, kind: str | None = None
    ) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.status = status
        self.kind = kind or error_kind(status)


def error_kind(status: int | None) -> str:
    """The metrics kind of an HTTP error status (None: the connection failed)."""
    if status is None:
        return "connection"
    if status == 429:
        return "http_429"
    return "http_5xx" if status >= 500 else "http_4xx"


class _Retryable(Exception):
    def __init__(
        self, message: str, status: int | None, retry_after: float | None, kind: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.kind = kind or error_kind(status)


Sleep = Callable[[float], Awaitable[None]]


class ModelClient:
    """Sends prepared bodies to ``{base_url}{api.path}``; use as an async context manager."""

    def __init__(
        self,
        base_url: str,
        api: ApiFlavour,
        settings: ClientSettings,
        *,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.url = base_url.rstrip("/") + api.path
        self.api = api
        self.settings = settings
        self._rng = rng or random.Random()
        self._sleep = sleep
        headers = {"Content-Type": "application/json", **settings.headers}
        if settings.api_key and not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = f"Bearer {settings.api_key}"
        self._headers = headers
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ModelClient:
        s = self.settings
        connector = aiohttp.TCPConnector(limit=max(1, s.parallel), ttl_dns_cache=300)
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=s.connect_timeout_s, sock_read=s.read_timeout_s
        )
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("ModelClient used outside 'async with'")
        return self._session

    def headers_for(self, item_id: str | None) -> dict[str, str]:
        if item_id is None:
            return self._headers
        return {**self._headers, ITEM_HEADER: header_safe(item_id)}

    async def complete(self, body: dict[str, Any], item_id: str | None = None) -> Answer:
        """Send one non-streaming request, retrying as configured."""
        data = json.dumps(body, ensure_ascii=False).encode()
        headers = self.headers_for(item_id)
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                text, tokens, finish, body = await self._send(data, headers)
                return Answer(text, tokens, time.perf_counter() - started, attempt, finish, body)
            except RequestFailed as exc:
                exc.attempts = attempt
                raise
            except _Retryable as exc:
                if attempt > self.settings.max_retries:
                    raise RequestFailed(
                        f"{exc} (after {attempt} attempts)",
                        attempts=attempt,
                        status=exc.status,
                        kind=exc.kind,
                    ) from None
                await self._sleep(self.backoff(attempt, exc.retry_after))

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Wait before retry number ``attempt`` (1-based)."""
        s = self.settings
        if retry_after is not None:
            return min(max(0.0, retry_after), s.max_retry_after_s)
        ceiling = min(s.backoff_max_s, s.backoff_base_s * 2.0 ** (attempt - 1))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    async def _send(
        self, data: bytes, headers: dict[str, str]
    ) -> tuple[str, dict[str, int], str | None, Any]:
        deadline = self.settings.request_timeout_s
        try:
            async with (
                asyncio.timeout(deadline) as whole,
                self.session.post(self.url, data=data, headers=headers) as resp,
            ):
                raw = await resp.read()
                status = resp.status
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise _Retryable(f"connection error: {exc or type(exc).__name__}", None, None) from None
        except TimeoutError:
            message = (
                f"no complete answer within {deadline:g}s (requestTimeoutSeconds)"
                if whole.expired()
                else "timed out waiting for the server"
            )
            raise _Retryable(message, None, None, "timeout") from None
        if status != 200:
            message = f"HTTP {status}: {_error_text(raw)}"
            if status in RETRYABLE_STATUS:
                raise _Retryable(message, status, retry_after if status in (429, 503) else None)
            raise RequestFailed(message, attempts=1, status=status)
        try:
            answer = json.loads(raw)
            if isinstance(answer, dict) and answer.get("error") and not answer.get("choices"):
                raise RequestFailed(  # a 200 that is an error: keep the server's own words
                    f"HTTP 200 with an error: {_error_text(raw)}",
                    attempts=1,
                    status=status,
                    kind="bad_response",
                )
            return (*parse_answer(self.api, answer), finish_reason(answer), answer)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RequestFailed(
                f"bad response body: {exc}", attempts=1, status=status, kind="bad_response"
            ) from None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # rare: keep it off the start-up path

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def header_safe(value: str) -> str:
    """``value`` fit for an HTTP header: control characters (CR, LF…) percent-encoded, so an
    item id from a dataset can neither split the header nor fail the request."""
    if all(" " <= ch != "\x7f" for ch in value):
        return value
    return "".join(ch if " " <= ch != "\x7f" else f"%{ord(ch):02X}" for ch in value)


def _error_text(raw: bytes) -> str:
    return error_message(raw)  # OpenAI, FastAPI ({"detail": ...}) and plain-text bodies
