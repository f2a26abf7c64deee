"""Who calls a vendor API, what they may do, and the token their calls are made with.

Two ways in, both ending in a Kubernetes identity whose RBAC decides:

- a **bearer token** (``Authorization: Bearer …``; ZStack's ``Authorization: OAuth …``):
  checked with TokenReview for the API server's audience — the token is then also what the
  console calls the API server with on the caller's behalf, so it must be one the API server
  accepts (runners' console-audience tokens are not);
- a **Qianfan signature** (``bce-auth-v1``) by an access key kept as a Secret
  (`access_keys`): the caller is the key's ServiceAccount, and the console calls the API with
  a token minted for it (TokenRequest, 10 minutes, reused until 2 minutes before it expires)
  — only after a SubjectAccessReview said the account may do what is asked.

Every action is checked first with a SubjectAccessReview for the caller on the real resource,
verb and namespace (`Callers.require`), so a refusal comes in the vendor's error shape before
anything is written; the API server checks the same again when the call is made as the
caller. The console never lends its own rights.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from modeleval.console.auth import TtlCache
from modeleval.console.kubeapi import KubeApiError, ResourceCheck, UserInfo
from modeleval.console.settings import ConsoleSettings
from modeleval.console.vendors import bce_auth
from modeleval.console.vendors.access_keys import AccessKey, AccessKeyBook
from modeleval.console.vendors.cluster import VendorKube
from modeleval.console.vendors.errors import (
    DENIED,
    UNAUTHENTICATED,
    UNAVAILABLE,
    VendorError,
)

TOKEN_SECONDS = 600
"""Lifetime of a token minted for an access key's ServiceAccount (the API's minimum)."""
TOKEN_REUSE_MARGIN = 120
"""A minted token is replaced this many seconds before it expires."""


@dataclass(frozen=True)
class Caller:
    """An authenticated caller of a vendor API."""

    user: UserInfo
    via: str
    """``token`` (bearer / OAuth header) or ``access-key`` (a Qianfan signature)."""
    token: str = field(default="", repr=False)
    """The caller's own bearer token (``via == "token"``)."""
    key: AccessKey | None = field(default=None, repr=False)
    """The access key (``via == "access-key"``)."""

    @property
    def name(self) -> str:
        return self.user.username

    @property
    def home_namespace(self) -> str | None:
        """An access key's ServiceAccount namespace (where its objects go by default)."""
        return self.key.namespace if self.key is not None else None


def service_account_user(namespace: str, name: str) -> UserInfo:
    """The identity the API server gives a ServiceAccount's tokens."""
    return UserInfo(
        f"system:serviceaccount:{namespace}:{name}",
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"),
    )


def describe(check: ResourceCheck) -> str:
    resource = f"{check.resource}.{check.group}" if check.group else check.resource
    if check.subresource:
        resource += f"/{check.subresource}"
    target = f" {check.name}" if check.name else ""
    return f"{check.verb} {resource}{target} in namespace {check.namespace}"


class Callers:
    """Authentication and authorisation of the vendor APIs' callers (thread-safe)."""

    def __init__(
        self,
        settings: ConsoleSettings,
        kube: VendorKube,
        *,
        wall_clock: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.kube = kube
        self.wall_clock = wall_clock
        self.clock = clock
        self.keys = AccessKeyBook(kube, settings.access_key_namespace, clock=clock)
        self.tokens = TtlCache(settings.auth_cache_seconds, clock)
        self.decisions = TtlCache(settings.auth_cache_seconds, clock)
        self._minted: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()
        public = urlsplit(settings.public_url).netloc.lower() if settings.public_url else ""
        self.hosts = frozenset(h for h in (public, public.rsplit(":", 1)[0]) if h)

    # -- authentication ----------------------------------------------------------------------

    def from_token(self, token: str) -> Caller:
        """The caller of a bearer token, or `VendorError` (unauthenticated)."""
        if not token:
            raise VendorError(UNAUTHENTICATED, "the Authorization header carries no token")
        key = hashlib.sha256(token.encode()).hexdigest()
        hit, user = self.tokens.get(key)
        if not hit:
            try:
                user = self.kube.review_token(token)
            except KubeApiError as exc:
                raise VendorError(UNAVAILABLE, f"cannot check the token: {exc}") from None
            self.tokens.put(key, user)
        if user is None:
            raise VendorError(
                UNAUTHENTICATED, "the token is not valid for the Kubernetes API (TokenReview)"
            )
        return Caller(user, "token", token=token)

    def from_signature(
        self,
        authorization: str,
        *,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: Mapping[str, str],
    ) -> Caller:
        """The caller of a ``bce-auth-v1`` signed request, or `VendorError` with Baidu's code."""
        if not self.keys.enabled:
            raise VendorError(
                UNAUTHENTICATED,
                "access keys are not enabled on this console (MODELEVAL_CONSOLE_ACCESS_KEY_"
                "NAMESPACE): use Authorization: Bearer <Kubernetes token>",
                code="InvalidAccessKeyId",
                status=403,
            )
        found: dict[str, AccessKey] = {}

        def secret_for(access_key: str) -> str | None:
            try:
                key = self.keys.find(access_key)
            except KubeApiError as exc:
                raise VendorError(UNAVAILABLE, f"cannot read the access keys: {exc}") from None
            if key is None:
                return None
            found["key"] = key
            return key.secret_key

        try:
            bce_auth.verify(
                authorization,
                method=method,
                path=path,
                query=query,
                headers=headers,
                secret_for=secret_for,
                now=datetime.fromtimestamp(self.wall_clock(), UTC),
                max_age_seconds=self.settings.signature_max_age_seconds,
                hosts=self.hosts,
            )
        except bce_auth.SignatureError as exc:
            raise VendorError(
                UNAUTHENTICATED, exc.message, code=exc.code, status=exc.status
            ) from None
        key = found["key"]
        return Caller(
            service_account_user(key.namespace, key.service_account), "access-key", key=key
        )

    # -- authorisation -----------------------------------------------------------------------

    def may(self, caller: Caller, check: ResourceCheck) -> bool:
        cache_key = (caller.user, check)
        hit, cached = self.decisions.get(cache_key)
        if hit:
            return bool(cached)
        try:
            decision = self.kube.allowed(caller.user, check)
        except KubeApiError as exc:
            raise VendorError(UNAVAILABLE, f"cannot check permissions: {exc}") from None
        self.decisions.put(cache_key, decision)
        return decision

    def require(self, caller: Caller, *checks: ResourceCheck) -> None:
        """Raise `VendorError` (denied) naming the first check the caller fails."""
        for check in checks:
            if not self.may(caller, check):
                raise VendorError(
                    DENIED, f"{caller.name} may not {describe(check)} (Kubernetes RBAC)"
                )

    # -- the token calls are made with -------------------------------------------------------

    def token_for(self, caller: Caller) -> str:
        """The bearer token to call the API server with as ``caller``."""
        if caller.key is None:
            return caller.token
        account = (caller.key.namespace, caller.key.service_account)
        with self._lock:
            minted = self._minted.get(account)
            if minted is not None and minted[1] > self.clock():
                return minted[0]
        try:
            token, _expires = self.kube.request_token(account[0], account[1], TOKEN_SECONDS)
        except KubeApiError as exc:
            if exc.status == 404:
                raise VendorError(
                    DENIED,
                    f"the access key's ServiceAccount {account[0]}/{account[1]} does not exist",
                ) from None
            raise VendorError(
                UNAVAILABLE,
                f"the console cannot act as ServiceAccount {account[0]}/{account[1]}: {exc} "
                "(it needs create on serviceaccounts/token there: chart value "
                "console.vendors.accessKeys)",
            ) from None
        if not token:
            raise VendorError(UNAVAILABLE, "the TokenRequest answered no token")
        with self._lock:
            self._minted[account] = (token, self.clock() + TOKEN_SECONDS - TOKEN_REUSE_MARGIN)
        return token
