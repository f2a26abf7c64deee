"""Fixtures for runner tests: an in-process mock model server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from modeleval_testkit.mockserver import MockModelServer


@pytest.fixture
async def mock_server() -> AsyncIterator[MockModelServer]:
    server = await MockModelServer().start()
    yield server
    await server.stop()
