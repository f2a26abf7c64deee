"""The unit tier: pure, in-process tests. A guard fails any test here that starts a subprocess
or opens a network socket: such a test belongs in ``tests/integration``."""

from __future__ import annotations

import socket
import subprocess
from typing import Any

import pytest

MOVE = "unit tests start no subprocess and open no socket: this test belongs in tests/integration"


def _refuse(*_: Any, **__: Any) -> Any:
    raise AssertionError(MOVE)


@pytest.fixture(autouse=True)
def _pure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse)
    for method in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, method, _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)
