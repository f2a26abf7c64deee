"""Validating admission webhooks: the API server asks them before it stores a write.

Registered as ``ValidatingWebhookConfiguration`` objects (``admissionregistration.k8s.io/v1``).
For each create, update (PUT or PATCH) and delete of a resource that a webhook's ``rules``
match (operations, apiGroups, apiVersions, resources with ``/subresource``, scope) and whose
``objectSelector`` / ``namespaceSelector`` match, the emulator POSTs an ``AdmissionReview``
(``admission.k8s.io/v1``) with the request's ``userInfo`` (username, uid, groups, extra), the
object as it would be stored (and the old one), ``dryRun`` and the operation, to
``clientConfig.url`` — or to ``clientConfig.service``, resolved by the server's
``service_resolver`` (there is no cluster network) — over HTTPS verified with ``caBundle``.

An answer with ``allowed: false`` fails the request with the webhook's ``status.code``
(default 403) and ``admission webhook "<name>" denied the request: <message>``, as the real
API server says it. A webhook that cannot be called (refused, timed out after
``timeoutSeconds``, bad answer) fails the request with 500 under ``failurePolicy: Fail`` (the
default) and is skipped under ``Ignore``. Mutating webhooks, ``matchConditions``,
``reinvocationPolicy`` and ``matchPolicy: Equivalent`` across versions are not emulated.
"""

from __future__ import annotations

import base64
import json
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from modeleval_testkit.apiserver.auth import UserInfo
from modeleval_testkit.apiserver.errors import ApiError
from modeleval_testkit.apiserver.resources import ResourceInfo
from modeleval_testkit.apiserver.store import Store

Obj = dict[str, Any]
CONFIGS = ("admissionregistration.k8s.io", "validatingwebhookconfigurations")
NAMESPACES = ("", "namespaces")
ServiceResolver = Callable[[str, str, int], str | None]
"""``(namespace, name, port) -> "host:port"`` of a Service, or None when unknown."""


@dataclass(frozen=True)
class Attempt:
    """One write under admission: what, by whom, and the objects before and after."""

    info: ResourceInfo
    operation: str
    """CREATE, UPDATE or DELETE."""
    subresource: str
    namespace: str
    name: str
    user: UserInfo
    new: Obj | None
    old: Obj | None
    dry_run: bool


def _listed(values: Any, wanted: str) -> bool:
    items = values or []
    return "*" in items or wanted in items


def _resource_matches(resources: Any, info: ResourceInfo, subresource: str) -> bool:
    wanted = f"{info.plural}/{subresource}" if subresource else info.plural
    for pattern in resources or []:
        if pattern == wanted or pattern == "*/*":
            return True
        if pattern == "*" and not subresource:
            return True
        base, _, sub = pattern.partition("/")
        if subresource and sub == "*" and base == info.plural:
            return True
        if subresource and base == "*" and sub == subresource:
            return True
    return False


def _rule_matches(rule: Obj, attempt: Attempt) -> bool:
    info = attempt.info
    scope = rule.get("scope") or "*"
    if scope == "Namespaced" and not info.namespaced:
        return False
    if scope == "Cluster" and info.namespaced:
        return False
    return (
        _listed(rule.get("operations"), attempt.operation)
        and _listed(rule.get("apiGroups"), info.group)
        and _listed(rule.get("apiVersions"), info.version)
        and _resource_matches(rule.get("resources"), info, attempt.subresource)
    )


def selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A ``metav1.LabelSelector`` (matchLabels, matchExpressions) against ``labels``."""
    if not selector:
        return True
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and present and labels.get(key) in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def _labels(obj: Obj | None) -> dict[str, str]:
    return dict(((obj or {}).get("metadata") or {}).get("labels") or {})


def matching(store: Store, attempt: Attempt, *, selectors: bool = True) -> list[Obj]:
    """The webhooks (entries of every configuration) that must see ``attempt``, by name
    (``selectors=False``: by their rules only, before the object is known)."""
    found = []
    namespace_labels = {}
    if attempt.namespace:
        namespace_labels = _labels(store.get(NAMESPACES, "", attempt.namespace))
    for config in store.iter(CONFIGS):
        for webhook in config.get("webhooks") or []:
            if not any(_rule_matches(rule, attempt) for rule in webhook.get("rules") or []):
                continue
            if not selectors:
                found.append(webhook)
                continue
            object_selector = webhook.get("objectSelector")
            if not (
                selector_matches(object_selector, _labels(attempt.new))
                or selector_matches(object_selector, _labels(attempt.old))
            ):
                continue
            if attempt.namespace and not selector_matches(
                webhook.get("namespaceSelector"), namespace_labels
            ):
                continue
            found.append(webhook)
    return sorted(found, key=lambda webhook: str(webhook.get("name")))


def review_request(attempt: Attempt) -> Obj:
    """The ``AdmissionReview`` the webhook receives."""
    info, user = attempt.info, attempt.user
    kind = {"group": info.group, "version": info.version, "kind": info.kind}
    resource = {"group": info.group, "version": info.version, "resource": info.plural}
    request: Obj = {
        "uid": str(uuid.uuid4()),
        "kind": kind,
        "resource": resource,
        "requestKind": kind,
        "requestResource": resource,
        "name": attempt.name,
        "operation": attempt.operation,
        "userInfo": user.as_review(),
        "object": attempt.new,
        "oldObject": attempt.old,
        "dryRun": attempt.dry_run,
    }
    if attempt.subresource:
        request["subResource"] = attempt.subresource
    if info.namespaced:
        request["namespace"] = attempt.namespace
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def _url(webhook: Obj, resolve: ServiceResolver | None) -> str:
    client = webhook.get("clientConfig") or {}
    if client.get("url"):
        return str(client["url"])
    service = client.get("service") or {}
    port = int(service.get("port") or 443)
    where = (
        resolve(service.get("namespace", ""), service.get("name", ""), port) if resolve else None
    )
    if where is None:
        raise ConnectionError(
            f'service "{service.get("namespace")}/{service.get("name")}" has no address here'
        )
    return f"https://{where}{service.get('path') or '/'}"


def _context(webhook: Obj) -> ssl.SSLContext:
    bundle = (webhook.get("clientConfig") or {}).get("caBundle")
    if bundle:
        return ssl.create_default_context(cadata=base64.b64decode(bundle).decode())
    return ssl.create_default_context()


async def _call(webhook: Obj, review: Obj, resolve: ServiceResolver | None) -> Obj:
    timeout = aiohttp.ClientTimeout(total=float(webhook.get("timeoutSeconds") or 10))
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(_url(webhook, resolve), json=review, ssl=_context(webhook)) as response,
    ):
        body = await response.text()
        if response.status != 200:
            raise ConnectionError(f"the server answered {response.status}: {body[:200]}")
        answer = json.loads(body)
    result = answer.get("response") if isinstance(answer, dict) else None
    if not isinstance(result, dict) or "allowed" not in result:
        raise ValueError("the answer holds no response.allowed")
    return result


async def admit(store: Store, attempt: Attempt, resolve: ServiceResolver | None = None) -> None:
    """Ask every matching webhook; raise `ApiError` for a denial or a failed call."""
    for webhook in matching(store, attempt):
        name = str(webhook.get("name"))
        review = review_request(attempt)
        try:
            result = await _call(webhook, review, resolve)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            if webhook.get("failurePolicy") == "Ignore":
                continue
            raise ApiError(
                500,
                f'Internal error occurred: failed calling webhook "{name}": {exc or type(exc)}',
            ) from None
        if result.get("allowed"):
            continue
        status = result.get("status") or {}
        code = int(status.get("code") or 403)
        message = status.get("message") or ""
        raise ApiError(code, f'admission webhook "{name}" denied the request: {message}')
