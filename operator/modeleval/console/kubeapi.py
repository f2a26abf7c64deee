"""The console's Kubernetes calls: TokenReview, SubjectAccessReview, EvalTasks.

The console logs in as its own ServiceAccount (in-cluster) or with ``KUBECONFIG`` (local
stack), reads nothing else and writes only ``evaltasks/status`` (manual completion). Its
ClusterRole: ``tokenreviews`` and ``subjectaccessreviews`` create, ``evaltasks`` get / list,
``evaltasks/status`` patch; with the vendor APIs also ``modelevalservicegroups`` get / list
(finding objects by vendor id), and with Qianfan access keys ``secrets`` list in its own
namespace and ``serviceaccounts/token`` create.

`KubeApi.call_as` makes a call with a caller's bearer token on a connection of its own that
carries neither the console's token nor its client certificate: what the vendor APIs create,
change and read for a caller, the API server authorises as that caller.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from modeleval import constants as c

IN_CLUSTER_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class KubeApiError(Exception):
    """The API server refused or failed a call."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


@dataclass(frozen=True)
class UserInfo:
    """An authenticated user as TokenReview reports it."""

    username: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def extra_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.extra}


@dataclass(frozen=True)
class ResourceCheck:
    """One question for SubjectAccessReview."""

    verb: str
    namespace: str
    name: str = ""
    resource: str = c.EVAL_TASK_PLURAL
    subresource: str = ""
    group: str = c.GROUP


class KubeApi:
    """A small synchronous client for the calls above (thread-safe; httpx pools)."""

    def __init__(
        self,
        server: str,
        *,
        token: str | None = None,
        token_file: str | None = None,
        verify: ssl.SSLContext | bool = True,
        cert: tuple[str, str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.server = server.rstrip("/")
        self._token = token
        self._token_file = token_file
        self._lock = threading.Lock()
        self.http = httpx.Client(base_url=self.server, verify=verify, cert=cert, timeout=timeout)
        # Callers' requests: same server and CA, never the console's client certificate.
        self.caller_http = httpx.Client(base_url=self.server, verify=verify, timeout=timeout)

    @classmethod
    def from_environment(cls) -> KubeApi:
        """``KUBECONFIG`` (or ``~/.kube/config``) when present, else the in-cluster account."""
        kubeconfig = os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())
        if "KUBERNETES_SERVICE_HOST" in os.environ and not os.environ.get("KUBECONFIG"):
            return cls.in_cluster()
        if Path(kubeconfig.split(os.pathsep)[0]).exists():
            return cls.from_kubeconfig(kubeconfig)
        return cls.in_cluster()

    @classmethod
    def in_cluster(cls) -> KubeApi:
        host = os.environ["KUBERNETES_SERVICE_HOST"]
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if ":" in host:
            host = f"[{host}]"
        verify = ssl.create_default_context(cafile=str(IN_CLUSTER_DIR / "ca.crt"))
        return cls(
            f"https://{host}:{port}", token_file=str(IN_CLUSTER_DIR / "token"), verify=verify
        )

    @classmethod
    def from_kubeconfig(cls, path: str) -> KubeApi:
        from kubernetes import client, config

        settings = client.Configuration()
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=path, client_configuration=settings
        )
        verify: ssl.SSLContext | bool = True
        if settings.host.startswith("https"):
            if settings.verify_ssl:
                verify = ssl.create_default_context(cafile=settings.ssl_ca_cert)
            else:
                verify = False
        cert = (
            (str(settings.cert_file), str(settings.key_file))
            if settings.cert_file and settings.key_file
            else None
        )
        auth = settings.auth_settings().get("BearerToken")
        token = str(auth["value"]).removeprefix("Bearer ").strip() if auth else None
        return cls(settings.host, token=token, verify=verify, cert=cert)

    def close(self) -> None:
        self.http.close()
        self.caller_http.close()

    # -- plumbing ----------------------------------------------------------------------------

    def _headers(self, content_type: str = "application/json") -> dict[str, str]:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        token = self._token
        if self._token_file:
            token = Path(self._token_file).read_text().strip()  # projected tokens rotate
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _call(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> Any:
        return _send(self.http, method, path, body, self._headers(content_type))

    def call_as(
        self,
        token: str,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        """A call authenticated by ``token`` only (a caller's, or one minted for a
        ServiceAccount): the API server authorises it as that identity."""
        headers = {
            "Accept": "application/json",
            "Content-Type": content_type,
            "Authorization": f"Bearer {token}",
        }
        return _send(self.caller_http, method, path, body, headers)

    # -- authentication and authorisation ----------------------------------------------------

    def review_token(self, token: str, audiences: list[str] | None = None) -> UserInfo | None:
        """Who ``token`` belongs to (None: not a valid token for these audiences)."""
        spec: dict[str, Any] = {"token": token}
        if audiences:
            spec["audiences"] = audiences
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec}
        result = self._call("POST", "/apis/authentication.k8s.io/v1/tokenreviews", body)
        status = (result or {}).get("status") or {}
        if not status.get("authenticated"):
            return None
        user = status.get("user") or {}
        extra = tuple(sorted((k, tuple(v)) for k, v in (user.get("extra") or {}).items()))
        return UserInfo(
            username=str(user.get("username") or ""),
            groups=tuple(user.get("groups") or ()),
            uid=str(user.get("uid") or ""),
            extra=extra,
        )

    def allowed(self, user: UserInfo, check: ResourceCheck) -> bool:
        """SubjectAccessReview: may ``user`` do ``check``?"""
        attributes = {
            "verb": check.verb,
            "group": check.group,
            "resource": check.resource,
            "namespace": check.namespace,
        }
        if check.name:
            attributes["name"] = check.name
        if check.subresource:
            attributes["subresource"] = check.subresource
        spec: dict[str, Any] = {
            "user": user.username,
            "groups": list(user.groups),
            "resourceAttributes": attributes,
        }
        if user.uid:
            spec["uid"] = user.uid
        if user.extra:
            spec["extra"] = user.extra_dict()
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": spec,
        }
        result = self._call("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body)
        return bool(((result or {}).get("status") or {}).get("allowed"))

    # -- EvalTasks ---------------------------------------------------------------------------

    def list_tasks(self) -> list[dict[str, Any]]:
        """Every EvalTask in the cluster (paged by 500)."""
        return self.list_all(c.EVAL_TASK_PLURAL)

    def list_all(self, plural: str) -> list[dict[str, Any]]:
        """Every object of one of our kinds in the cluster, as the console (paged by 500)."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            path = f"/apis/{c.GROUP}/{c.VERSION}/{plural}?limit=500"
            if token:
                path += f"&continue={quote(token)}"
            result = self._call("GET", path) or {}
            items.extend(result.get("items") or [])
            token = (result.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    def list_secrets(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        """Secrets of the console's own namespace with a label (Qianfan access keys)."""
        path = f"/api/v1/namespaces/{namespace}/secrets?labelSelector={quote(label_selector)}"
        return list((self._call("GET", path) or {}).get("items") or [])

    def request_token(self, namespace: str, name: str, seconds: int) -> tuple[str, str]:
        """TokenRequest: a token of ServiceAccount ``namespace/name`` for the API server,
        valid ``seconds``; ``(token, expirationTimestamp)``."""
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": seconds},
        }
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"
        status = (self._call("POST", path, body) or {}).get("status") or {}
        return str(status.get("token") or ""), str(status.get("expirationTimestamp") or "")

    def get_task(self, namespace: str, name: str) -> dict[str, Any] | None:
        path = f"/apis/{c.GROUP}/{c.VERSION}/namespaces/{namespace}/{c.EVAL_TASK_PLURAL}/{name}"
        try:
            result = self._call("GET", path)
        except KubeApiError as exc:
            if exc.status == 404:
                return None
            raise
        return result if isinstance(result, dict) else None

    def patch_task_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        path = (
            f"/apis/{c.GROUP}/{c.VERSION}/namespaces/{namespace}/{c.EVAL_TASK_PLURAL}/{name}/status"
        )
        self._call("PATCH", path, {"status": status}, "application/merge-patch+json")


def _send(http: httpx.Client, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    try:
        response = http.request(
            method,
            path,
            content=None if body is None else json.dumps(body),
            headers=headers,
        )
    except httpx.HTTPError as exc:
        raise KubeApiError(503, f"cannot reach the API server: {exc}") from None
    if response.status_code >= 400:
        try:
            message = response.json().get("message") or response.text
        except ValueError:
            message = response.text
        raise KubeApiError(response.status_code, str(message)[:500])
    return response.json() if response.content else None
