"""Time as the Kubernetes API writes it: UTC, whole seconds, RFC 3339 with a ``Z``.

utc_now()            # datetime, UTC, microseconds dropped
timestamp()          # "2026-12-02T10:03:53Z" (now)
timestamp(moment)    # the same format for a given datetime
"""

from __future__ import annotations

from datetime import UTC, datetime

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def timestamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime(FORMAT)
