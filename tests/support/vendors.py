"""Helpers of the vendor API tests: an in-memory stand-in for the Kubernetes calls the vendor
APIs make (unit tier: no sockets), the source documents' examples, and request helpers.

`FakeCluster` answers `modeleval.console.vendors.cluster.VendorKube`: TokenReview from a token
book, SubjectAccessReview and as-the-caller calls from one grant table (so a refused check and
a refused call agree), objects kept by (plural, namespace, name) with uid, resourceVersion,
creationTimestamp and generateName, TokenRequest for known ServiceAccounts, labelled Secrets.
Every call made as a caller is recorded in ``calls`` as ``(user, method, path)``.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from modeleval import constants as c
from modeleval.console.kubeapi import KubeApiError, ResourceCheck, UserInfo
from modeleval.console.vendors.access_keys import (
    ACCESS_KEY_LABEL,
    ACCESS_KEY_TYPE,
    SERVICE_ACCOUNT_ANNOTATION,
)
from tests.support.paths import REPO

SOURCES = REPO / "docs" / "sources"
VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
PATH = re.compile(
    r"^/(?:apis/(?P<group>[^/]+)/[^/]+|api/v1)(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[^/?]+)"
    r"(?:/(?P<name>[^/?]+))?(?:\?(?P<query>.*))?$"
)
Grant = tuple[str, str, str]
"""(verb, plural, namespace); "*" matches any."""


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeCluster:
    users: dict[str, UserInfo] = field(default_factory=dict)
    grants: dict[str, set[Grant]] = field(default_factory=dict)
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    service_accounts: set[tuple[str, str]] = field(default_factory=set)
    secrets: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    reviews: list[tuple[str, ResourceCheck]] = field(default_factory=list)
    minted: list[tuple[str, str]] = field(default_factory=list)
    _version: int = 0

    # -- setup ---------------------------------------------------------------------------------

    def add_user(self, token: str, name: str, *grants: Grant) -> None:
        self.users[token] = UserInfo(name, ("system:authenticated",))
        self.grants.setdefault(name, set()).update(grants)

    def grant(self, user: str, *grants: Grant) -> None:
        self.grants.setdefault(user, set()).update(grants)

    def add_service_account(self, namespace: str, name: str, *grants: Grant) -> str:
        self.service_accounts.add((namespace, name))
        user = f"system:serviceaccount:{namespace}:{name}"
        self.grants.setdefault(user, set()).update(grants)
        return user

    def add_access_key(
        self, access_key: str, secret_key: str, account: str, *, name: str = "key"
    ) -> None:
        def b64(text: str) -> str:
            return base64.b64encode(text.encode()).decode()

        self.secrets.append(
            {
                "metadata": {
                    "name": name,
                    "namespace": "modeleval-system",
                    "labels": {ACCESS_KEY_LABEL: "true"},
                    "annotations": {SERVICE_ACCOUNT_ANNOTATION: account},
                },
                "type": ACCESS_KEY_TYPE,
                "data": {"accessKey": b64(access_key), "secretKey": b64(secret_key)},
            }
        )

    def put(self, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object as an administrator would (uid and timestamps added)."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now())
        self._version += 1
        meta["resourceVersion"] = str(self._version)
        self.objects[(plural, meta["namespace"], meta["name"])] = obj
        return obj

    def get(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((plural, namespace, name))

    def of(self, plural: str) -> list[dict[str, Any]]:
        return [o for (p, _, _), o in sorted(self.objects.items()) if p == plural]

    # -- VendorKube --------------------------------------------------------------------------

    def _may(self, user: str, verb: str, plural: str, namespace: str) -> bool:
        return any(
            v in ("*", verb) and p in ("*", plural) and n in ("*", namespace)
            for v, p, n in self.grants.get(user, set())
        )

    def review_token(self, token: str, audiences: list[str] | None = None) -> UserInfo | None:
        return self.users.get(token)

    def allowed(self, user: UserInfo, check: ResourceCheck) -> bool:
        self.reviews.append((user.username, check))
        return self._may(user.username, check.verb, check.resource, check.namespace)

    def list_all(self, plural: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.of(plural))

    def list_secrets(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        key, _, value = label_selector.partition("=")
        return [
            s
            for s in self.secrets
            if s["metadata"]["namespace"] == namespace
            and s["metadata"].get("labels", {}).get(key) == value
        ]

    def request_token(self, namespace: str, name: str, seconds: int) -> tuple[str, str]:
        if (namespace, name) not in self.service_accounts:
            raise KubeApiError(404, f"serviceaccounts {name} not found")
        token = f"sa-token-{namespace}-{name}-{len(self.minted)}"
        self.minted.append((namespace, name))
        self.users[token] = UserInfo(
            f"system:serviceaccount:{namespace}:{name}", ("system:serviceaccounts",)
        )
        return token, now()

    def call_as(
        self,
        token: str,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        user = self.users.get(token)
        if user is None:
            raise KubeApiError(401, "Unauthorized")
        found = PATH.match(path)
        assert found is not None, path
        plural, namespace, name = found["plural"], found["ns"] or "", found["name"]
        verb = VERBS[method] if name or method != "GET" else "list"
        self.calls.append((user.username, method, path))
        if not self._may(user.username, verb, plural, namespace):
            raise KubeApiError(403, f"{user.username} cannot {verb} {plural} in {namespace}")
        if plural == "configmaps":
            obj = self.get("configmaps", namespace, name or "")
            if obj is None:
                raise KubeApiError(404, "not found")
            return obj
        return self._write(verb, plural, namespace, name, body, found["query"] or "")

    def _write(
        self, verb: str, plural: str, namespace: str, name: str | None, body: Any, query: str
    ) -> Any:
        key = (plural, namespace, name or "")
        if verb == "list":
            items = [o for (p, n, _), o in sorted(self.objects.items()) if (p, n) == key[:2]]
            selector = dict(re.findall(r"labelSelector=([^=&]+)%3D([^&]*)", query))
            items = [
                o
                for o in items
                if all(
                    o["metadata"].get("labels", {}).get(k.replace("%2F", "/")) == v
                    for k, v in selector.items()
                )
            ]
            return {"items": copy.deepcopy(items)}
        if verb == "create":
            body = copy.deepcopy(body)
            meta = body["metadata"]
            if "generateName" in meta and "name" not in meta:
                meta["name"] = meta.pop("generateName") + uuid.uuid4().hex[:5]
            if (plural, namespace, meta["name"]) in self.objects:
                raise KubeApiError(409, f"{plural} {meta['name']} already exists")
            return copy.deepcopy(self.put(plural, body))
        current = self.objects.get(key)
        if current is None:
            raise KubeApiError(404, f"{plural} {name} not found")
        if verb == "get":
            return copy.deepcopy(current)
        if verb == "delete":
            del self.objects[key]
            return {}
        if verb == "patch":
            merged = json.loads(json.dumps(current))
            _merge(merged, body)
            return copy.deepcopy(self.put(plural, merged))
        if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise KubeApiError(409, "the object has been modified")
        body = copy.deepcopy(body)
        body["status"] = current.get("status")
        return copy.deepcopy(self.put(plural, body))


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


# -- the source documents' examples -----------------------------------------------------------


def zstack_curl_body() -> dict[str, Any]:
    """The JSON body of the ZStack document's curl example, as printed (placeholders and
    all)."""
    text = (SOURCES / "zstack-deploy-model-eval-service.txt").read_text(encoding="utf-8")
    found = re.search(r"-d '(\{.*?\})'", text)
    assert found is not None, "the curl example is missing from the ZStack source document"
    body: dict[str, Any] = json.loads(found.group(1))
    return body


def group_manifest(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.SERVICE_GROUP_KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"image": "vllm/vllm-openai:v0.6.3", **spec},
    }


def configmap(name: str, namespace: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data or {"qa.jsonl": '{"input": "1+1?", "target": "2"}\n'},
    }
