"""The kubelet's probe loops for one running container: startup, readiness, liveness."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from .client import JsonDict
from .launch import Launch
from .podstatus import ContainerState
from .probes import ProbeTiming, run_probe
from .process import Container

EventSink = Callable[..., Awaitable[None]]


class Prober:
    """Runs a container's probes; flips ``ready``/``started`` and kills on failure."""

    def __init__(
        self,
        *,
        http: aiohttp.ClientSession,
        scale: Callable[[float], float],
        grace: float,
        write_status: Callable[[], Awaitable[None]],
        event: EventSink,
    ) -> None:
        self.http = http
        self.scale = scale
        self.grace = grace
        self.write_status = write_status
        self.event = event

    async def run(
        self, state: ContainerState, spec: JsonDict, process: Container, launch: Launch
    ) -> None:
        """Startup probe first; then readiness and liveness, until the process ends."""

        def ports(ref: Any) -> int | None:
            return launch.ports.get(int(ref) if str(ref).isdigit() else ref)

        async def attempt(probe: JsonDict) -> bool:
            return await run_probe(
                probe, ports=ports, session=self.http, env=launch.env, prefix=launch.exec_prefix
            )

        scale, grace = self.scale, self.grace
        if startup := spec.get("startupProbe"):
            timing = ProbeTiming.of(startup, scale)
            await asyncio.sleep(timing.initial_delay)
            failures = 0
            while not await attempt(startup):
                failures += 1
                if failures >= timing.failure_threshold:
                    await self.event(
                        "Unhealthy",
                        f"Startup probe failed; container {state.name} will be restarted",
                        warning=True,
                    )
                    await process.terminate(grace)
                    return
                await asyncio.sleep(timing.period)
            state.started = True
            await self.write_status()
        await asyncio.gather(
            self._readiness(state, spec.get("readinessProbe"), attempt, scale),
            self._liveness(spec.get("livenessProbe"), attempt, scale, process, grace),
        )

    async def _readiness(
        self,
        state: ContainerState,
        probe: JsonDict | None,
        attempt: Callable[[JsonDict], Awaitable[bool]],
        scale: Callable[[float], float],
    ) -> None:
        if probe is None:
            state.ready = True
            await self.write_status()
            return
        timing = ProbeTiming.of(probe, scale)
        await asyncio.sleep(timing.initial_delay)
        successes = failures = 0
        while True:
            if await attempt(probe):
                successes, failures = successes + 1, 0
                flip = not state.ready and successes >= timing.success_threshold
            else:
                successes, failures = 0, failures + 1
                flip = state.ready and failures >= timing.failure_threshold
            if flip:
                state.ready = not state.ready
                if not state.ready:
                    await self.event("Unhealthy", "Readiness probe failed", warning=True)
                await self.write_status()
            await asyncio.sleep(timing.period)

    async def _liveness(
        self,
        probe: JsonDict | None,
        attempt: Callable[[JsonDict], Awaitable[bool]],
        scale: Callable[[float], float],
        process: Container,
        grace: float,
    ) -> None:
        if probe is None:
            return
        timing = ProbeTiming.of(probe, scale)
        await asyncio.sleep(timing.initial_delay)
        failures = 0
        while True:
            failures = 0 if await attempt(probe) else failures + 1
            if failures >= timing.failure_threshold:
                message = "Liveness probe failed; the container will be restarted"
                await self.event("Unhealthy", message, warning=True)
                await process.terminate(grace)
                return
            await asyncio.sleep(timing.period)
