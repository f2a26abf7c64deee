"""The operator's and the runner's way to the Kubernetes API (official client).

One place decides how to log in and turns "already gone" (404) on delete into a no-op, so
every caller is safe to run twice. "Already exists" (409) on create is *not* success by
itself: a same-named object made by someone else must never be used or written, so children
are created with :func:`modeleval.handlers.owned.create_owned`, which reads the existing
object and checks its controlling owner reference. :func:`create_if_absent` is left for
creates whose existing object is never used.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from modeleval import constants as c

T = TypeVar("T")
_lock = threading.Lock()


@functools.cache
def api_client() -> client.ApiClient:
    """A shared ApiClient: KUBECONFIG (or ~/.kube/config) when present, else in-cluster."""
    with _lock:
        config.load_config()  # type: ignore[no-untyped-call]
        return client.ApiClient()


def core() -> client.CoreV1Api:
    return client.CoreV1Api(api_client())


def apps() -> client.AppsV1Api:
    return client.AppsV1Api(api_client())


def batch() -> client.BatchV1Api:
    return client.BatchV1Api(api_client())


def rbac() -> client.RbacAuthorizationV1Api:
    return client.RbacAuthorizationV1Api(api_client())


def custom() -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client())


def authorization() -> client.AuthorizationV1Api:
    return client.AuthorizationV1Api(api_client())


def to_dict(obj: Any) -> dict[str, Any]:
    """An official-client model as the JSON dict the API serves (camelCase)."""
    data = cast(Any, api_client()).sanitize_for_serialization(obj)
    return data if isinstance(data, dict) else {}


def create_if_absent(create: Callable[..., T], /, *args: Any, **kwargs: Any) -> T | None:
    """Call ``create``; return None instead of raising when the object already exists.

    Only for objects whose existing copy is then left alone (never read back as ours)."""
    try:
        return create(*args, **kwargs)
    except ApiException as exc:
        if exc.status == 409:
            return None
        raise


def delete_if_present(delete: Callable[..., Any], /, *args: Any, **kwargs: Any) -> bool:
    """Call ``delete``; return False instead of raising when the object is already gone."""
    try:
        delete(*args, **kwargs)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def read_or_none(read: Callable[..., T], /, *args: Any, **kwargs: Any) -> T | None:
    """Call ``read``; None when the object does not exist."""
    try:
        return read(*args, **kwargs)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def patch_custom_status(
    plural: str,
    namespace: str,
    name: str,
    status: dict[str, Any],
    *,
    resource_version: str | None = None,
) -> Any:
    """Merge-patch ``status`` of one of our custom resources (the status subresource);
    ``resource_version``: only if the object is still at that version (else a 409)."""
    body: dict[str, Any] = {"status": status}
    if resource_version is not None:
        body["metadata"] = {"resourceVersion": resource_version}
    return custom().patch_namespaced_custom_object_status(
        c.GROUP, c.VERSION, namespace, plural, name, body
    )


def get_custom(plural: str, namespace: str, name: str) -> dict[str, Any] | None:
    """One of our custom resources as a dict, or None when it does not exist."""
    found = read_or_none(
        custom().get_namespaced_custom_object, c.GROUP, c.VERSION, namespace, plural, name
    )
    return found if isinstance(found, dict) else None
