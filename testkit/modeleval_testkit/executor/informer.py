"""List + watch one resource type into a local cache and tell the controllers what changed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .client import ApiError, JsonDict, KubeClient, Resource

log = logging.getLogger(__name__)

Key = tuple[str, str]
"""``(namespace, name)`` of an object."""

Handler = Callable[[str, JsonDict], Awaitable[None] | None]


def key_of(obj: JsonDict) -> Key:
    meta = obj["metadata"]
    return meta.get("namespace", ""), meta["name"]


class Informer:
    """Keeps ``cache`` equal to the server's objects of one resource, in all namespaces.

    Handlers get ``(event_type, object)`` for ``ADDED``/``MODIFIED``/``DELETED``; a relist
    replays the differences, so a missed watch event is never lost.
    """

    def __init__(self, client: KubeClient, resource: Resource, handler: Handler) -> None:
        self.client = client
        self.resource = resource
        self.handler = handler
        self.cache: dict[Key, JsonDict] = {}
        self.synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"informer-{self.resource.plural}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                version = await self._relist()
                self.synced.set()
                while True:
                    version = await self._watch(version)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the API may restart, or a watch may expire (410)
                log.debug("informer %s restarts: %s", self.resource.plural, error)
                await asyncio.sleep(0.5)

    async def _relist(self) -> str:
        listing = await self.client.list(self.resource)
        kind = str(listing.get("kind", "")).removesuffix("List")
        for item in listing.get("items", []):  # list items need not carry their kind
            item.setdefault("apiVersion", listing.get("apiVersion"))
            item.setdefault("kind", kind)
        fresh = {key_of(item): item for item in listing.get("items", [])}
        for key in list(self.cache):
            if key not in fresh:
                await self._dispatch("DELETED", self.cache.pop(key))
        for key, obj in fresh.items():
            kind = "MODIFIED" if key in self.cache else "ADDED"
            self.cache[key] = obj
            await self._dispatch(kind, obj)
        return str(listing.get("metadata", {}).get("resourceVersion", ""))

    async def _watch(self, version: str) -> str:
        async for kind, obj in self.client.watch(self.resource, resource_version=version):
            if kind == "ERROR":
                raise ApiError(int(obj.get("code", 500)), str(obj), method="WATCH", path="")
            version = str(obj.get("metadata", {}).get("resourceVersion", version))
            if kind == "BOOKMARK":
                continue
            key = key_of(obj)
            if kind == "DELETED":
                self.cache.pop(key, None)
            else:
                self.cache[key] = obj
            await self._dispatch(kind, obj)
        return version

    async def _dispatch(self, kind: str, obj: JsonDict) -> None:
        try:
            result = self.handler(kind, obj)
            if result is not None:
                await result
        except Exception:
            log.exception("handler for %s %s failed", kind, key_of(obj))
