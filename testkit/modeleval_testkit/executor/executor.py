"""The executor: kubelet + Deployment, ReplicaSet and Job controllers for one node, over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import shutil
import signal as signals
import threading
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from .client import (
    DEPLOYMENTS,
    JOBS,
    NODES,
    PODS,
    PVCS,
    REPLICASETS,
    SERVICE_ACCOUNTS,
    SERVICES,
    ApiError,
    JsonDict,
    KubeClient,
)
from .config import ExecutorConfig
from .controllers import PodView, WorkQueue, controller_uid
from .deployments import DeploymentController
from .engine import remove_containers
from .informer import Informer, key_of
from .jobs import JobController
from .kubelet import KubeletContext, PodRuntime
from .podstatus import Eviction, low_on_memory
from .replicasets import ReplicaSetController
from .scheduler import Node
from .services import ServiceRouter, labels_match
from .volumes import NotReady

log = logging.getLogger(__name__)

SSL_SHUTDOWN_SECONDS = 0.3

TokenMinter = Callable[[str, str], str | Awaitable[str]]
"""``(namespace, serviceAccountName)`` -> a bearer token for that ServiceAccount."""


class Executor:
    """Plays kubelet, scheduler, Deployment and Job controllers and kube-proxy on loopback.

    Use ``async with Executor(...)`` inside an event loop, or ``with Executor(...)`` to run it
    in a background thread. ``token`` must be allowed to do everything (a superuser).
    ``token_minter`` mints ServiceAccount tokens for pods; without it the TokenRequest API
    (``serviceaccounts/<name>/token``) is used, as the kubelet does. ``ca_file`` verifies an
    HTTPS API server (and goes into the pods' kubeconfig).
    """

    def __init__(
        self,
        api_url: str,
        token: str | None,
        config: ExecutorConfig | None = None,
        *,
        token_minter: TokenMinter | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.config = config or ExecutorConfig()
        self.client = KubeClient(self.api_url, token, ca_file=ca_file)
        self.work_dir: Path = self.config.resolve_work_dir()
        self.node = Node(
            self.config.node_name,
            self.config.gpu_capacity,
            {
                "kubernetes.io/hostname": self.config.node_name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                **self.config.node_labels,
            },
        )
        self.router = ServiceRouter(self._backends)
        self._token_minter = token_minter
        self._runtimes: dict[str, PodRuntime] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._http: aiohttp.ClientSession | None = None
        self._informers: list[Informer] = []
        self._queues: list[WorkQueue] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.executor_id = uuid.uuid4().hex[:12]
        """Labels the real containers this executor starts (``container_images``)."""

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        await self.client.open()
        self._http = aiohttp.ClientSession()
        with contextlib.suppress(ApiError):
            await self.client.create(NODES, self.node.to_object())
        self._context = KubeletContext(
            client=self.client,
            config=self.config,
            node=self.node,
            tokens=self._mint,
            api_url=self.api_url,
            work_dir=self.work_dir,
            url_filter=self.router.rewrite_text,
            http=self._http,
            executor_id=self.executor_id,
        )
        self.pods = Informer(self.client, PODS, self._on_pod)
        view = PodView(self.pods.cache)
        self.deployments = Informer(self.client, DEPLOYMENTS, self._on_deployment)
        self.jobs = Informer(self.client, JOBS, self._on_job)
        self.replicasets = Informer(self.client, REPLICASETS, self._on_replicaset)
        services = Informer(self.client, SERVICES, self.router.on_service)
        claims = Informer(self.client, PVCS, self._on_claim)
        deployment_controller = DeploymentController(
            self.client, self.deployments.cache, self.replicasets.cache, view
        )
        replicaset_controller = ReplicaSetController(self.client, self.replicasets.cache, view)
        job_controller = JobController(self.client, self.jobs.cache, view, self.config)
        self._deployment_queue = WorkQueue("deployments", deployment_controller.reconcile)
        self._job_queue = WorkQueue("jobs", job_controller.reconcile)
        self._replicaset_queue = WorkQueue("replicasets", replicaset_controller.reconcile)
        self._queues = [self._deployment_queue, self._replicaset_queue, self._job_queue]
        self._informers = [
            services,
            claims,
            self.pods,
            self.replicasets,
            self.deployments,
            self.jobs,
        ]
        for informer in self._informers:
            informer.start()
            await asyncio.wait_for(informer.synced.wait(), 30)
        for queue in self._queues:
            queue.start()

    async def stop(self) -> None:
        for informer in reversed(self._informers):
            await informer.stop()
        for queue in self._queues:
            await queue.stop()
        await asyncio.gather(*(rt.stop() for rt in list(self._runtimes.values())))
        self._runtimes.clear()
        if self.config.container_images and shutil.which(self.config.docker):
            await asyncio.to_thread(remove_containers, self.config.docker, self.executor_id)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.router.close()
        if self._http is not None:
            await self._http.close()
        await self.client.close()
        # Watch connections closed mid-stream finish their TLS shutdown in the background;
        # give them a moment so no socket outlives the loop.
        await asyncio.sleep(SSL_SHUTDOWN_SECONDS)

    async def __aenter__(self) -> Executor:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def __enter__(self) -> Executor:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="executor", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.start(), loop).result(timeout=60)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=60)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()
            self._loop = self._thread = None

    # -- for tests and the demo -------------------------------------------------------------

    def runtime(self, name: str, namespace: str = "default") -> PodRuntime | None:
        """The local runtime of a pod, if the executor runs it."""
        for runtime in list(self._runtimes.values()):
            if runtime.name == name and runtime.namespace == namespace:
                return runtime
        return None

    def kill_pod(
        self,
        name: str,
        namespace: str = "default",
        signal: int = signals.SIGKILL,
        *,
        container: str | None = None,
    ) -> bool:
        """Send ``signal`` to a pod's container processes (default: SIGKILL, like an OOM or a
        node failure). The kubelet then reports the exit as a real one; a Job retries."""
        runtime = self.runtime(name, namespace)
        return runtime is not None and runtime.kill(signal, container)

    def evict_pod(
        self,
        name: str,
        namespace: str = "default",
        *,
        message: str | None = None,
        status_reason: bool = True,
        placeholder: bool = True,
    ) -> bool:
        """Evict a running pod as the kubelet does under memory pressure (see
        `PodRuntime.evict`); ``False`` when the executor does not run it. ``status_reason=False``
        leaves ``status.reason`` empty (only ``DisruptionTarget`` tells), ``placeholder=False``
        keeps the killed containers' own exit (137, ``Error``)."""
        runtime = self.runtime(name, namespace)
        if runtime is None or self._loop is None:
            return False
        first = runtime.view.containers[0].name if runtime.view.containers else name
        eviction = Eviction(
            message or low_on_memory(first), status_reason=status_reason, placeholder=placeholder
        )
        asyncio.run_coroutine_threadsafe(runtime.evict(eviction), self._loop).result(timeout=30)
        return True

    def log_path(
        self, name: str, namespace: str = "default", container: str | None = None
    ) -> Path | None:
        runtime = self.runtime(name, namespace)
        if runtime is None:
            return None
        return runtime.log_path(container or next(iter(runtime.specs)))

    def pod_log(
        self,
        name: str,
        namespace: str = "default",
        container: str | None = None,
        *,
        previous: bool = False,
    ) -> str:
        """stdout+stderr of a pod's container (``kubectl logs [--previous]``)."""
        runtime = self.runtime(name, namespace)
        if runtime is None:
            raise KeyError(f"pod {namespace}/{name} is not run by this executor")
        path = runtime.log_path(container or next(iter(runtime.specs)), previous=previous)
        return path.read_text(errors="replace") if path.exists() else ""

    def resolve_url(self, url: str) -> str:
        """Where an in-cluster Service URL points on this machine (unchanged if unknown)."""
        return self.router.resolve_url(url)

    def pvc_path(self, claim: str, namespace: str = "default") -> Path:
        """The local directory that backs a PersistentVolumeClaim."""
        return self.work_dir / "pvc" / namespace / claim

    # -- event handlers ---------------------------------------------------------------------

    async def _on_pod(self, kind: str, pod: JsonDict) -> None:
        meta, spec = pod["metadata"], pod.get("spec") or {}
        self._enqueue_owner(pod)
        node = spec.get("nodeName")
        if node and node != self.node.name:
            return
        uid = meta["uid"]
        runtime = self._runtimes.get(uid)
        if kind == "DELETED":
            if runtime is not None:
                del self._runtimes[uid]
                self._spawn(runtime.stop())
            return
        if meta.get("deletionTimestamp"):
            if runtime is None or not runtime.stopping:
                self._spawn(self._finalize_deletion(pod, runtime))
            return
        if runtime is not None:
            runtime.pod = pod
            return
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return
        runtime = PodRuntime(self._context, pod)
        self._runtimes[uid] = runtime
        runtime.start()

    async def _finalize_deletion(self, pod: JsonDict, runtime: PodRuntime | None) -> None:
        """Graceful deletion: stop the containers, then remove the object (grace period 0)."""
        if runtime is not None:
            await runtime.stop()
        meta = pod["metadata"]
        with contextlib.suppress(ApiError):
            await self.client.delete(PODS, meta["name"], meta["namespace"], grace_period=0)

    async def _on_deployment(self, kind: str, deployment: JsonDict) -> None:
        if kind == "DELETED":
            await self._collect_orphans(deployment)
        else:
            self._deployment_queue.add(key_of(deployment))

    async def _on_replicaset(self, kind: str, replicaset: JsonDict) -> None:
        self._enqueue_owner(replicaset)
        if kind == "DELETED":
            await self._collect_orphans(replicaset)
        else:
            self._replicaset_queue.add(key_of(replicaset))

    async def _on_job(self, kind: str, job: JsonDict) -> None:
        if kind == "DELETED":
            await self._collect_orphans(job)
        else:
            self._job_queue.add(key_of(job))

    async def _on_claim(self, kind: str, claim: JsonDict) -> None:
        """Bind every claim at once (a local directory is its volume), as an ``Immediate``
        storage class with a provisioner would."""
        meta, spec = claim["metadata"], claim.get("spec") or {}
        if kind == "DELETED" or meta.get("deletionTimestamp"):
            return
        if (claim.get("status") or {}).get("phase") == "Bound":
            return
        storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        status = {
            "phase": "Bound",
            "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
            "capacity": {"storage": storage},
        }
        with contextlib.suppress(ApiError):
            await self.client.patch(
                PVCS, meta["name"], meta["namespace"], {"status": status}, sub="status"
            )

    async def _collect_orphans(self, owner: JsonDict) -> None:
        """Garbage-collect what a deleted controller owned (if the API server did not)."""
        uid = owner["metadata"]["uid"]
        for resource, cache in ((REPLICASETS, self.replicasets.cache), (PODS, self.pods.cache)):
            for child in list(cache.values()):
                if controller_uid(child) == uid:
                    meta = child["metadata"]
                    with contextlib.suppress(ApiError):
                        await self.client.delete(resource, meta["name"], meta["namespace"])

    def _enqueue_owner(self, obj: JsonDict) -> None:
        """Reconcile the controller of ``obj`` (and a pod's Deployment, via its ReplicaSet)."""
        namespace = obj["metadata"]["namespace"]
        for ref in obj["metadata"].get("ownerReferences") or []:
            if not ref.get("controller"):
                continue
            key = (namespace, ref["name"])
            if ref.get("kind") == "Deployment":
                self._deployment_queue.add(key)
            elif ref.get("kind") == "Job":
                self._job_queue.add(key)
            elif ref.get("kind") == "ReplicaSet":
                self._replicaset_queue.add(key)
                replicaset = self.replicasets.cache.get(key)
                if replicaset is not None:
                    self._enqueue_owner(replicaset)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- collaborators ----------------------------------------------------------------------

    def _backends(self, namespace: str, selector: dict[str, str], target: Any) -> list[int]:
        ports = []
        for runtime in list(self._runtimes.values()):
            labels = runtime.pod["metadata"].get("labels") or {}
            if runtime.namespace == namespace and runtime.ready and labels_match(selector, labels):
                port = runtime.local_port(target)
                if port is not None:
                    ports.append(port)
        return ports

    async def _mint(self, namespace: str, account: str, audience: str | None = None) -> str:
        # Admission rejects pods of a missing ServiceAccount; here the pod waits for it. The
        # "default" one exists in every namespace of a cluster: play the controller that
        # creates it.
        if not await self.client.get(SERVICE_ACCOUNTS, account, namespace):
            if account != "default":
                raise NotReady("ContainerCreating", f'serviceaccount "{account}" not found')
            body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account}}
            with contextlib.suppress(ApiError):
                await self.client.create(SERVICE_ACCOUNTS, body, namespace)
        if self._token_minter is not None and audience is None:
            token = self._token_minter(namespace, account)
            return await token if inspect.isawaitable(token) else token
        spec: dict[str, Any] = {"expirationSeconds": 3600}
        if audience:  # as the kubelet does for a projected token with an audience
            spec["audiences"] = [audience]
        request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
        path = SERVICE_ACCOUNTS.path(namespace, account, "token")
        response = await self.client.request("POST", path, body=request)
        return str(response["status"]["token"])
