"""Qianfan access keys, kept as Kubernetes Secrets, each acting as one ServiceAccount.

An access key is a Secret in the console's access-key namespace
(``MODELEVAL_CONSOLE_ACCESS_KEY_NAMESPACE``)::

    apiVersion: v1
    kind: Secret
    metadata:
      name: qianfan-ci
      namespace: modeleval-system
      labels: {modeleval.io/access-key: "true"}
      annotations: {modeleval.io/service-account: team-a/evaluator}
    type: modeleval.io/access-key
    stringData: {accessKey: "…", secretKey: "…"}

Whoever holds the pair acts as ServiceAccount ``team-a/evaluator``: its RBAC decides what the
key may do (SubjectAccessReview), and the console calls the API with a short-lived token minted
for it (TokenRequest). Only people who may write Secrets in the console's namespace can make
keys — the same trust as a legacy ServiceAccount token Secret. Deleting the Secret revokes the
key within `REFRESH_SECONDS`.

The book lists the labelled Secrets of that one namespace (the console may not read Secrets
anywhere else), keeps them `REFRESH_SECONDS`, and reads again at once — at most once a second
— when an unknown key is presented, so a new key works immediately.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from modeleval import constants as c

ACCESS_KEY_LABEL = f"{c.GROUP}/access-key"
ACCESS_KEY_TYPE = f"{c.GROUP}/access-key"
SERVICE_ACCOUNT_ANNOTATION = f"{c.GROUP}/service-account"
REFRESH_SECONDS = 10.0
MIN_REREAD_SECONDS = 1.0

log = logging.getLogger("modeleval.console.vendors")


class SecretLister(Protocol):
    def list_secrets(self, namespace: str, label_selector: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class AccessKey:
    access_key: str
    secret_key: str
    namespace: str
    """Of the ServiceAccount the key acts as."""
    service_account: str
    secret: str
    """Name of the Secret that holds it (for logs)."""

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"


def _value(secret: dict[str, Any], key: str) -> str:
    raw = (secret.get("data") or {}).get(key)
    if not isinstance(raw, str):
        return ""
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8").strip()
    except (binascii.Error, UnicodeDecodeError):
        return ""


def service_account_of(annotation: str) -> tuple[str, str] | None:
    """``ns/name`` or ``system:serviceaccount:ns:name`` -> ``(ns, name)``."""
    text = annotation.strip()
    if text.startswith("system:serviceaccount:"):
        parts = text.split(":")
        if len(parts) == 4 and parts[2] and parts[3]:
            return parts[2], parts[3]
        return None
    namespace, slash, name = text.partition("/")
    if slash and namespace and name and "/" not in name:
        return namespace, name
    return None


def parse_secret(secret: dict[str, Any]) -> AccessKey | str:
    """The access key a Secret holds, or why it holds none."""
    meta = secret.get("metadata") or {}
    secret_name = str(meta.get("name") or "")
    if secret.get("type") != ACCESS_KEY_TYPE:
        return f"Secret {secret_name} is not of type {ACCESS_KEY_TYPE}"
    access_key, secret_key = _value(secret, "accessKey"), _value(secret, "secretKey")
    if not access_key or not secret_key or "/" in access_key:
        return f"Secret {secret_name} needs non-empty accessKey (no '/') and secretKey"
    account = service_account_of(
        str((meta.get("annotations") or {}).get(SERVICE_ACCOUNT_ANNOTATION) or "")
    )
    if account is None:
        return (
            f"Secret {secret_name} needs annotation {SERVICE_ACCOUNT_ANNOTATION}: "
            "<namespace>/<serviceaccount>"
        )
    return AccessKey(access_key, secret_key, account[0], account[1], secret_name)


class AccessKeyBook:
    """The access keys of one namespace, read through the console's own account."""

    def __init__(
        self,
        kube: SecretLister,
        namespace: str | None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.clock = clock
        self._keys: dict[str, AccessKey] = {}
        self._read_at: float | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.namespace)

    def _reload(self) -> None:
        assert self.namespace
        keys: dict[str, AccessKey] = {}
        for secret in self.kube.list_secrets(self.namespace, f"{ACCESS_KEY_LABEL}=true"):
            found = parse_secret(secret)
            if isinstance(found, str):
                log.warning("access key ignored: %s", found)
            elif found.access_key in keys:
                log.warning(
                    "access key in Secret %s ignored: Secret %s holds the same accessKey",
                    found.secret,
                    keys[found.access_key].secret,
                )
            else:
                keys[found.access_key] = found
        self._keys = keys
        self._read_at = self.clock()

    def find(self, access_key: str) -> AccessKey | None:
        """The key, reading the Secrets again when stale or when the key is unknown."""
        if not self.enabled:
            return None
        with self._lock:
            now = self.clock()
            age = None if self._read_at is None else now - self._read_at
            if (
                age is None
                or age > REFRESH_SECONDS
                or (access_key not in self._keys and age > MIN_REREAD_SECONDS)
            ):
                self._reload()
            return self._keys.get(access_key)
