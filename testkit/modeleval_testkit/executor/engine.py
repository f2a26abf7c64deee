"""One container as a real container of a Docker engine: start, log capture, signals, OOM.

`EngineContainer` has the interface of `ContainerProcess` (start, wait, kill_group, terminate),
so the kubelet role runs either. ``docker run`` stays attached: its output is the container's
log. The container is removed after its exit has been read (``State.OOMKilled`` tells a cgroup
OOM kill from any other SIGKILL, as the kubelet reports it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .process import Exit

CLIENT_ENV = (
    "PATH",
    "HOME",
    "DOCKER_HOST",
    "DOCKER_CONFIG",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
)
"""Host variables the engine client itself needs (the container gets none of them)."""


class EngineUnavailable(RuntimeError):
    """No ``docker`` client, or its engine does not answer."""


def docker_binary(name: str = "docker") -> str:
    found = shutil.which(name)
    if found is None:
        raise EngineUnavailable(f"no {name!r} client on PATH")
    return found


def engine_available(docker: str = "docker") -> str | None:
    """``None`` when the engine answers, else why not."""
    try:
        binary = docker_binary(docker)
    except EngineUnavailable as exc:
        return str(exc)
    result = subprocess.run(
        [binary, "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if result.returncode != 0:
        return f"the docker engine does not answer: {result.stderr.strip()[:300]}"
    return None


def image_user(docker: str, image: str) -> str | None:
    """The image's ``USER`` ("" for root by default); ``None`` when the image is not present."""
    result = subprocess.run(
        [docker, "image", "inspect", "--format", "{{json .Config.User}}", image],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if result.returncode != 0:
        return None
    return str(json.loads(result.stdout.strip() or '""'))


def remove_containers(docker: str, executor_id: str) -> None:
    """Force-remove every container this executor started (left over after a crash)."""
    from .engine_args import LABEL

    listed = subprocess.run(
        [docker, "ps", "-aq", "--filter", f"label={LABEL}={executor_id}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    ids = listed.stdout.split()
    if ids:
        subprocess.run([docker, "rm", "-f", *ids], capture_output=True, check=False, timeout=60)


class EngineContainer:
    """Runs ``docker <run_args>`` attached, with stdout+stderr appended to ``log_path``."""

    def __init__(
        self,
        docker: str,
        run_args: Sequence[str],
        *,
        name: str,
        env: Mapping[str, str],
        log_path: Path,
    ) -> None:
        self.docker = docker
        self.run_args = list(run_args)
        self.name = name
        self.env = {k: os.environ[k] for k in CLIENT_ENV if k in os.environ}
        self.env.update(env)  # the container's values, read by `-e NAME`
        self.log_path = log_path
        self._client: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return None if self._client is None else self._client.pid

    async def start(self) -> Exit | None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        await self._docker("rm", "-f", self.name)  # a stale one from an earlier crash
        with self.log_path.open("ab") as log:
            try:
                self._client = await asyncio.create_subprocess_exec(
                    self.docker,
                    *self.run_args,
                    env=self.env,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as error:
                return Exit(128, "StartError", f"failed to start the engine client: {error}")
        return None

    async def wait(self) -> Exit:
        assert self._client is not None
        code = await self._client.wait()
        state = await self._state()
        await self._docker("rm", "-f", self.name)
        if state is None:  # never created: the engine refused the run (125/126/127)
            return Exit(128, "StartError", self._log_tail() or f"docker run exited with {code}")
        exit_code = int(state.get("ExitCode", code))
        if state.get("OOMKilled"):
            return Exit(137, "OOMKilled")
        if state.get("Error") and exit_code in (125, 126, 127, 128):
            return Exit(128, "StartError", str(state["Error"]))
        return Exit(exit_code, "Completed" if exit_code == 0 else "Error")

    def kill_group(self, sig: int) -> bool:
        """Send ``sig`` to the container's processes (``docker kill --signal``)."""
        if self._client is None or self._client.returncode is not None:
            return False
        result = subprocess.run(
            [self.docker, "kill", "--signal", signal.Signals(sig).name, self.name],
            capture_output=True,
            check=False,
            timeout=30,
        )
        return result.returncode == 0

    async def terminate(self, grace: float) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds (``docker stop -t``)."""
        if self._client is None:
            return
        if self._client.returncode is None:
            await self._docker("stop", "-t", str(max(0, math.ceil(grace))), self.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._client.wait(), 30)

    async def _state(self) -> dict[str, Any] | None:
        output = await self._docker("inspect", "--format", "{{json .State}}", self.name)
        if output is None:
            return None
        state: dict[str, Any] = json.loads(output)
        return state

    async def _docker(self, *args: str) -> str | None:
        """Run a docker command; its stdout, or ``None`` when it failed."""
        process = await asyncio.create_subprocess_exec(
            self.docker,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env={k: os.environ[k] for k in CLIENT_ENV if k in os.environ},
        )
        out, _ = await process.communicate()
        return out.decode() if process.returncode == 0 else None

    def _log_tail(self) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-5:])
