"""One container as one local process group: start, log capture, signals, memory limit."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

MEMORY_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Exit:
    """How a container ended, in the kubelet's terms."""

    exit_code: int
    reason: str
    """``Completed``, ``Error``, ``OOMKilled`` or ``StartError``."""
    message: str = ""


class Container(Protocol):
    """A running container, local process or real one (`engine.EngineContainer`)."""

    @property
    def pid(self) -> int | None: ...

    async def start(self) -> Exit | None: ...

    async def wait(self) -> Exit: ...

    def kill_group(self, sig: int) -> bool: ...

    async def terminate(self, grace: float) -> None: ...


class ContainerProcess:
    """Runs ``argv`` in its own session with stdout+stderr appended to ``log_path``."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        log_path: Path,
        memory_limit: int | None = None,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = cwd
        self.log_path = log_path
        self.memory_limit = memory_limit
        self._process: asyncio.subprocess.Process | None = None
        self._oom_killed = False
        self._monitor: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def start(self) -> Exit | None:
        """Start the process; an ``Exit`` when it could not be started at all."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.cwd.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            try:
                self._process = await asyncio.create_subprocess_exec(
                    *self.argv,
                    env=self.env,
                    cwd=self.cwd,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as error:
                log.write(f"failed to start {self.argv[:1]}: {error}\n".encode())
                return Exit(128, "StartError", f"failed to start container process: {error}")
        if self.memory_limit is not None:
            self._monitor = asyncio.create_task(self._watch_memory(self.memory_limit))
        return None

    async def wait(self) -> Exit:
        assert self._process is not None
        code = await self._process.wait()
        if self._monitor is not None:
            self._monitor.cancel()
            await asyncio.gather(self._monitor, return_exceptions=True)
        self.kill_group(signal.SIGKILL)  # children left behind die with their container
        exit_code = 128 - code if code < 0 else code
        if self._oom_killed:
            return Exit(137, "OOMKilled")
        return Exit(exit_code, "Completed" if exit_code == 0 else "Error")

    def kill_group(self, sig: int) -> bool:
        if self._process is None:
            return False
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, sig)
            return True
        return False

    async def terminate(self, grace: float) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds, as on pod deletion."""
        if self._process is None or self._process.returncode is not None:
            self.kill_group(signal.SIGKILL)
            return
        self.kill_group(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(self._process.wait()), grace)
        except TimeoutError:
            self.kill_group(signal.SIGKILL)
            await self._process.wait()

    async def _watch_memory(self, limit: int) -> None:
        assert self._process is not None
        group = self._process.pid
        while self._process.returncode is None:
            if _tree_rss(group) > limit:
                self._oom_killed = True
                self.kill_group(signal.SIGKILL)
                return
            await asyncio.sleep(MEMORY_POLL_SECONDS)


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants (Linux /proc), like a cgroup."""
    total, pending, page = 0, [root], os.sysconf("SC_PAGE_SIZE")
    while pending:
        pid = pending.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
            for task in Path(f"/proc/{pid}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError, IndexError):
            continue
    return total
