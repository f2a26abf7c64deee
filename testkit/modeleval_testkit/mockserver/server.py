"""Run the mock server in-process: ``await server.start()`` or ``with server.running():``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from aiohttp import web

from modeleval_testkit.mockserver.app import build_app
from modeleval_testkit.mockserver.config import MockSettings
from modeleval_testkit.mockserver.stats import MockStats


class MockModelServer:
    """A mock OpenAI-compatible model server on loopback.

    Async use (inside a running loop)::

        server = MockModelServer(latency_s=0.05)
        await server.start()
        ... server.url ...
        await server.stop()

    Sync use (a background thread runs its own loop)::

        with MockModelServer(latency_s=0.05).running() as server:
            ... server.url, server.stats().max_in_flight ...
    """

    def __init__(self, settings: MockSettings | None = None, **overrides: Any) -> None:
        self.settings = replace(settings or MockSettings(), **overrides)
        self._stats = MockStats()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the mock server is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no path)."""
        return f"http://{self.settings.host}:{self.port}"

    @property
    def url(self) -> str:
        """The OpenAI base URL: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.base_url}/v1"

    def stats(self) -> MockStats:
        """Live counters (per item, per prompt, concurrency)."""
        return self._stats

    async def start(self) -> MockModelServer:
        if self.settings.startup_delay_s > 0:
            await asyncio.sleep(self.settings.startup_delay_s)
        app = build_app(self.settings, self._stats)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner,
            self.settings.host,
            self.settings.port,
            backlog=1024,
            reuse_port=self.settings.reuse_port or None,
        )
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @contextmanager
    def running(self) -> Iterator[MockModelServer]:
        """Serve from a background thread with its own event loop, for synchronous tests."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                errors.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        thread = threading.Thread(target=serve, name="mock-model-server", daemon=True)
        thread.start()
        started.wait()
        if errors:
            raise errors[0]
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
