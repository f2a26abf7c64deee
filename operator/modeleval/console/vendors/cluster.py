"""The vendor APIs' view of the cluster: what they read and write, and as whom.

Writes and reads of one object go to the API server **as the caller** (`Cluster.create`,
`get`, `replace`, `patch`, `delete`, `list_in`): with the caller's own bearer token, or the
token minted for an access key's ServiceAccount — the API server authorises them, and an
admission webhook sees the caller as the author. The console's own account is used only to
find which namespace/name a vendor id stands for (`index`: a cluster-wide list of our two
kinds, which the console may read anyway to mirror tasks) and, for lists, which namespaces
to ask; what a caller gets back always comes from a call made as the caller.

Kubernetes errors become `VendorError` kinds: 401 unauthenticated, 403 denied, 404 not found,
409 conflict, 400/422 invalid (the API server's message, which names the field), others
unavailable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote

from modeleval import constants as c
from modeleval.console.kubeapi import KubeApiError, ResourceCheck, UserInfo
from modeleval.console.vendors.errors import (
    CONFLICT,
    DENIED,
    INVALID,
    NOT_FOUND,
    UNAUTHENTICATED,
    UNAVAILABLE,
    VendorError,
)

INDEX_SECONDS = 1.0
"""How long one cluster-wide list answers id lookups (a created object is found at once:
unknown ids read again)."""


class VendorKube(Protocol):
    """The Kubernetes calls of the vendor APIs (`modeleval.console.kubeapi.KubeApi`)."""

    def review_token(self, token: str, audiences: list[str] | None = None) -> UserInfo | None: ...

    def allowed(self, user: UserInfo, check: ResourceCheck) -> bool: ...

    def list_all(self, plural: str) -> list[dict[str, Any]]: ...

    def list_secrets(self, namespace: str, label_selector: str) -> list[dict[str, Any]]: ...

    def request_token(self, namespace: str, name: str, seconds: int) -> tuple[str, str]: ...

    def call_as(
        self,
        token: str,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any: ...


def as_vendor_error(exc: KubeApiError, what: str) -> VendorError:
    message = f"{what}: {exc}"
    kinds = {401: UNAUTHENTICATED, 403: DENIED, 404: NOT_FOUND, 409: CONFLICT}
    kind = kinds.get(exc.status)
    if kind is None:
        kind = INVALID if exc.status in (400, 422) else UNAVAILABLE
    return VendorError(kind, message)


def collection(plural: str, namespace: str | None = None) -> str:
    if namespace is None:
        return f"/apis/{c.GROUP}/{c.VERSION}/{plural}"
    return f"/apis/{c.GROUP}/{c.VERSION}/namespaces/{quote(namespace)}/{plural}"


def item(plural: str, namespace: str, name: str) -> str:
    return f"{collection(plural, namespace)}/{quote(name)}"


class Cluster:
    """Object access for the vendor APIs (thread-safe)."""

    def __init__(self, kube: VendorKube, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.kube = kube
        self.clock = clock
        self._index: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    # -- finding objects (the console's account) ---------------------------------------------

    def index(self, plural: str, *, fresh: bool = False) -> list[dict[str, Any]]:
        """Every object of ``plural`` in the cluster (metadata and all), briefly cached."""
        with self._lock:
            cached = self._index.get(plural)
            if not fresh and cached is not None and self.clock() - cached[0] < INDEX_SECONDS:
                return cached[1]
        try:
            items = self.kube.list_all(plural)
        except KubeApiError as exc:
            raise VendorError(UNAVAILABLE, f"cannot list {plural}: {exc}") from None
        with self._lock:
            self._index[plural] = (self.clock(), items)
        return items

    def find(self, plural: str, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """The first object ``match`` accepts; unknown ids list again once (just created)."""
        for fresh in (False, True):
            for obj in self.index(plural, fresh=fresh):
                if match(obj):
                    return obj
        return None

    # -- as the caller -----------------------------------------------------------------------

    def _call(
        self,
        token: str,
        method: str,
        path: str,
        what: str,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        try:
            return self.kube.call_as(token, method, path, body, content_type)
        except KubeApiError as exc:
            raise as_vendor_error(exc, what) from None

    def get(self, token: str, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            found = self._call(
                token, "GET", item(plural, namespace, name), f"get {plural} {namespace}/{name}"
            )
        except VendorError as exc:
            if exc.kind == NOT_FOUND:
                return None
            raise
        return found if isinstance(found, dict) else None

    def list_in(
        self, token: str, plural: str, namespace: str, label_selector: str = ""
    ) -> list[dict[str, Any]]:
        path = collection(plural, namespace)
        if label_selector:
            path += f"?labelSelector={quote(label_selector)}"
        found = self._call(token, "GET", path, f"list {plural} in {namespace}") or {}
        return list(found.get("items") or [])

    def _object(
        self,
        token: str,
        method: str,
        path: str,
        what: str,
        body: dict[str, Any],
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        found = self._call(token, method, path, what, body, content_type)
        return found if isinstance(found, dict) else {}

    def create(
        self, token: str, plural: str, namespace: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        path = collection(plural, namespace)
        return self._object(token, "POST", path, f"create {plural} in {namespace}", body)

    def replace(
        self, token: str, plural: str, namespace: str, name: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        what = f"update {plural} {namespace}/{name}"
        return self._object(token, "PUT", item(plural, namespace, name), what, body)

    def patch(
        self, token: str, plural: str, namespace: str, name: str, patch: dict[str, Any]
    ) -> dict[str, Any]:
        what = f"patch {plural} {namespace}/{name}"
        path = item(plural, namespace, name)
        return self._object(token, "PATCH", path, what, patch, "application/merge-patch+json")

    def delete(self, token: str, plural: str, namespace: str, name: str) -> None:
        self._call(
            token,
            "DELETE",
            item(plural, namespace, name),
            f"delete {plural} {namespace}/{name}",
            {"propagationPolicy": "Background"},
        )

    def get_configmap(self, token: str, namespace: str, name: str) -> dict[str, Any] | None:
        path = f"/api/v1/namespaces/{quote(namespace)}/configmaps/{quote(name)}"
        try:
            found = self._call(token, "GET", path, f"get configmap {namespace}/{name}")
        except VendorError as exc:
            if exc.kind == NOT_FOUND:
                return None
            raise
        return found if isinstance(found, dict) else None
