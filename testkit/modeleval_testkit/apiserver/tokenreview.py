"""TokenReview (``authentication.k8s.io/v1``) and audience-bound tokens, as the API server does.

Every token the emulator issues carries audiences. Tokens minted for users and ServiceAccounts
without a requested audience get the API server's own (`API_AUDIENCE`) and work against the
API. A TokenRequest with ``spec.audiences`` (what the kubelet does for a projected
``serviceAccountToken`` volume with an ``audience``) mints a token bound to those audiences
only: the API server itself refuses it (401), and only a TokenReview that names one of them
accepts it — so a workload can prove its identity to another service (the console) with a
token that service cannot replay against the API.

A review answers from the token book the emulator authenticates with: the user, its groups,
a uid, and ``status.audiences`` = the requested audiences the token is bound to.
"""

from __future__ import annotations

import hashlib
from typing import Any

from modeleval_testkit.apiserver.auth import API_AUDIENCE, TokenBook, UserInfo

KEY = ("authentication.k8s.io", "tokenreviews")

Obj = dict[str, Any]


def user_uid(user: UserInfo) -> str:
    """A stable uid per user name (the real server uses the ServiceAccount's uid)."""
    return hashlib.sha256(user.name.encode()).hexdigest()[:32]


def review(tokens: TokenBook, body: Any) -> Obj:
    """Answer a TokenReview: who the token is, for which of the requested audiences."""
    spec = dict((body or {}).get("spec") or {})
    token = str(spec.get("token") or "")
    wanted = [str(a) for a in spec.get("audiences") or []] or [API_AUDIENCE]
    found = tokens.lookup(token)
    status: Obj = {"authenticated": False, "user": {}}
    if found is not None:
        user, bound = found
        matching = [a for a in wanted if a in bound]
        if matching:
            status = {
                "authenticated": True,
                "user": {
                    "username": user.name,
                    "uid": user_uid(user),
                    "groups": list(user.groups),
                },
                "audiences": matching,
            }
        else:
            status["error"] = "token audiences do not match the requested audiences"
    elif token:
        status["error"] = "invalid bearer token"
    return {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "metadata": {"creationTimestamp": None},
        "spec": {k: v for k, v in spec.items() if k != "token"},
        "status": status,
    }
