"""The HTTP client against the mock server: retries, Retry-After, backoff, timeouts."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from modeleval.runner.client import ClientSettings, ModelClient, RequestFailed, parse_retry_after
from modeleval.runner.payloads import ApiFlavour
from modeleval_testkit.mockserver import FaultKind, FaultSettings, MockModelServer

BODY = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def with_faults(*sequence: FaultKind, retry_after_s: float = 3) -> MockModelServer:
    faults = FaultSettings(by_item={"item": list(sequence)}, retry_after_s=retry_after_s)
    return await MockModelServer(faults=faults).start()


async def test_429_waits_for_retry_after_then_succeeds() -> None:
    server = await with_faults(FaultKind.RATE_LIMIT, FaultKind.RATE_LIMIT, retry_after_s=1.5)
    sleep = RecordingSleep()
    try:
        async with ModelClient(server.url, ApiFlavour.CHAT, ClientSettings(), sleep=sleep) as c:
            answer = await c.complete(BODY, "item")
        assert answer.text == "hello"
        assert answer.attempts == 3
        assert sleep.waits == [1.5, 1.5]
        assert server.stats().by_item["item"] == 3
    finally:
        await server.stop()


async def test_5xx_and_drops_use_exponential_backoff_with_jitter() -> None:
    server = await with_faults(FaultKind.SERVER_ERROR, FaultKind.DROP, FaultKind.UNAVAILABLE)
    sleep = RecordingSleep()
    settings = ClientSettings(backoff_base_s=0.4, backoff_max_s=10)
    try:
        async with ModelClient(server.url, ApiFlavour.CHAT, settings, sleep=sleep) as c:
            answer = await c.complete(BODY, "item")
        assert answer.attempts == 4
        # 503 carries no Retry-After here, so all three waits are backoff: [b/2, b] for b = 0.4·2^n
        for wait, ceiling in zip(sleep.waits, (0.4, 0.8, 1.6), strict=True):
            assert ceiling / 2 <= wait <= ceiling
    finally:
        await server.stop()


async def test_retries_exhausted_raise_with_the_last_error() -> None:
    server = await with_faults(*[FaultKind.SERVER_ERROR] * 5)
    sleep = RecordingSleep()
    try:
        settings = ClientSettings(max_retries=2)
        async with ModelClient(server.url, ApiFlavour.CHAT, settings, sleep=sleep) as c:
            with pytest.raises(RequestFailed, match="HTTP 500: injected fault 500") as info:
                await c.complete(BODY, "item")
        assert info.value.attempts == 3
        assert info.value.status == 500
        assert server.stats().by_item["item"] == 3
    finally:
        await server.stop()


async def test_client_errors_are_not_retried(mock_server: MockModelServer) -> None:
    sleep = RecordingSleep()
    async with ModelClient(mock_server.url, ApiFlavour.CHAT, ClientSettings(), sleep=sleep) as c:
        with pytest.raises(RequestFailed, match="HTTP 400") as info:
            await c.complete({"model": "m", "messages": []}, "bad")
    assert info.value.attempts == 1
    assert sleep.waits == []


async def test_read_timeout_is_retried() -> None:
    faults = FaultSettings(by_item={"item": [FaultKind.HANG]}, hang_s=0.5)
    server = await MockModelServer(faults=faults).start()
    sleep = RecordingSleep()
    try:
        settings = ClientSettings(read_timeout_s=0.1)
        async with ModelClient(server.url, ApiFlavour.CHAT, settings, sleep=sleep) as c:
            answer = await c.complete(BODY, "item")
        assert answer.attempts == 2
    finally:
        await server.stop()


async def test_unreachable_endpoint_fails_with_connection_error() -> None:
    sleep = RecordingSleep()
    settings = ClientSettings(max_retries=1, connect_timeout_s=1)
    async with ModelClient("http://127.0.0.1:9/v1", ApiFlavour.CHAT, settings, sleep=sleep) as c:
        with pytest.raises(RequestFailed, match="connection error"):
            await c.complete(BODY)


async def test_api_key_and_headers_are_sent(mock_server: MockModelServer) -> None:
    settings = ClientSettings(api_key="sk-1", headers={"X-Tenant": "t"})
    client = ModelClient(mock_server.url, ApiFlavour.COMPLETIONS, settings)
    headers = client.headers_for("i1")
    assert headers["Authorization"] == "Bearer sk-1"
    assert headers["X-Tenant"] == "t"
    assert headers["X-Modeleval-Item-Id"] == "i1"
    async with client:
        answer = await client.complete({"model": "m", "prompt": "p q"}, "i1")
    assert (answer.text, answer.tokens) == ("p q", {"prompt": 2, "completion": 2})


def test_backoff_is_capped() -> None:
    settings = ClientSettings(backoff_base_s=1, backoff_max_s=5, max_retry_after_s=60)
    client = ModelClient("http://x/v1", ApiFlavour.CHAT, settings, rng=random.Random(1))
    assert all(2.5 <= client.backoff(attempt, None) <= 5 for attempt in range(4, 10))
    assert client.backoff(1, 600) == 60


def test_parse_retry_after() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (parse_retry_after(later) or 0) <= 31


async def test_a_trickling_server_cannot_outlast_request_timeout_seconds() -> None:
    """readTimeoutSeconds bounds each silence; requestTimeoutSeconds bounds the request."""
    from aiohttp import web

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for _ in range(100):
            await response.write(b" ")
            await asyncio.sleep(0.05)
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", trickle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    settings = ClientSettings(read_timeout_s=1.0, request_timeout_s=0.3, max_retries=1)
    try:
        started = time.perf_counter()
        async with ModelClient(
            f"http://127.0.0.1:{port}/v1", ApiFlavour.CHAT, settings, sleep=RecordingSleep()
        ) as c:
            with pytest.raises(RequestFailed) as failed:
                await c.complete(BODY, "item")
        assert time.perf_counter() - started < 2.0  # two attempts of 0.3 s, not 5 s each
        assert str(failed.value) == (
            "no complete answer within 0.3s (requestTimeoutSeconds) (after 2 attempts)"
        )
        assert failed.value.kind == "timeout"
    finally:
        await runner.cleanup()


async def test_an_error_in_a_200_keeps_the_servers_message() -> None:
    server = await with_faults(FaultKind.ERROR_200)
    try:
        async with ModelClient(server.url, ApiFlavour.CHAT, ClientSettings()) as c:
            with pytest.raises(RequestFailed) as failed:
                await c.complete(BODY, "item")
        assert str(failed.value) == "HTTP 200 with an error: model overloaded (injected)"
        assert failed.value.kind == "bad_response"
    finally:
        await server.stop()


async def test_an_item_id_with_line_breaks_is_sent_safely() -> None:
    server = await MockModelServer().start()
    try:
        async with ModelClient(server.url, ApiFlavour.CHAT, ClientSettings()) as c:
            answer = await c.complete(BODY, "evil\r\nX-Injected: 1")
        assert answer.text == "hello"
        assert server.stats().by_item == {"evil%0D%0AX-Injected: 1": 1}
    finally:
        await server.stop()


async def test_connect_timeout_seconds_bounds_a_connection_that_never_completes() -> None:
    """inference.client.connectTimeoutSeconds: a server whose accept queue is full never
    completes the TCP handshake (the kernel drops the SYN); the attempt ends at the connect
    timeout, not at the read timeout."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(3):  # fill the accept queue: later handshakes go unanswered
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        await asyncio.sleep(0.05)
        settings = ClientSettings(connect_timeout_s=0.3, read_timeout_s=30, max_retries=0)
        url = f"http://127.0.0.1:{port}/v1"
        started = time.monotonic()
        async with ModelClient(url, ApiFlavour.CHAT, settings, sleep=RecordingSleep()) as c:
            with pytest.raises(RequestFailed) as failed:
                await c.complete(BODY)
        elapsed = time.monotonic() - started
    finally:
        for each in (*fillers, listener):
            each.close()
    assert "Connection timeout" in str(failed.value)
    assert 0.25 <= elapsed < 5, elapsed  # the connect timeout, nowhere near the read timeout
