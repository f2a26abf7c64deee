"""The web console as a local process (``modeleval console``), for `LocalCluster` and the demo.

    process = ConsoleProcess(work_dir, kubeconfig)       # the console's ServiceAccount
    process.start()                                      # waits for /healthz
    process.url                                          # http://127.0.0.1:PORT
    process.restart()                                    # same port, same database

It runs like in a cluster: its own process, logged in with its own ServiceAccount's
kubeconfig, SQLite under ``work_dir`` (or ``database``); settings that keep tests fast come
from `FAST_CONSOLE_ENV`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

CONSOLE_NAMESPACE = "modeleval-system"
CONSOLE_ACCOUNT = "modeleval-console"
FAST_CONSOLE_ENV = {
    "MODELEVAL_CONSOLE_SYNC_SECONDS": "0.5",
    "MODELEVAL_CONSOLE_AUTH_CACHE_SECONDS": "1",
    "MODELEVAL_CONSOLE_SECURE_COOKIES": "false",  # plain HTTP on 127.0.0.1
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ConsoleProcess:
    def __init__(
        self,
        work_dir: Path,
        kubeconfig: Path,
        *,
        database: str | None = None,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.work_dir = work_dir
        self.kubeconfig = kubeconfig
        self.database = database or f"sqlite:///{work_dir / 'console.db'}"
        self.env = {**FAST_CONSOLE_ENV, **(env or {})}
        self.port = port or free_port()
        self.log = work_dir / "console.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 60.0) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "KUBECONFIG": str(self.kubeconfig)}
        argv = [
            sys.executable,
            "-m",
            "modeleval.cli",
            "console",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--database",
            self.database,
        ]
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                argv, env=env, cwd=self.work_dir, stdout=log, stderr=subprocess.STDOUT
            )
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"the console exited:\n{self.output()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"the console did not answer in {timeout}s:\n{self.output()[-3000:]}")

    def stop(self, timeout: float = 15.0, *, kill: bool = False) -> int | None:
        """SIGTERM (SIGKILL with ``kill``, as a crash would); the exit code."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def restart(self, *, kill: bool = False) -> None:
        """Stop (or kill) and start again on the same port with the same database."""
        self.stop(kill=kill)
        self.start()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
