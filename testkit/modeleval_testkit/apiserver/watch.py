"""Watch streams: ``?watch=true`` answered as JSON lines of ``{"type", "object"}`` events.

Honours ``resourceVersion`` (replay from the kept history, or an ERROR event with a 410
Status when it is too old), ``timeoutSeconds``, label and field selectors (objects entering or
leaving the selection are ADDED / DELETED), ``allowWatchBookmarks`` (periodic BOOKMARK events)
and ``sendInitialEvents`` (the initial state, then a BOOKMARK marking its end). With
``Accept: …;as=Table`` each event carries a one-row Table.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from modeleval_testkit.apiserver.errors import ApiError
from modeleval_testkit.apiserver.objects import Objects
from modeleval_testkit.apiserver.resources import ResourceInfo
from modeleval_testkit.apiserver.selectors import Matcher
from modeleval_testkit.apiserver.store import Event, Gone, Watcher
from modeleval_testkit.apiserver.tables import table

Obj = dict[str, Any]


@dataclass(frozen=True)
class WatchOptions:
    """The query parameters of one watch request."""

    namespace: str | None
    matcher: Matcher | None
    resource_version: str = ""
    timeout: float = 1800.0
    bookmarks: bool = False
    initial_events: bool = False
    as_table: bool = False
    include_object: str = "Metadata"


def _since(options: WatchOptions) -> int | None:
    rv = options.resource_version
    if options.initial_events or rv in ("", "0"):
        return None
    if not rv.isdigit():
        raise ApiError(400, f"invalid resource version: {rv!r}")
    return int(rv)


async def stream(
    request: web.Request,
    objects: Objects,
    info: ResourceInfo,
    options: WatchOptions,
    bookmark_interval: float,
) -> web.StreamResponse:
    """Serve one watch request until its timeout, the client leaving or the server stopping."""
    store = objects.store
    watcher = Watcher(options.namespace, options.matcher)
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    try:
        replay = store.subscribe(info.key, watcher, _since(options))
    except Gone as exc:
        await response.prepare(request)
        status = ApiError(410, str(exc), reason="Expired").status()
        await response.write(json.dumps({"type": "ERROR", "object": status}).encode() + b"\n")
        return response
    first = [True]

    def encode(event_type: str, obj: Obj) -> bytes:
        if options.as_table and event_type != "BOOKMARK":
            obj = table(info, [obj], obj["metadata"]["resourceVersion"], options.include_object)
            if not first[0]:
                obj["columnDefinitions"] = []
            first[0] = False
        return json.dumps({"type": event_type, "object": obj}).encode() + b"\n"

    def bookmark(initial_end: bool = False) -> bytes:
        meta: Obj = {"resourceVersion": str(store.rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": info.kind, "apiVersion": info.api_version, "metadata": meta}
        return encode("BOOKMARK", obj)

    try:
        await response.prepare(request)
        for event in replay:
            await response.write(encode(event.type, objects.present(info, event.object)))
        if options.initial_events and options.bookmarks:
            await response.write(bookmark(initial_end=True))
        await _pump(response, watcher, options, bookmark_interval, encode, bookmark, objects, info)
    except ConnectionResetError:  # the client went away; cancellation propagates
        pass
    finally:
        store.unsubscribe(info.key, watcher)
    return response


async def _pump(
    response: web.StreamResponse,
    watcher: Watcher,
    options: WatchOptions,
    bookmark_interval: float,
    encode: Any,
    bookmark: Any,
    objects: Objects,
    info: ResourceInfo,
) -> None:
    deadline = time.monotonic() + options.timeout
    next_bookmark = time.monotonic() + bookmark_interval
    while True:
        now = time.monotonic()
        if now >= deadline:
            return
        wait = deadline - now
        if options.bookmarks:
            wait = min(wait, max(0.0, next_bookmark - now))
        try:
            event: Event | None = await asyncio.wait_for(watcher.queue.get(), wait)
        except TimeoutError:
            if options.bookmarks and time.monotonic() >= next_bookmark:
                await response.write(bookmark())
                next_bookmark = time.monotonic() + bookmark_interval
            continue
        if event is None:
            return
        await response.write(encode(event.type, objects.present(info, event.object)))
