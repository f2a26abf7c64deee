"""One handler at a time per object, without a lock kept for every object ever seen.

Kopf runs synchronous handlers of different triggers (watch events, timers, changes) in
parallel threads; two of them must not reconcile the same object at once. A lock is made when
the first caller asks for an object's key and dropped when the last holder lets go, so a
long-running operator keeps locks only for objects being handled right now.

    TASKS = KeyedLocks()
    with TASKS.hold(namespace, name):
        ...
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0


class KeyedLocks:
    """Per-key locks, created on demand and released when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._entries: dict[tuple[Hashable, ...], _Entry] = {}

    @contextmanager
    def hold(self, *key: Hashable) -> Iterator[None]:
        with self._guard:
            entry = self._entries.setdefault(key, _Entry())
            entry.users += 1
        try:
            with entry.lock:
                yield
        finally:
            with self._guard:
                entry.users -= 1
                if entry.users == 0:
                    del self._entries[key]

    def __len__(self) -> int:
        """How many keys have a lock now (held or waited for)."""
        with self._guard:
            return len(self._entries)
