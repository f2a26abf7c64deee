"""Who is asking, and may they: identities from Kubernetes, permissions from Kubernetes RBAC.

Identities come from three places, tried in order:

1. ``Authorization: Bearer <token>`` — checked with TokenReview: first for the console's own
   audience (runner pods' projected tokens, which the API server would refuse), then for the
   API server's (a user's ``kubectl create token`` token).
2. The trusted user header (opt-in, behind an auth proxy such as oauth2-proxy).
3. The session cookie a browser got from the login page (which exchanged a bearer token for
   it). Only the sha256 of the cookie is stored; the session keeps the identity TokenReview
   gave at login, for ``session_hours``.

Every permission is a SubjectAccessReview on the EvalTask (``get`` to view, ``annotate`` to
annotate, ``patch`` to complete, ``patch evaltasks/status`` to ingest). Answers of both
reviews are reused for ``auth_cache_seconds``. Nothing is decided from a local user list.

CSRF: every state-changing form carries a token bound to the session (or to the header
identity) by an HMAC with a secret kept in the database; requests authenticated by a bearer
token need none (browsers never send those on their own).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from modeleval.clock import utc_now
from modeleval.console.db.models import Meta, Session
from modeleval.console.kubeapi import KubeApi, ResourceCheck, UserInfo
from modeleval.console.settings import ConsoleSettings
from modeleval.console.store import Store

SESSION_COOKIE = "modeleval_session"
LOGIN_CSRF_COOKIE = "modeleval_login"
SECRET_KEY = "csrf-secret"
MAX_CACHE = 10_000


@dataclass(frozen=True)
class Identity:
    """An authenticated caller and how it proved who it is."""

    user: UserInfo
    via: str
    """``token`` (bearer header), ``header`` (trusted proxy header) or ``session`` (cookie)."""
    session: str | None = None
    """sha256 of the session cookie, for ``via == "session"``."""

    @property
    def name(self) -> str:
        return self.user.username

    @property
    def needs_csrf(self) -> bool:
        """Browsers send cookies and proxy-added headers on their own; bearer tokens never."""
        return self.via != "token"


class TtlCache:
    """A small thread-safe cache whose entries expire after ``seconds``."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._data: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> tuple[bool, Any]:
        if self.seconds <= 0:
            return False, None
        with self._lock:
            found = self._data.get(key)
            if found is None or found[0] < self.clock():
                return False, None
            return True, found[1]

    def put(self, key: Any, value: Any) -> None:
        if self.seconds <= 0:
            return
        with self._lock:
            if len(self._data) >= MAX_CACHE:
                self._data.clear()
            self._data[key] = (self.clock() + self.seconds, value)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Auth:
    """Authentication, sessions, permission checks and CSRF tokens of one console."""

    def __init__(self, settings: ConsoleSettings, kube: KubeApi, store: Store) -> None:
        self.settings = settings
        self.kube = kube
        self.store = store
        self.tokens = TtlCache(settings.auth_cache_seconds)
        self.decisions = TtlCache(settings.auth_cache_seconds)
        self._secret: bytes | None = None

    # -- secret ------------------------------------------------------------------------------

    @property
    def secret(self) -> bytes:
        """The CSRF secret: created once, kept in the database (every replica shares it)."""
        if self._secret is None:
            with self.store.writes.begin() as session:
                row = session.get(Meta, SECRET_KEY)
                if row is None:
                    row = Meta(key=SECRET_KEY, value=secrets.token_hex(32))
                    session.add(row)
                value = row.value
            self._secret = bytes.fromhex(value)
        return self._secret

    # -- authentication ----------------------------------------------------------------------

    def review(self, token: str) -> UserInfo | None:
        """The user of a bearer token: console audience first, then the API server's."""
        key = _sha256(token)
        hit, cached = self.tokens.get(key)
        if hit:
            return cached  # type: ignore[no-any-return]
        user = self.kube.review_token(token, [self.settings.audience])
        if user is None:
            user = self.kube.review_token(token)
        self.tokens.put(key, user)
        return user

    def identify(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> Identity | None:
        """The caller of a request, or None (anonymous)."""
        authorization = headers.get("authorization") or ""
        if authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
            user = self.review(token) if token else None
            return Identity(user, "token") if user is not None else None
        header = self.settings.trusted_user_header
        if header and headers.get(header.lower()):
            groups_header = self.settings.trusted_groups_header
            raw = headers.get(groups_header.lower(), "") if groups_header else ""
            groups = tuple(g.strip() for g in raw.split(",") if g.strip())
            return Identity(UserInfo(headers[header.lower()], groups), "header")
        cookie = cookies.get(SESSION_COOKIE)
        if cookie:
            return self._session(cookie)
        return None

    def _session(self, cookie: str) -> Identity | None:
        session_id = _sha256(cookie)
        with self.store.sessions() as db:
            row = db.get(Session, session_id)
            if row is None or row.expires_at <= utc_now():
                return None
            extra = tuple(sorted((k, tuple(v)) for k, v in (row.extra or {}).items()))
            user = UserInfo(row.username, tuple(row.groups or ()), row.user_uid or "", extra)
        return Identity(user, "session", session_id)

    def login(self, token: str) -> tuple[str, Identity] | None:
        """Exchange a bearer token for a new session: ``(cookie value, identity)``."""
        user = self.review(token)
        if user is None:
            return None
        cookie = secrets.token_urlsafe(32)
        now = utc_now()
        with self.store.writes.begin() as db:
            db.add(
                Session(
                    id=_sha256(cookie),
                    username=user.username,
                    groups=list(user.groups),
                    user_uid=user.uid or None,
                    extra=user.extra_dict() or None,
                    created_at=now,
                    expires_at=now + timedelta(hours=self.settings.session_hours),
                )
            )
        return cookie, Identity(user, "session", _sha256(cookie))

    def logout(self, identity: Identity) -> None:
        if identity.session is None:
            return
        with self.store.writes.begin() as db:
            db.execute(delete(Session).where(Session.id == identity.session))

    def expire_sessions(self, now: datetime | None = None) -> int:
        with self.store.writes.begin() as db:
            expired = list(
                db.scalars(select(Session.id).where(Session.expires_at <= (now or utc_now())))
            )
            if expired:
                db.execute(delete(Session).where(Session.id.in_(expired)))
        return len(expired)

    # -- authorisation -----------------------------------------------------------------------

    def allowed(self, identity: Identity, check: ResourceCheck) -> bool:
        key = (identity.user, check)
        hit, cached = self.decisions.get(key)
        if hit:
            return bool(cached)
        decision = self.kube.allowed(identity.user, check)
        self.decisions.put(key, decision)
        return decision

    # -- CSRF --------------------------------------------------------------------------------

    def csrf_token(self, identity: Identity) -> str:
        subject = identity.session or f"user:{identity.name}"
        return hmac.new(self.secret, f"csrf:{subject}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, identity: Identity, value: str | None) -> bool:
        if not identity.needs_csrf:
            return True
        return bool(value) and hmac.compare_digest(self.csrf_token(identity), value or "")
