"""The kubelet role: run one pod's containers as local processes and report its status."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from .client import PODS, PVCS, ApiError, JsonDict, KubeClient
from .config import ExecutorConfig
from .engine import EngineContainer
from .events import record_event
from .launch import Launch, Launcher
from .podstatus import ContainerState, Eviction, PodView, go_duration, now, qos_class
from .probing import Prober
from .process import Container, ContainerProcess, Exit
from .scheduler import Node
from .volumes import NotReady, TokenSource, VolumeBuilder

log = logging.getLogger(__name__)

RETRY_SECONDS = 0.5
"""How often a pod waiting for a missing ConfigMap/Secret/token is retried (unscaled)."""


@dataclass
class KubeletContext:
    """What every pod runtime shares."""

    client: KubeClient
    config: ExecutorConfig
    node: Node
    tokens: TokenSource
    api_url: str
    work_dir: Path
    url_filter: Callable[[str], str]
    http: aiohttp.ClientSession
    executor_id: str = ""
    """Labels the engine's containers of this executor (see ``ExecutorConfig.container_images``)."""


class PodRuntime:
    """One pod on the local node, from scheduling to its last container exit."""

    def __init__(self, ctx: KubeletContext, pod: JsonDict) -> None:
        self.ctx = ctx
        self.pod = pod
        meta, spec = pod["metadata"], pod.get("spec") or {}
        self.name, self.namespace, self.uid = meta["name"], meta["namespace"], meta["uid"]
        self.specs = {c["name"]: c for c in spec.get("containers", [])}
        self.init_specs = {c["name"]: c for c in spec.get("initContainers") or []}
        self.view = PodView(
            containers=[ContainerState(c["name"], c.get("image", "")) for c in self.specs.values()],
            restart_policy=spec.get("restartPolicy", "Always"),
            qos_class=qos_class(spec),
            init_containers=[
                ContainerState(c["name"], c.get("image", "")) for c in self.init_specs.values()
            ],
        )
        self.root: Path = (
            ctx.work_dir / "pods" / str(self.namespace) / f"{self.name}-{self.uid[:8]}"
        )
        self.processes: dict[str, Container] = {}
        self.ports: dict[str, dict[Any, int]] = {}
        self.stopping = False
        self.finished = asyncio.Event()
        self._launcher: Launcher | None = None
        self._status_lock = asyncio.Lock()
        self._last_status: JsonDict | None = None
        self._task: asyncio.Task[None] | None = None

    # -- public -----------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"pod-{self.namespace}/{self.name}")

    async def stop(self, grace: float | None = None) -> None:
        """Stop every container (SIGTERM, SIGKILL after the grace period) and the runtime."""
        self.stopping = True
        grace = self.grace if grace is None else grace
        await asyncio.gather(*(p.terminate(grace) for p in list(self.processes.values())))
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.ctx.node.release(self.uid)
        self.finished.set()

    async def evict(self, eviction: Eviction) -> None:
        """End the pod as the eviction manager does on a hard threshold: an ``Evicted``
        event, every container killed at once (grace period 0), then phase ``Failed`` with
        ``DisruptionTarget``. The pod object stays; its controller replaces it."""
        self.view.eviction = eviction
        await self.event("Evicted", eviction.message, warning=True)
        self.stopping = True
        for process in list(self.processes.values()):
            process.kill_group(signal.SIGKILL)
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=5)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if eviction.placeholder:
            for state in self.view.containers:
                state.unknown()
        await self.write_status()
        self.ctx.node.release(self.uid)
        self.finished.set()

    def kill(self, sig: int, container: str | None = None) -> bool:
        """Send ``sig`` to the container processes; ``False`` when none is running."""
        targets = [p for n, p in self.processes.items() if container in (None, n)]
        return any([p.kill_group(sig) for p in targets])

    def log_path(self, container: str, *, previous: bool = False) -> Path:
        return (
            self.root / "logs" / (f"{container}.previous.log" if previous else f"{container}.log")
        )

    @property
    def grace(self) -> float:
        """Seconds between SIGTERM and SIGKILL (``terminationGracePeriodSeconds``, capped)."""
        seconds = float((self.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
        return min(seconds, self.ctx.config.termination_grace_cap)

    @property
    def ready(self) -> bool:
        return not self.stopping and all(c.ready for c in self.view.containers)

    def local_port(self, target: Any) -> int | None:
        """The local port behind a Service ``targetPort`` (number or name)."""
        key = int(target) if str(target).isdigit() else target
        for ports in self.ports.values():
            if key in ports:
                return ports[key]
        if isinstance(key, int) and self.ports:
            return next(iter(self.ports.values()))["{port}"]
        return None

    # -- lifecycle --------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._schedule()
            await self._prepare()
            await self._pull_images()
            if not await self._initialize():
                await self.write_status()
                return
            self.view.initialized = True
            await asyncio.gather(*(self._supervise(c) for c in self.view.containers))
            await self.write_status()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("pod %s/%s: kubelet error", self.namespace, self.name)
        finally:
            if self.view.phase() in ("Succeeded", "Failed"):
                self.ctx.node.release(self.uid)
            self.finished.set()

    async def _schedule(self) -> None:
        node = self.ctx.node
        while reason := await self._missing_claim() or node.unschedulable_reason(self.pod):
            if reason != self.view.unschedulable_message:
                await self.event("FailedScheduling", reason, warning=True, by="default-scheduler")
            self.view.unschedulable_message = reason
            await self.write_status()
            await node.wait_for_change(1.0)
        node.bind(self.uid, self.pod)
        self.view.scheduled, self.view.unschedulable_message = True, ""
        self.view.start_time = now()
        where = f"Successfully assigned {self.namespace}/{self.name} to {node.name}"
        await self.event("Scheduled", where, by="default-scheduler")
        if (self.pod.get("spec") or {}).get("nodeName") != node.name:
            with contextlib.suppress(ApiError):
                body = {"spec": {"nodeName": node.name}}
                await self.ctx.client.patch(PODS, self.name, self.namespace, body)
        await self.write_status()

    async def _missing_claim(self) -> str:
        """The scheduler's volume check: every PersistentVolumeClaim must exist."""
        for volume in (self.pod.get("spec") or {}).get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim and await self.ctx.client.get(PVCS, claim, self.namespace) is None:
                return f'0/1 nodes are available: persistentvolumeclaim "{claim}" not found.'
        return ""

    async def _prepare(self) -> None:
        ctx = self.ctx
        while True:
            builder = VolumeBuilder(
                ctx.client,
                pod=self.pod,
                root=self.root,
                pvc_root=ctx.work_dir / "pvc",
                tokens=ctx.tokens,
                api_url=ctx.config.api_url_for_pods or ctx.api_url,
                text_filter=ctx.url_filter,
            )
            try:
                volumes = await builder.build_all()
                kubeconfig = None
                if "kube-api-access" in volumes:
                    kubeconfig = await builder.write_kubeconfig(self.root / "kubeconfig")
            except (NotReady, ApiError) as error:
                reason = error.reason if isinstance(error, NotReady) else "ContainerCreating"
                message = error.message if isinstance(error, NotReady) else str(error)
                for state in self.view.containers:
                    state.waiting(reason, message)
                await self.write_status()
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self._launcher = Launcher(
                ctx.client,
                ctx.config,
                pod=self.pod,
                root=self.root,
                volumes=volumes,
                kubeconfig=kubeconfig,
                url_filter=ctx.url_filter,
                api_url=ctx.config.api_url_for_pods or ctx.api_url,
                executor_id=ctx.executor_id,
            )
            return

    async def _pull_images(self) -> None:
        everything = [*self.view.init_containers, *self.view.containers]
        bad = [c for c in everything if self.ctx.config.is_unpullable(c.image)]
        attempt = 0
        while bad:
            for c in bad:
                c.waiting(
                    "ErrImagePull",
                    f'failed to pull and unpack image "{c.image}": failed to resolve reference '
                    f'"{c.image}": not found',
                )
                message = f'Failed to pull image "{c.image}": {c.state["waiting"]["message"]}'
                await self.event("Failed", message, warning=True)
            await self.write_status()
            await asyncio.sleep(self.ctx.config.scaled(2))
            for c in bad:
                c.waiting("ImagePullBackOff", f'Back-off pulling image "{c.image}"')
            await self.write_status()
            await asyncio.sleep(self.ctx.config.scaled(min(300, 10 * 2**attempt)))
            attempt += 1

    async def _initialize(self) -> bool:
        """Run the init containers in order; ``False`` when the pod cannot go on."""
        for state in self.view.init_containers:
            if not await self._supervise(state, init=True):
                return False
            state.ready = True
        return True

    async def _supervise(self, state: ContainerState, *, init: bool = False) -> bool:
        """Run one container, restarting it as ``restartPolicy`` says (init containers: until
        it succeeds, unless ``Never``); ``True`` when its last run succeeded."""
        spec = (self.init_specs if init else self.specs)[state.name]
        assert self._launcher is not None
        ports = self.ports.setdefault(state.name, self._launcher.ports_for(spec))
        backoff = 0
        while not self.stopping:
            try:
                launch = await self._launcher.launch(spec, ports, restart=state.restart_count)
            except NotReady as error:
                state.waiting(error.reason, error.message)
                await self.write_status()
                await asyncio.sleep(RETRY_SECONDS)
                continue
            began = time.monotonic()
            exit = await self._run_container(state, spec, launch, probe=not init)
            info = state.terminated(exit.exit_code, exit.reason, exit.message)
            policy, failed = self.view.restart_policy, exit.exit_code != 0
            restart = policy == "Always" or (policy == "OnFailure" and failed)
            if init:
                restart = failed and policy != "Never"
            if self.stopping or not restart:
                await self.write_status()
                return not failed
            state.last_state = {"terminated": info}
            state.restart_count += 1
            if time.monotonic() - began > self.ctx.config.scaled(600):
                backoff = 0
            delay = min(300, 10 * 2**backoff)
            backoff += 1
            await self.event(
                "BackOff",
                f"Back-off restarting failed container {state.name} in pod {self.name}",
                warning=True,
            )
            state.waiting(
                "CrashLoopBackOff",
                f"back-off {go_duration(delay)} restarting failed container={state.name} "
                f"pod={self.name}_{self.namespace}({self.uid})",
            )
            await self.write_status()
            await asyncio.sleep(self.ctx.config.scaled(delay))
        return False

    async def _run_container(
        self, state: ContainerState, spec: JsonDict, launch: Launch, *, probe: bool = True
    ) -> Exit:
        log_path = self.log_path(state.name)
        if state.restart_count and log_path.exists():
            log_path.replace(self.log_path(state.name, previous=True))
        memory = launch.memory_limit if self.ctx.config.enforce_memory_limits else None
        process: Container
        if launch.engine is not None:
            engine = launch.engine
            process = EngineContainer(
                engine.docker, engine.run_args, name=engine.name, env=launch.env, log_path=log_path
            )
            container_id = f"docker://{engine.name}"
        else:
            process = ContainerProcess(
                launch.argv, env=launch.env, cwd=launch.cwd, log_path=log_path, memory_limit=memory
            )
            container_id = ""
        failure = await process.start()
        if failure is not None:
            await self.event("Failed", f"Error: {failure.message}", warning=True)
            return failure
        await self.event("Started", f"Started container {state.name}")
        self.processes[state.name] = process
        container_id = container_id or f"local://{process.pid}"
        state.running(container_id, started="startupProbe" not in spec)
        await self.write_status()
        prober = Prober(
            http=self.ctx.http,
            scale=self.ctx.config.scaled,
            grace=self.grace,
            write_status=self.write_status,
            event=self.event,
        )
        probes = asyncio.create_task(
            prober.run(state, spec, process, launch) if probe else asyncio.sleep(0)
        )
        try:
            exit = await process.wait()
            message = termination_message(spec, launch, exit, log_path)
            return dataclasses.replace(exit, message=message) if message else exit
        finally:
            probes.cancel()
            await asyncio.gather(probes, return_exceptions=True)
            self.processes.pop(state.name, None)

    async def event(
        self, reason: str, message: str, *, warning: bool = False, by: str = "kubelet"
    ) -> None:
        await record_event(
            self.ctx.client,
            {"apiVersion": "v1", "kind": "Pod", "metadata": self.pod["metadata"]},
            reason,
            message,
            component=by,
            warning=warning,
            host=self.ctx.node.name,
        )

    # -- status -----------------------------------------------------------------------------

    async def write_status(self) -> None:
        async with self._status_lock:
            status = self.view.render()
            if status == self._last_status:
                return
            try:
                result = await self.ctx.client.patch(
                    PODS, self.name, self.namespace, {"status": status}, sub="status"
                )
            except (ApiError, aiohttp.ClientError) as error:
                log.warning("pod %s/%s: status write failed: %s", self.namespace, self.name, error)
                return
            if result is None:  # the pod is gone
                self.stopping = True
            self._last_status = status


def termination_message(spec: JsonDict, launch: Launch, exit: Exit, log_path: Path) -> str:
    """What the kubelet puts in ``state.terminated.message``: the termination message file
    (at most 4096 bytes), or with ``FallbackToLogsOnError`` the tail of a failed container's
    log (80 lines, 2048 bytes)."""
    written = launch.termination_log
    if written is not None and written.exists():
        text = written.read_bytes()[:4096].decode(errors="replace")
        if text.strip():
            return text
    fallback = spec.get("terminationMessagePolicy") == "FallbackToLogsOnError"
    if fallback and exit.exit_code != 0 and log_path.exists():
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-80:])
        return tail.encode()[-2048:].decode(errors="replace")
    return exit.message
