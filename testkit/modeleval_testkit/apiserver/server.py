"""`ApiServer`: the emulator's state, HTTP server and Python API for seeding and inspection."""

from __future__ import annotations

import base64
import copy
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from modeleval_testkit.apiserver import deletion
from modeleval_testkit.apiserver.admission import ServiceResolver
from modeleval_testkit.apiserver.audit import RequestLog
from modeleval_testkit.apiserver.auth import TokenBook, service_account_user
from modeleval_testkit.apiserver.errors import ApiError
from modeleval_testkit.apiserver.handlers import Handler
from modeleval_testkit.apiserver.objects import Objects
from modeleval_testkit.apiserver.rbac import Authorizer
from modeleval_testkit.apiserver.resources import ResourceInfo
from modeleval_testkit.apiserver.store import Store
from modeleval_testkit.apiserver.tls import server_context
from modeleval_testkit.apiserver.writes import WriteLog

Obj = dict[str, Any]
Source = str | Path | Obj
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def load_documents(sources: Iterable[Source]) -> list[Obj]:
    """YAML documents from files, directories (``*.yaml``/``*.yml``/``*.json``) and dicts."""
    docs: list[Obj] = []
    for source in sources:
        if isinstance(source, dict):
            docs.append(source)
            continue
        path = Path(source)
        files = (
            sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
            if (path.is_dir())
            else [path]
        )
        for file in files:
            docs.extend(d for d in yaml.safe_load_all(file.read_text()) if isinstance(d, dict))
    expanded: list[Obj] = []
    for doc in docs:
        expanded.extend(doc.get("items") or [] if doc.get("kind", "").endswith("List") else [doc])
    return expanded


class ApiServer:
    """An in-process Kubernetes API server. Its Python methods must run on its event loop
    (or before `start`); from other threads use `modeleval_testkit.apiserver.run_in_thread`.
    """

    def __init__(
        self,
        *,
        crds: Iterable[Source] = (),
        namespaces: Iterable[str] = DEFAULT_NAMESPACES,
        watch_timeout: float = 1800.0,
        bookmark_interval: float = 10.0,
        history: int = 20_000,
        record_writes: bool = False,
    ) -> None:
        self.objects = Objects(Store(history))
        self.tokens = TokenBook()
        self.authorizer = Authorizer(self.objects.store)
        self.request_log = RequestLog()
        self.writes: WriteLog | None = WriteLog() if record_writes else None
        """Every distinct object clients wrote (``record_writes=True``), see `writes`."""
        self.errors: list[BaseException] = []
        self.pod_logs: dict[tuple[str, str], str] = {}
        self.service_resolver: ServiceResolver | None = None
        """Where admission webhooks named by ``clientConfig.service`` listen (see `admission`)."""
        self.watch_timeout = watch_timeout
        self.bookmark_interval = bookmark_interval
        self.admin_token = self.tokens.issue("admin", ["system:masters"])
        self.host, self.port = "127.0.0.1", 0
        self.tls = True
        self.ca_file: Path | None = None
        self._runner: web.AppRunner | None = None
        for namespace in namespaces:
            self.create_object(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            )
        self.load_crds(crds)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0, *, tls: bool = True) -> ApiServer:
        """Listen on ``host:port`` (0: any free port), over HTTPS unless ``tls=False``.

        kubectl only sends bearer tokens over HTTPS; over plain HTTP it is unauthenticated.
        """
        context = None
        self.tls = tls
        if tls:
            context, self.ca_file = server_context()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", Handler(self).handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=context)
        await site.start()
        self.host, self.port = host, int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        self.objects.store.close_watchers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def client_ssl_context(self) -> ssl.SSLContext | bool:
        """What HTTP clients should verify the server with (``verify=`` for httpx)."""
        if self.ca_file is None:
            return False
        return ssl.create_default_context(cafile=str(self.ca_file))

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # -- seeding and inspection ------------------------------------------------------------

    def info_for(self, api_version: str, kind: str) -> ResourceInfo:
        info = self.objects.registry.by_kind.get((api_version, kind))
        if info is None:
            raise ApiError(404, f"no kind {kind!r} is registered for {api_version!r}")
        return info

    def load_crds(self, sources: Iterable[Source]) -> list[Obj]:
        """Register CRDs from files, directories or dicts (replacing same-named ones)."""
        return [
            self.apply_object(doc)
            for doc in load_documents(sources)
            if doc.get("kind") == "CustomResourceDefinition"
        ]

    def load_manifests(self, sources: Iterable[Source]) -> list[Obj]:
        """Apply every document (CRDs first, then namespaces, then the rest)."""
        docs = load_documents(sources)
        order = {"CustomResourceDefinition": 0, "Namespace": 1}
        docs.sort(key=lambda d: order.get(d.get("kind", ""), 2))
        return [self.apply_object(doc) for doc in docs]

    def create_object(self, obj: Obj) -> Obj:
        """Create ``obj`` as a superuser would (same rules as POST); returns the stored copy."""
        info = self.info_for(obj.get("apiVersion", ""), obj.get("kind", ""))
        namespace = obj.get("metadata", {}).get("namespace", "default") if info.namespaced else ""
        return copy.deepcopy(self.objects.create(info, namespace, obj))

    def apply_object(self, obj: Obj) -> Obj:
        """Create ``obj``, or replace the spec-like content of the existing one."""
        info = self.info_for(obj.get("apiVersion", ""), obj.get("kind", ""))
        meta = obj.get("metadata", {})
        namespace = meta.get("namespace", "default") if info.namespaced else ""
        current = self.objects.store.get(info.key, namespace, meta.get("name", ""))
        if current is None:
            return self.create_object(obj)
        body = {
            **obj,
            "metadata": {
                **current["metadata"],
                **meta,
                "resourceVersion": current["metadata"]["resourceVersion"],
            },
        }
        return copy.deepcopy(self.objects.update(info, namespace, meta["name"], body))

    def get_object(self, api_version: str, kind: str, name: str, namespace: str = "") -> Obj | None:
        """A copy of the stored object, or None."""
        info = self.info_for(api_version, kind)
        obj = self.objects.store.get(info.key, namespace if info.namespaced else "", name)
        return copy.deepcopy(self.objects.present(info, obj)) if obj else None

    def list_objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[Obj]:
        info = self.info_for(api_version, kind)
        return copy.deepcopy(self.objects.list(info, namespace, None)["items"])

    def patch_object(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: Any,
        *,
        namespace: str = "",
        subresource: str = "",
        content_type: str = "application/merge-patch+json",
    ) -> Obj:
        info = self.info_for(api_version, kind)
        return copy.deepcopy(
            self.objects.patch(info, namespace, name, patch, content_type, subresource)
        )

    def delete_object(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str = "",
        propagation_policy: str = "Background",
    ) -> Obj:
        info = self.info_for(api_version, kind)
        return copy.deepcopy(
            deletion.delete(
                self.objects, info, namespace, name, {"propagationPolicy": propagation_policy}
            )
        )

    def set_pod_log(self, namespace: str, name: str, text: str) -> None:
        """What ``GET pods/<name>/log`` answers."""
        self.pod_logs[(namespace, name)] = text

    # -- identities ------------------------------------------------------------------------

    def issue_token(
        self,
        user: str,
        groups: Iterable[str] = (),
        *,
        uid: str = "",
        extra: dict[str, list[str]] | None = None,
    ) -> str:
        """A bearer token for ``user`` (``system:authenticated`` is always among its groups);
        ``uid`` and ``extra`` reach admission webhooks in ``userInfo``."""
        return self.tokens.issue(user, tuple(groups), uid=uid, extra=extra)

    def issue_service_account_token(
        self, namespace: str, name: str, audiences: Iterable[str] = ()
    ) -> str:
        """A bearer token for ``system:serviceaccount:<namespace>:<name>``; with
        ``audiences``, bound to those only (the API server then refuses it)."""
        return self.tokens.add(service_account_user(namespace, name), tuple(audiences))

    def write_kubeconfig(
        self, path: str | Path, token: str | None = None, namespace: str = "default"
    ) -> Path:
        """Write a kubeconfig for this server (``token`` defaults to the superuser's)."""
        cluster: Obj = {"server": self.url}
        if self.ca_file is not None:
            cluster["certificate-authority-data"] = base64.b64encode(
                self.ca_file.read_bytes()
            ).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": cluster}],
            "users": [{"name": "emulator-user", "user": {"token": token or self.admin_token}}],
            "contexts": [
                {
                    "name": "emulator",
                    "context": {
                        "cluster": "emulator",
                        "user": "emulator-user",
                        "namespace": namespace,
                    },
                }
            ],
            "current-context": "emulator",
        }
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(config, sort_keys=False))
        return target
