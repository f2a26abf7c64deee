"""Kubelet probes (httpGet, tcpSocket, exec) against a container running on loopback."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

PortLookup = Callable[[Any], int | None]
"""Maps a probe's ``port`` (number or name) to the local port, ``None`` if unknown."""


@dataclass(frozen=True)
class ProbeTiming:
    """A probe's timing fields with Kubernetes defaults, in (scaled) seconds."""

    initial_delay: float
    period: float
    timeout: float
    success_threshold: int
    failure_threshold: int

    @classmethod
    def of(cls, probe: Mapping[str, Any], scale: Callable[[float], float]) -> ProbeTiming:
        return cls(
            initial_delay=scale(float(probe.get("initialDelaySeconds", 0))),
            period=scale(float(probe.get("periodSeconds", 10))),
            timeout=float(probe.get("timeoutSeconds", 1)),
            success_threshold=int(probe.get("successThreshold", 1)),
            failure_threshold=int(probe.get("failureThreshold", 3)),
        )


async def run_probe(
    probe: Mapping[str, Any],
    *,
    ports: PortLookup,
    session: aiohttp.ClientSession,
    env: Mapping[str, str],
    prefix: Sequence[str] = (),
) -> bool:
    """One probe attempt; ``True`` on success. ``prefix`` runs an exec probe's command inside
    a real container (``docker exec NAME``); without it the command runs here with ``env``."""
    timeout = float(probe.get("timeoutSeconds", 1))
    if "httpGet" in probe:
        return await _http_get(probe["httpGet"], ports, session, timeout)
    if "tcpSocket" in probe:
        return await _tcp(probe["tcpSocket"], ports, timeout)
    if "exec" in probe:
        command = list(probe["exec"].get("command", []))
        if prefix and command:
            return await _exec([*prefix, *command], os.environ, timeout)
        return await _exec(command, env, timeout)
    return True


async def _http_get(
    action: Mapping[str, Any], ports: PortLookup, session: aiohttp.ClientSession, limit: float
) -> bool:
    port = ports(action.get("port"))
    if port is None:
        return False
    scheme = str(action.get("scheme", "HTTP")).lower()
    path = str(action.get("path", "/"))
    if not path.startswith("/"):
        path = "/" + path
    headers = {h["name"]: h["value"] for h in action.get("httpHeaders") or []}
    try:
        async with session.get(
            f"{scheme}://127.0.0.1:{port}{path}",
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=limit),
            ssl=False,
        ) as response:
            return 200 <= response.status < 400
    except (aiohttp.ClientError, TimeoutError, OSError):
        return False


async def _tcp(action: Mapping[str, Any], ports: PortLookup, limit: float) -> bool:
    port = ports(action.get("port"))
    if port is None:
        return False
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), limit)
    except (OSError, TimeoutError):
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def _exec(command: list[str], env: Mapping[str, str], limit: float) -> bool:
    if not command:
        return False
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            env=dict(env),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:
        return False
    try:
        return await asyncio.wait_for(process.wait(), limit) == 0
    except TimeoutError:
        process.kill()
        await process.wait()
        return False
