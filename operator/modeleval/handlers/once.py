"""What the operator keeps per unfinished object, forgotten with it: once-only Events, and
when each task was last reconciled (for the safety-net sweep).

Some Events are posted once per cause (``ParametersDropped`` for each model and parameter set;
a fixed Event name makes a repeat a 409 anyway). The names this process posted are kept per
object so they can be dropped when the object is deleted or finished: a long-running operator
keeps names only for the objects it still works on, not for every object it ever saw.

    POSTED = OnceEvents()
    if not POSTED.seen(namespace, name, event_name) and post(...):
        POSTED.add(namespace, name, event_name)
    POSTED.forget(namespace, name)   # deleted or finished
"""

from __future__ import annotations

import threading
import time


class OnceEvents:
    """Names of the Events posted for each object (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: dict[tuple[str, str], set[str]] = {}

    def seen(self, namespace: str, name: str, event: str) -> bool:
        with self._lock:
            return event in self._names.get((namespace, name), ())

    def add(self, namespace: str, name: str, event: str) -> None:
        with self._lock:
            self._names.setdefault((namespace, name), set()).add(event)

    def forget(self, namespace: str, name: str) -> None:
        with self._lock:
            self._names.pop((namespace, name), None)

    def clear(self) -> None:
        with self._lock:
            self._names.clear()

    def __len__(self) -> int:
        """How many objects have Events remembered."""
        with self._lock:
            return len(self._names)


class ActiveTasks:
    """The unfinished tasks, by (namespace, name), with when each was last reconciled
    (``time.monotonic()``); thread-safe. Membership follows the watch; ``touch`` only stamps."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], float] = {}

    def update(self, namespace: str, name: str, *, active: bool) -> None:
        with self._lock:
            if not active:
                self._last.pop((namespace, name), None)
            else:
                self._last.setdefault((namespace, name), time.monotonic())

    def touch(self, namespace: str, name: str) -> None:
        """The task was just reconciled (by any trigger)."""
        with self._lock:
            if (namespace, name) in self._last:
                self._last[(namespace, name)] = time.monotonic()

    def stale(self, older_than: float) -> list[tuple[str, str]]:
        """The tasks not reconciled for ``older_than`` seconds."""
        limit = time.monotonic() - older_than
        with self._lock:
            return [key for key, last in self._last.items() if last <= limit]

    def __len__(self) -> int:
        with self._lock:
            return len(self._last)


ACTIVE = ActiveTasks()
"""This process's unfinished EvalTasks (:mod:`modeleval.handlers.evaltask_fleet`)."""
