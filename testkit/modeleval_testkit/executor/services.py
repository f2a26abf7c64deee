"""Cluster DNS + kube-proxy for local processes.

Every Service port gets a loopback TCP proxy (its "cluster IP"); a connection is forwarded to
a ready pod behind the Service at connect time, round-robin, so rollouts and restarts behind
a Service are as invisible to clients as in a cluster. URLs such as
``http://<svc>.<ns>.svc.cluster.local:8000/v1`` in env values, args and mounted files are
rewritten to ``http://127.0.0.1:<proxy port>/v1``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections.abc import Callable
from typing import Any

from .client import JsonDict

log = logging.getLogger(__name__)

SERVICE_URL = re.compile(
    r"(?P<scheme>https?)://"
    r"(?P<svc>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.(?P<ns>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)"
    r"\.svc(?:\.cluster\.local)?(?::(?P<port>[0-9]+))?(?![-\w.])"
)

Backends = Callable[[str, dict[str, str], Any], list[int]]
"""``(namespace, selector, targetPort)`` -> local ports of the ready pods behind a Service."""


class _PortProxy:
    def __init__(self, namespace: str, selector: dict[str, str], target: Any, backends: Backends):
        self.namespace = namespace
        self.selector = selector
        self.target = target
        self._backends = backends
        self._turn = itertools.count()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._forward(reader, writer)
        finally:
            self._connections.discard(task)
            writer.close()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ports = self._backends(self.namespace, self.selector, self.target)
        if not ports:
            return  # no ready endpoint: the connection is dropped
        port = ports[next(self._turn) % len(ports)]
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


class ServiceRouter:
    """Proxies for every Service port, and the URL rewriting that points clients at them."""

    def __init__(self, backends: Backends) -> None:
        self._backends = backends
        self._proxies: dict[tuple[str, str], dict[int, _PortProxy]] = {}

    async def on_service(self, kind: str, service: JsonDict) -> None:
        meta, spec = service["metadata"], service.get("spec") or {}
        key = (meta["namespace"], meta["name"])
        old = self._proxies.pop(key, {})
        selector = spec.get("selector") or {}
        if kind == "DELETED" or not selector:
            await asyncio.gather(*(proxy.close() for proxy in old.values()))
            return
        fresh: dict[int, _PortProxy] = {}
        for port in spec.get("ports") or []:
            number = int(port["port"])
            target = port.get("targetPort", number)
            proxy = old.pop(number, None)
            if proxy is None:
                proxy = _PortProxy(key[0], selector, target, self._backends)
                await proxy.start()
            proxy.selector, proxy.target = selector, target
            fresh[number] = proxy
        await asyncio.gather(*(proxy.close() for proxy in old.values()))
        self._proxies[key] = fresh

    async def close(self) -> None:
        proxies = [p for ports in self._proxies.values() for p in ports.values()]
        self._proxies.clear()
        await asyncio.gather(*(proxy.close() for proxy in proxies))

    def resolve_url(self, url: str) -> str:
        """``http://svc.ns.svc[.cluster.local][:port]...`` -> ``http://127.0.0.1:<p>...``.

        Text that names no known Service port is returned unchanged (as DNS would fail).
        """
        return SERVICE_URL.sub(self._replace, url)

    rewrite_text = resolve_url

    def _replace(self, match: re.Match[str]) -> str:
        scheme = match["scheme"]
        ports = self._proxies.get((match["ns"], match["svc"]))
        if not ports:
            return match[0]
        number = int(match["port"]) if match["port"] else (443 if scheme == "https" else 80)
        proxy = ports.get(number)
        if proxy is None:
            return match[0]
        return f"{scheme}://127.0.0.1:{proxy.port}"


def labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())
