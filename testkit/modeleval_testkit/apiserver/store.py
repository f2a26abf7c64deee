"""Object storage, the global resourceVersion counter, per-kind event history and watchers.

Everything is a dict lookup: objects live in ``objects[(group, plural)][namespace][name]``,
watchers in ``watchers[(group, plural)]``; a write touches only its own kind. Stored objects
are never mutated in place (each write stores a new dict), so the history can share them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from modeleval_testkit.apiserver.selectors import Matcher

Kind = tuple[str, str]
Obj = dict[str, Any]


@dataclass(frozen=True)
class Event:
    """One change: ``type`` is ADDED, MODIFIED or DELETED."""

    type: str
    object: Obj
    rv: int


@dataclass(eq=False)
class Watcher:
    """A watch stream's subscription: events of one kind that pass its filters."""

    namespace: str | None
    matcher: Matcher | None
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)

    def wants(self, obj: Obj) -> bool:
        if self.namespace and obj["metadata"].get("namespace") != self.namespace:
            return False
        return self.matcher is None or self.matcher(obj)


class Gone(Exception):
    """The requested resourceVersion is older than the kept history (410 Gone)."""


class Store:
    """All objects of all kinds, with change notification."""

    def __init__(self, history: int = 20_000) -> None:
        self.rv = 0
        self.objects: dict[Kind, dict[str, dict[str, Obj]]] = {}
        self.history: dict[Kind, deque[Event]] = {}
        self.compacted: dict[Kind, int] = {}
        self.watchers: dict[Kind, set[Watcher]] = {}
        self.history_size = history

    def next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def get(self, kind: Kind, namespace: str, name: str) -> Obj | None:
        return self.objects.get(kind, {}).get(namespace, {}).get(name)

    def iter(self, kind: Kind, namespace: str | None = None) -> Iterator[Obj]:
        spaces = self.objects.get(kind, {})
        if namespace is not None:
            yield from spaces.get(namespace, {}).values()
            return
        for objs in spaces.values():
            yield from objs.values()

    def put(self, kind: Kind, obj: Obj, event_type: str, old: Obj | None = None) -> None:
        """Store ``obj`` (its resourceVersion already set) and notify watchers."""
        meta = obj["metadata"]
        self.objects.setdefault(kind, {}).setdefault(meta.get("namespace", ""), {})[
            meta["name"]
        ] = obj
        self._emit(kind, Event(event_type, obj, int(meta["resourceVersion"])), old)

    def remove(self, kind: Kind, obj: Obj) -> None:
        """Remove ``obj``; the DELETED event carries ``obj`` with a fresh resourceVersion."""
        meta = obj["metadata"]
        spaces = self.objects.get(kind, {})
        objs = spaces.get(meta.get("namespace", ""), {})
        objs.pop(meta["name"], None)
        if not objs:
            spaces.pop(meta.get("namespace", ""), None)
        final = {**obj, "metadata": {**meta, "resourceVersion": self.next_rv()}}
        self._emit(kind, Event("DELETED", final, self.rv), None)

    def _emit(self, kind: Kind, event: Event, old: Obj | None) -> None:
        history = self.history.setdefault(kind, deque())
        history.append(event)
        if len(history) > self.history_size:
            self.compacted[kind] = history.popleft().rv
        for watcher in self.watchers.get(kind, ()):
            translated = _translate(watcher, event, old)
            if translated is not None:
                watcher.queue.put_nowait(translated)

    def subscribe(self, kind: Kind, watcher: Watcher, since: int | None) -> list[Event]:
        """Register ``watcher``; return the events it must replay first.

        ``since=None`` replays the current state as ADDED events; otherwise the kept events
        newer than ``since``. Raises `Gone` when ``since`` predates the kept history.
        """
        if since is None:
            replay = [
                Event("ADDED", o, int(o["metadata"]["resourceVersion"]))
                for o in self.iter(kind, watcher.namespace)
                if watcher.wants(o)
            ]
            replay.sort(key=lambda e: e.rv)
        else:
            if since < self.compacted.get(kind, 0):
                raise Gone(f"too old resource version: {since} ({self.compacted[kind]})")
            replay = []
            for event in reversed(self.history.get(kind, ())):
                if event.rv <= since:
                    break
                if watcher.wants(event.object):
                    replay.append(event)
            replay.reverse()
        self.watchers.setdefault(kind, set()).add(watcher)
        return replay

    def unsubscribe(self, kind: Kind, watcher: Watcher) -> None:
        self.watchers.get(kind, set()).discard(watcher)

    def close_watchers(self) -> None:
        for watchers in self.watchers.values():
            for watcher in watchers:
                watcher.queue.put_nowait(None)


def _translate(watcher: Watcher, event: Event, old: Obj | None) -> Event | None:
    """Filtered watches see objects enter (ADDED) and leave (DELETED) their selection."""
    now = watcher.wants(event.object)
    if event.type != "MODIFIED" or old is None:
        return event if now else None
    before = watcher.wants(old)
    if now and before:
        return event
    if now:
        return Event("ADDED", event.object, event.rv)
    if before:
        return Event("DELETED", event.object, event.rv)
    return None
