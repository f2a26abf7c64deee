"""A small asyncio Kubernetes REST client (aiohttp + bearer token) for the executor.

The executor is an ordinary API client: everything it does goes through HTTP, so it works
against the emulator and against a real cluster alike.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    """Where a kind lives in the REST tree."""

    group: str
    version: str
    plural: str
    namespaced: bool = True

    def path(self, namespace: str | None = None, name: str | None = None, sub: str = "") -> str:
        root = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        if self.namespaced and namespace:
            root += f"/namespaces/{namespace}"
        root += f"/{self.plural}"
        if name:
            root += f"/{name}"
            if sub:
                root += f"/{sub}"
        return root


PODS = Resource("", "v1", "pods")
SERVICES = Resource("", "v1", "services")
CONFIGMAPS = Resource("", "v1", "configmaps")
SECRETS = Resource("", "v1", "secrets")
PVCS = Resource("", "v1", "persistentvolumeclaims")
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts")
EVENTS = Resource("", "v1", "events")
NODES = Resource("", "v1", "nodes", namespaced=False)
DEPLOYMENTS = Resource("apps", "v1", "deployments")
REPLICASETS = Resource("apps", "v1", "replicasets")
JOBS = Resource("batch", "v1", "jobs")

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class ApiError(Exception):
    """A non-2xx answer from the API server."""

    def __init__(self, status: int, body: str, *, method: str, path: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {body[:500]}")
        self.status = status
        self.body = body


class KubeClient:
    """JSON-over-HTTP access to one API server with one bearer token."""

    def __init__(self, base_url: str, token: str | None, *, ca_file: Path | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.ca_file = ca_file
        self.ca_data = base64.b64encode(ca_file.read_bytes()).decode() if ca_file else None
        """The CA bundle, base64-encoded as in a kubeconfig's ``certificate-authority-data``."""
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._session is None:
            context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=context if context else True),
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=None, connect=10),
                read_bufsize=2**22,
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("KubeClient.open() was not awaited")
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> JsonDict:
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type} if data is not None else {}
        async with self.session.request(
            method, self.base_url + path, data=data, params=params, headers=headers
        ) as response:
            text = await response.text()
            if response.status >= 300:
                raise ApiError(response.status, text, method=method, path=path)
            return json.loads(text) if text else {}

    async def get(self, res: Resource, name: str, namespace: str | None = None) -> JsonDict | None:
        try:
            return await self.request("GET", res.path(namespace, name))
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    async def list(
        self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None
    ) -> JsonDict:
        params = {"labelSelector": label_selector} if label_selector else None
        return await self.request("GET", res.path(namespace), params=params)

    async def create(self, res: Resource, body: JsonDict, namespace: str | None = None) -> JsonDict:
        return await self.request("POST", res.path(namespace), body=body)

    async def patch(
        self,
        res: Resource,
        name: str,
        namespace: str | None,
        body: Any,
        *,
        sub: str = "",
        content_type: str = MERGE_PATCH,
    ) -> JsonDict | None:
        """Patch an object; ``None`` when it is gone (404)."""
        try:
            return await self.request(
                "PATCH", res.path(namespace, name, sub), body=body, content_type=content_type
            )
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    async def delete(
        self,
        res: Resource,
        name: str,
        namespace: str | None = None,
        *,
        grace_period: int | None = None,
        propagation: str | None = None,
    ) -> bool:
        """Delete an object; ``False`` when it was already gone."""
        body: JsonDict = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period is not None:
            body["gracePeriodSeconds"] = grace_period
        if propagation is not None:
            body["propagationPolicy"] = propagation
        try:
            await self.request("DELETE", res.path(namespace, name), body=body)
        except ApiError as error:
            if error.status == 404:
                return False
            raise
        return True

    async def watch(
        self, res: Resource, *, resource_version: str, timeout_seconds: int = 300
    ) -> AsyncIterator[tuple[str, JsonDict]]:
        """Yield ``(type, object)`` watch events until the server ends the stream."""
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "timeoutSeconds": str(timeout_seconds),
            "allowWatchBookmarks": "true",
        }
        async with self.session.get(self.base_url + res.path(), params=params) as response:
            if response.status >= 300:
                text = await response.text()
                raise ApiError(response.status, text, method="WATCH", path=res.path())
            async for line in response.content:
                if line.strip():
                    event = json.loads(line)
                    yield event["type"], event["object"]
