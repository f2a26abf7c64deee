"""What clients wrote, for checks that need the objects themselves (schemas), not only who
asked (the request log).

Off by default (``ApiServer(record_writes=True)``). Each create and update keeps the body the
client sent; a patch keeps the object it produced (without ``status`` unless it patched the
status subresource: the status of a Deployment or a Job is the controllers' writing). Objects
that differ only in server-set metadata are kept once.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any

VOLATILE_METADATA = (
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
)


@dataclass(frozen=True)
class WrittenObject:
    """One distinct object a client wrote."""

    user: str
    verb: str
    """``create``, ``update`` or ``patch``."""
    subresource: str
    object: dict[str, Any]


class WriteLog(list[WrittenObject]):
    """Distinct written objects, oldest first."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()

    def record(
        self,
        user: str,
        verb: str,
        subresource: str,
        obj: dict[str, Any],
        *,
        api_version: str,
        kind: str,
    ) -> None:
        kept = copy.deepcopy(obj)
        kept.setdefault("apiVersion", api_version)
        kept.setdefault("kind", kind)
        if verb == "patch" and subresource != "status":
            kept.pop("status", None)
        meta = kept.get("metadata")
        if isinstance(meta, dict):
            for key in VOLATILE_METADATA:
                meta.pop(key, None)
        key = hashlib.sha256(
            json.dumps([user, subresource, kept], sort_keys=True, default=str).encode()
        ).hexdigest()
        if key not in self._seen:
            self._seen.add(key)
            self.append(WrittenObject(user, verb, subresource, kept))

    def by_user(self, user: str) -> list[WrittenObject]:
        return [w for w in self if w.user == user]
