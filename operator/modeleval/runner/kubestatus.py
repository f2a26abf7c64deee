"""Status sinks that merge-patch the EvalTask's ``status`` subresource.

Connection settings follow ``kubernetes.config.load_config()``: ``KUBECONFIG`` (or
``~/.kube/config``) when present, else the in-cluster service account.

``HttpStatusSink`` speaks HTTP itself with aiohttp (already loaded for the request path), so
the heavy ``kubernetes`` client is never imported in the common cases: in-cluster tokens,
kubeconfigs with a token or client certificates. Kubeconfigs that need an ``exec`` or
``auth-provider`` plugin get ``KubeClientStatusSink``, which uses the official client in a
worker thread.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeleval.constants import EVAL_TASK_PLURAL, GROUP, VERSION
from modeleval.redact import mask_data

if TYPE_CHECKING:
    import aiohttp

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True, slots=True)
class KubeConnection:
    server: str
    token: str | None = None
    token_file: str | None = None
    """Re-read on each call: projected service-account tokens rotate."""
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False

    def bearer(self) -> str | None:
        if self.token_file:
            return Path(self.token_file).read_text().strip()
        return self.token

    def ssl_context(self) -> ssl.SSLContext | bool:
        if not self.server.startswith("https"):
            return True
        if self.insecure:
            return False
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file and self.key_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context


class UnsupportedKubeconfig(Exception):
    """The kubeconfig needs a plugin (exec / auth-provider): use the official client."""


def status_path(namespace: str, name: str) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{EVAL_TASK_PLURAL}/{name}/status"


class HttpStatusSink:
    """Async sink: one merge patch per call over aiohttp."""

    def __init__(self, connection: KubeConnection, *, name: str, namespace: str) -> None:
        self.connection = connection
        self.url = connection.server.rstrip("/") + status_path(namespace, name)
        self._session: aiohttp.ClientSession | None = None

    async def patch_status(self, patch: dict[str, Any]) -> None:
        if self._session is None:
            import aiohttp  # imported when a status is first patched, not by every phase

            connector = aiohttp.TCPConnector(limit=1, ssl=self.connection.ssl_context())
            timeout = aiohttp.ClientTimeout(total=15)
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        headers = {"Content-Type": "application/merge-patch+json"}
        token = self.connection.bearer()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = {"status": mask_data(patch)}
        async with self._session.patch(self.url, json=body, headers=headers) as resp:
            if resp.status >= 400:
                text = (await resp.text())[:300]
                raise RuntimeError(f"PATCH {self.url}: HTTP {resp.status}: {text}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class KubeClientStatusSink:
    """Blocking sink using the official client (imported on first use, in the worker thread)."""

    def __init__(self, *, name: str, namespace: str) -> None:
        self.name = name
        self.namespace = namespace
        self._api: Any = None
        self._lock = threading.Lock()

    def patch_status(self, patch: dict[str, Any]) -> None:
        with self._lock:
            if self._api is None:
                from kubernetes import client, config

                config.load_config()  # type: ignore[no-untyped-call]
                self._api = client.CustomObjectsApi()
        self._api.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            self.namespace,
            EVAL_TASK_PLURAL,
            self.name,
            {"status": mask_data(patch)},
        )


def sink_from_env(
    name: str | None, namespace: str | None
) -> HttpStatusSink | KubeClientStatusSink | None:
    """A sink when the task is known and Kubernetes credentials exist, else None."""
    if not name or not namespace:
        return None
    kubeconfig = (os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")).split(
        os.pathsep
    )[0]
    if os.path.exists(kubeconfig):
        try:
            connection = connection_from_kubeconfig(Path(kubeconfig))
        except UnsupportedKubeconfig:
            return KubeClientStatusSink(name=name, namespace=namespace)
        return HttpStatusSink(connection, name=name, namespace=namespace)
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return HttpStatusSink(in_cluster_connection(), name=name, namespace=namespace)
    return None


def in_cluster_connection() -> KubeConnection:
    host = os.environ["KUBERNETES_SERVICE_HOST"]
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if ":" in host:
        host = f"[{host}]"
    return KubeConnection(
        server=f"https://{host}:{port}",
        token_file=str(SERVICE_ACCOUNT_DIR / "token"),
        ca_file=str(SERVICE_ACCOUNT_DIR / "ca.crt"),
    )


def connection_from_kubeconfig(path: Path) -> KubeConnection:
    """The current context's server and credentials."""
    text = path.read_text()
    try:
        config = json.loads(text)  # JSON is valid YAML; skip the YAML import when it is JSON
    except ValueError:
        import yaml

        config = yaml.safe_load(text) or {}
    contexts = {c["name"]: c.get("context", {}) for c in config.get("contexts") or []}
    context = contexts.get(config.get("current-context", ""), {})
    clusters = {c["name"]: c.get("cluster", {}) for c in config.get("clusters") or []}
    users = {u["name"]: u.get("user") or {} for u in config.get("users") or []}
    cluster = clusters.get(context.get("cluster", ""))
    if not cluster or "server" not in cluster:
        raise UnsupportedKubeconfig(f"{path}: no cluster for the current context")
    user = users.get(context.get("user", ""), {})
    if "exec" in user or "auth-provider" in user:
        raise UnsupportedKubeconfig(f"{path}: credential plugins need the kubernetes client")
    base = path.parent
    return KubeConnection(
        server=cluster["server"],
        token=user.get("token"),
        token_file=_path(user.get("tokenFile"), base),
        ca_file=_file(cluster, "certificate-authority", base),
        cert_file=_file(user, "client-certificate", base),
        key_file=_file(user, "client-key", base),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
    )


def _path(value: str | None, base: Path) -> str | None:
    return None if not value else str(base / value)


def _file(section: dict[str, Any], key: str, base: Path) -> str | None:
    """A file path for ``key`` or ``key-data`` (base64 content written to a private file)."""
    data = section.get(f"{key}-data")
    if data:
        fd, name = tempfile.mkstemp(prefix="modeleval-kube-", suffix=".pem")
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64decode(data))
        return name
    return _path(section.get(key), base)
