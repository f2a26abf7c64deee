"""Authentication: bearer tokens mapped to users and ServiceAccounts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

AUTHENTICATED = "system:authenticated"
MASTERS = "system:masters"


@dataclass(frozen=True)
class UserInfo:
    """Who sent a request: a user name and its groups (``system:authenticated`` included),
    a uid and extra attributes (``(key, (values…))`` pairs), as admission webhooks and
    SubjectAccessReviews see them."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def as_review(self) -> dict[str, object]:
        """``userInfo`` of an AdmissionReview (``authentication.k8s.io/v1`` UserInfo)."""
        info: dict[str, object] = {"username": self.name, "groups": list(self.groups)}
        if self.uid:
            info["uid"] = self.uid
        if self.extra:
            info["extra"] = {key: list(values) for key, values in self.extra}
        return info

    @property
    def is_superuser(self) -> bool:
        return MASTERS in self.groups

    @property
    def service_account(self) -> tuple[str, str] | None:
        """``(namespace, name)`` for ServiceAccount users, else None."""
        parts = self.name.split(":")
        if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"]:
            return parts[2], parts[3]
        return None


def service_account_user(namespace: str, name: str) -> UserInfo:
    return UserInfo(
        f"system:serviceaccount:{namespace}:{name}",
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED),
    )


API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"
"""Audience of tokens minted without one: the API server's (see ``tokenreview``)."""


class TokenBook:
    """Issued tokens, the users they stand for and the audiences they are bound to."""

    def __init__(self) -> None:
        self.tokens: dict[str, UserInfo] = {}
        self.audiences: dict[str, tuple[str, ...]] = {}

    def issue(
        self,
        user: str,
        groups: tuple[str, ...] | list[str] = (),
        *,
        uid: str = "",
        extra: dict[str, list[str]] | None = None,
    ) -> str:
        """Mint a token for ``user``; ``system:authenticated`` is always added to ``groups``."""
        all_groups = tuple(dict.fromkeys([*groups, AUTHENTICATED]))
        pairs = tuple((key, tuple(values)) for key, values in sorted((extra or {}).items()))
        return self.add(UserInfo(user, all_groups, uid, pairs))

    def issue_service_account(self, namespace: str, name: str) -> str:
        return self.add(service_account_user(namespace, name))

    def add(self, user: UserInfo, audiences: tuple[str, ...] | list[str] = ()) -> str:
        """Mint a token for ``user`` bound to ``audiences`` (default: the API server's)."""
        token = secrets.token_urlsafe(24)
        self.tokens[token] = user
        self.audiences[token] = tuple(audiences) or (API_AUDIENCE,)
        return token

    def lookup(self, token: str) -> tuple[UserInfo, tuple[str, ...]] | None:
        user = self.tokens.get(token)
        if user is None:
            return None
        return user, self.audiences.get(token, (API_AUDIENCE,))

    def authenticate(self, header: str | None) -> UserInfo | None:
        """The user of an API request; tokens bound to other audiences only are refused."""
        if not header or not header.lower().startswith("bearer "):
            return None
        found = self.lookup(header[7:].strip())
        if found is None or API_AUDIENCE not in found[1]:
            return None
        return found[0]
