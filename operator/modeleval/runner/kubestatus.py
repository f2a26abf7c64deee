"""A ``StatusSink`` that merge-patches the EvalTask's ``status`` subresource.

Connection settings follow ``kubernetes.config.load_config()``: ``KUBECONFIG`` (or
``~/.kube/config``) when present, else the in-cluster service account. The (slow) import of
the client happens on first use, which is in the reporter's worker thread.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from modeleval.constants import EVAL_TASK_PLURAL, GROUP, VERSION


class KubeStatusSink:
    """Patches ``evaltasks/<name>/status`` in ``namespace`` (only the keys it is given)."""

    def __init__(self, *, name: str, namespace: str) -> None:
        self.name = name
        self.namespace = namespace
        self._api: Any = None
        self._lock = threading.Lock()

    def _client(self) -> Any:
        with self._lock:
            if self._api is None:
                from kubernetes import client, config

                config.load_config()
                self._api = client.CustomObjectsApi()
            return self._api

    def patch_status(self, patch: dict[str, Any]) -> None:
        self._client().patch_namespaced_custom_object_status(
            GROUP, VERSION, self.namespace, EVAL_TASK_PLURAL, self.name, {"status": patch}
        )


def sink_from_env(name: str | None, namespace: str | None) -> KubeStatusSink | None:
    """A sink when the task is known and some Kubernetes credentials exist, else None."""
    if not name or not namespace:
        return None
    kubeconfig = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    in_cluster = bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
    if not in_cluster and not os.path.exists(kubeconfig.split(os.pathsep)[0]):
        return None
    return KubeStatusSink(name=name, namespace=namespace)
