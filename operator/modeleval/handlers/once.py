"""Once-only Events per object, forgotten with the object.

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
