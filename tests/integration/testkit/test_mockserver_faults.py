"""Mock server faults (per item, by seeded rate, drops, hangs) and its command line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator

import aiohttp
import pytest

from modeleval_testkit.mockserver import FaultKind, FaultSettings, MockModelServer


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post_status(http: aiohttp.ClientSession, server: MockModelServer, item: str) -> int:
    body = {"model": "m", "prompt": f"prompt {item}"}
    headers = {"X-Modeleval-Item-Id": item}
    async with http.post(f"{server.url}/completions", json=body, headers=headers) as resp:
        await resp.read()
        return resp.status


async def test_fault_sequence_per_item(http: aiohttp.ClientSession) -> None:
    faults = FaultSettings(
        by_item={"a": [FaultKind.SERVER_ERROR, FaultKind.RATE_LIMIT, FaultKind.OK]},
        retry_after_s=2,
    )
    server = await MockModelServer(faults=faults).start()
    try:
        body = {"model": "m", "prompt": "p"}
        headers = {"X-Modeleval-Item-Id": "a"}
        statuses = []
        for _ in range(4):
            async with http.post(f"{server.url}/completions", json=body, headers=headers) as r:
                statuses.append(r.status)
                if r.status == 429:
                    assert r.headers["Retry-After"] == "2"
                    assert (await r.json())["error"]["code"] == 429
        assert statuses == [500, 429, 200, 200]
        assert await post_status(http, server, "b") == 200
        stats = server.stats()
        assert stats.by_status == {"500": 1, "429": 1, "200": 3}
        assert stats.completed_by_item == {"a": 2, "b": 1}
    finally:
        await server.stop()


async def test_rate_faults_are_reproducible_with_a_seed(http: aiohttp.ClientSession) -> None:
    async def statuses(seed: int) -> list[int]:
        settings = FaultSettings(rate=0.5, seed=seed, kinds=(FaultKind.UNAVAILABLE,))
        server = await MockModelServer(faults=settings).start()
        try:
            return [await post_status(http, server, str(i)) for i in range(40)]
        finally:
            await server.stop()

    first, second, other = await statuses(7), await statuses(7), await statuses(8)
    assert first == second
    assert first != other
    assert 8 <= first.count(503) <= 32
    assert set(first) == {200, 503}


async def test_drop_closes_the_connection_without_a_response(http: aiohttp.ClientSession) -> None:
    server = await MockModelServer(faults=FaultSettings(rate=1.0, kinds=(FaultKind.DROP,))).start()
    try:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await post_status(http, server, "x")
        assert server.stats().by_status == {"drop": 1}
    finally:
        await server.stop()


async def test_hang_never_answers_within_the_client_timeout(http: aiohttp.ClientSession) -> None:
    faults = FaultSettings(rate=1.0, kinds=(FaultKind.HANG,), hang_s=0.5)
    server = await MockModelServer(faults=faults).start()
    try:
        timeout = aiohttp.ClientTimeout(sock_read=0.2)
        began = time.perf_counter()
        with pytest.raises(asyncio.TimeoutError):
            async with http.post(
                f"{server.url}/completions", json={"prompt": "p"}, timeout=timeout
            ) as resp:
                await resp.read()
        assert time.perf_counter() - began < 1.0
        assert server.stats().by_status == {"hang": 1}
    finally:
        await server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mock_cli(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "modeleval_testkit.mockserver", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_cli_crash_on_start_exits_with_the_code() -> None:
    proc = mock_cli("--port", str(free_port()), "--crash-on-start", "3")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 3
    assert b"crashing on start" in err


def test_cli_serves_after_startup_delay_and_stops_on_sigterm(tmp_path: object) -> None:
    port = free_port()
    proc = mock_cli("--port", str(port), "--startup-delay-s", "0.5", "--latency-ms", "5")
    try:
        assert proc.stdout is not None
        began = time.monotonic()
        line = proc.stdout.readline().decode()
        assert f"127.0.0.1:{port}" in line
        assert time.monotonic() - began >= 0.5
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as resp:
            assert json.loads(resp.read())["choices"][0]["message"]["content"] == "hi"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_cli_workers_share_the_port_and_stop_together() -> None:
    port = free_port()
    proc = mock_cli("--port", str(port), "--workers", "2")
    try:
        assert proc.stdout is not None
        assert b"listening" in proc.stdout.readline()
        deadline = time.monotonic() + 20
        pids: set[int] = set()
        while time.monotonic() < deadline and len(pids) < 2:
            # Each worker answers /mock/stats from its own process.
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/mock/stats", timeout=5) as resp:
                pids.add(json.loads(resp.read())["pid"])
        assert len(pids) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert proc.returncode == 0
    for pid in pids - {proc.pid}:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
