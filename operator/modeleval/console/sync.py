"""The console's background work: mirror the cluster's EvalTasks, apply retention, drop
expired sessions — every ``sync_seconds``, in one thread, errors logged and retried.

The mirror is what keeps results after their EvalTask is deleted: a task missing from the
listing is marked deleted (``deleted_at``), never removed, until retention is due.
"""

from __future__ import annotations

import logging
import threading

from modeleval.console.auth import Auth
from modeleval.console.kubeapi import KubeApi
from modeleval.console.settings import ConsoleSettings
from modeleval.console.store import Store

log = logging.getLogger("modeleval.console.sync")


class Mirror:
    def __init__(self, settings: ConsoleSettings, store: Store, kube: KubeApi, auth: Auth) -> None:
        self.settings = settings
        self.store = store
        self.kube = kube
        self.auth = auth
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0

    def run_once(self) -> None:
        """One round: list EvalTasks, update the store, retention, sessions."""
        self.store.mirror(self.kube.list_tasks())
        removed = self.store.apply_retention(self.settings.retention_days)
        if removed:
            log.info("retention: removed the results of %d deleted task(s)", removed)
        self.auth.expire_sessions()
        self.runs += 1

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception as exc:  # the API server may be away for a while: keep trying
                log.warning("sync with the cluster failed: %s", exc)
            self._stop.wait(self.settings.sync_seconds)

    def start(self) -> None:
        if self.settings.sync_seconds <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="console-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
