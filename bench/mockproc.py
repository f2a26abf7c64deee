"""The mock model server as its own process, for the bench scripts (``python bench/x.py`` puts
this folder first on ``sys.path``)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_mock(
    *args: str,
    spawn: Callable[..., subprocess.Popen[Any]] | None = None,
    settle_s: float = 0.0,
) -> tuple[subprocess.Popen[Any], str]:
    """Start ``python -m modeleval_testkit.mockserver --port <free> *args`` (through ``spawn``,
    e.g. to pin it to CPUs) and wait for its /health; returns the process and its /v1 URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "modeleval_testkit.mockserver", "--port", str(port), *args]
    if spawn is None:
        proc: subprocess.Popen[Any] = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    else:
        proc = spawn(cmd)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                time.sleep(settle_s)
                return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("mock server did not start")
