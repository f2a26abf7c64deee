"""Console settings, read once from the environment (the chart and kustomize set them).

Every setting is a ``MODELEVAL_CONSOLE_*`` variable; ``modeleval console`` flags override the
listen address and the database.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from modeleval import constants as c

DEFAULT_DATABASE = "sqlite:///./modeleval-console.db"
VENDOR_APIS = ("qianfan", "zstack")
"""The vendor APIs the console can serve (docs/vendor-qianfan.md, docs/vendor-zstack.md)."""


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _env_float(name: str, default: float) -> float:
    raw = _env(name)
    return float(raw) if raw else default


def _env_list(name: str, default: str) -> tuple[str, ...]:
    raw = os.environ.get(name, default)
    return tuple(part.strip().lower() for part in raw.split(",") if part.strip())


def _access_key_namespace() -> str | None:
    return _env("MODELEVAL_CONSOLE_ACCESS_KEY_NAMESPACE") or None


def _database_url() -> str:
    url = _env("MODELEVAL_CONSOLE_DATABASE_URL")
    if url:
        return url
    password = _env("MODELEVAL_CONSOLE_DATABASE_PASSWORD")
    host = _env("MODELEVAL_CONSOLE_DATABASE_HOST")
    if host:  # PostgreSQL from parts (the chart passes the password from a Secret)
        from urllib.parse import quote

        user = quote(_env("MODELEVAL_CONSOLE_DATABASE_USER", "modeleval"), safe="")
        name = _env("MODELEVAL_CONSOLE_DATABASE_NAME", "modeleval")
        port = _env("MODELEVAL_CONSOLE_DATABASE_PORT", "5432")
        auth = f"{user}:{quote(password, safe='')}" if password else user
        sslmode = _env("MODELEVAL_CONSOLE_DATABASE_SSLMODE", "prefer")
        return f"postgresql+psycopg://{auth}@{host}:{port}/{name}?sslmode={sslmode}"
    return DEFAULT_DATABASE


@dataclass(frozen=True)
class ConsoleSettings:
    """What the console needs to know about its environment."""

    database_url: str = field(default_factory=_database_url)
    """SQLAlchemy URL (``MODELEVAL_CONSOLE_DATABASE_URL``): ``sqlite:////data/console.db``
    (the default, on a PVC, one replica) or ``postgresql+psycopg://user:pw@host/db``. Or the
    parts ``MODELEVAL_CONSOLE_DATABASE_HOST``/``_PORT``/``_USER``/``_PASSWORD``/``_NAME``/
    ``_SSLMODE`` (PostgreSQL)."""

    host: str = field(default_factory=lambda: _env("MODELEVAL_CONSOLE_HOST", "0.0.0.0"))
    """Listen address (``MODELEVAL_CONSOLE_HOST``)."""

    port: int = field(default_factory=lambda: int(_env("MODELEVAL_CONSOLE_PORT", "8000")))
    """Listen port (``MODELEVAL_CONSOLE_PORT``)."""

    audience: str = field(
        default_factory=lambda: _env("MODELEVAL_CONSOLE_AUDIENCE", c.CONSOLE_AUDIENCE)
    )
    """Token audience of runner pods (``MODELEVAL_CONSOLE_AUDIENCE``); the operator's
    ``MODELEVAL_CONSOLE_AUDIENCE`` must match."""

    trusted_user_header: str | None = field(
        default_factory=lambda: _env("MODELEVAL_CONSOLE_TRUSTED_USER_HEADER") or None
    )
    """Opt-in: take the user from this request header (e.g. ``X-Forwarded-User`` of
    oauth2-proxy) without a token. Only behind a proxy that sets it and strips it from clients
    (``MODELEVAL_CONSOLE_TRUSTED_USER_HEADER``); unset: headers are never trusted."""

    trusted_groups_header: str | None = field(
        default_factory=lambda: _env("MODELEVAL_CONSOLE_TRUSTED_GROUPS_HEADER") or None
    )
    """With the user header: comma-separated groups from this header
    (``MODELEVAL_CONSOLE_TRUSTED_GROUPS_HEADER``, e.g. ``X-Forwarded-Groups``)."""

    session_hours: float = field(
        default_factory=lambda: _env_float("MODELEVAL_CONSOLE_SESSION_HOURS", 8.0)
    )
    """Lifetime of a browser session after login (``MODELEVAL_CONSOLE_SESSION_HOURS``). A
    session keeps the identity the token had at login; permissions are checked on every
    request."""

    secure_cookies: bool = field(
        default_factory=lambda: _env("MODELEVAL_CONSOLE_SECURE_COOKIES", "true").lower() != "false"
    )
    """Mark cookies ``Secure`` (``MODELEVAL_CONSOLE_SECURE_COOKIES``; ``false`` only for plain
    HTTP on localhost: the demo and tests)."""

    sync_seconds: float = field(
        default_factory=lambda: _env_float("MODELEVAL_CONSOLE_SYNC_SECONDS", 10.0)
    )
    """How often the console lists EvalTasks to mirror their state and notice deleted ones
    (``MODELEVAL_CONSOLE_SYNC_SECONDS``; 0: never, e.g. without a cluster)."""

    retention_days: float = field(
        default_factory=lambda: _env_float("MODELEVAL_CONSOLE_RETENTION_DAYS", 90.0)
    )
    """Results of a task whose EvalTask is deleted are removed this many days after it ended
    (or was last seen, if it never ended) (``MODELEVAL_CONSOLE_RETENTION_DAYS``; 0: keep
    forever). Results of existing EvalTasks are always kept."""

    auth_cache_seconds: float = field(
        default_factory=lambda: _env_float("MODELEVAL_CONSOLE_AUTH_CACHE_SECONDS", 10.0)
    )
    """How long TokenReview and SubjectAccessReview answers are reused
    (``MODELEVAL_CONSOLE_AUTH_CACHE_SECONDS``; 0: ask every time)."""

    public_url: str | None = field(
        default_factory=lambda: _env("MODELEVAL_CONSOLE_PUBLIC_URL").rstrip("/") or None
    )
    """The URL users open (``MODELEVAL_CONSOLE_PUBLIC_URL``): shown in the CLI's hints and used
    to check the ``Origin`` of form posts behind a proxy that rewrites the host."""

    vendor_apis: tuple[str, ...] = field(
        default_factory=lambda: _env_list("MODELEVAL_CONSOLE_VENDOR_APIS", ",".join(VENDOR_APIS))
    )
    """Vendor APIs served beside the console's own (``MODELEVAL_CONSOLE_VENDOR_APIS``, comma
    separated): ``qianfan`` (``POST /v2/eval?Action=…``), ``zstack`` (``/zstack/v1/…``).
    Default both; empty: none."""

    vendor_namespace: str = field(
        default_factory=lambda: _env("MODELEVAL_CONSOLE_VENDOR_NAMESPACE", "default")
    )
    """Namespace of objects the vendor APIs create when the request names none
    (``MODELEVAL_CONSOLE_VENDOR_NAMESPACE``): a Qianfan task created with a bearer token, a
    ZStack group without ``projectUuid``. A Qianfan access key creates in its ServiceAccount's
    namespace."""

    access_key_namespace: str | None = field(default_factory=_access_key_namespace)
    """Namespace of the Qianfan access-key Secrets (``MODELEVAL_CONSOLE_ACCESS_KEY_NAMESPACE``;
    the chart sets the release namespace when ``console.vendors.accessKeys.enabled``). Unset or
    empty: AK/SK signatures are refused and only bearer tokens work."""

    vendor_max_body_bytes: int = field(
        default_factory=lambda: int(_env("MODELEVAL_CONSOLE_VENDOR_MAX_BODY_BYTES", "1048576"))
    )
    """Largest request body the vendor APIs read (``MODELEVAL_CONSOLE_VENDOR_MAX_BODY_BYTES``,
    1 MiB); a larger one is refused in the vendor's error shape before it is read."""

    signature_max_age_seconds: int = field(
        default_factory=lambda: int(_env("MODELEVAL_CONSOLE_SIGNATURE_MAX_AGE_SECONDS", "3600"))
    )
    """Longest validity a Qianfan signature may claim
    (``MODELEVAL_CONSOLE_SIGNATURE_MAX_AGE_SECONDS``, 3600): a signed request is refused once
    ``x-bce-date`` plus the smaller of its own expiration and this has passed, so a captured
    request cannot be replayed for long. The SDK signs for 300 s by default."""
