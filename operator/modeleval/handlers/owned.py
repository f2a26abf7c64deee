"""Creating a child that must be ours: "already exists" is success only for our own object.

A 409 on create means *something* has the name, not that it is ours. A ServiceAccount, Role,
RoleBinding, ConfigMap, PVC or Job that someone else created under a child's name (before the
parent existed, or by guessing the name) would otherwise be used as is: its token handed to
the runner, its data mounted, a key written into it. :func:`create_owned` reads the existing
object and returns it only when its controlling owner reference is the parent; otherwise it
raises :class:`NotOwnedError` naming the object, and nothing is used or written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException

from modeleval import kube
from modeleval.reconcile.children import controlled_by

NOT_OWNED = (
    "{kind} {name} already exists and is not owned by {owner}; it is not used or changed: "
    "delete or rename that {kind}, or give the {owner_kind} another name"
)
"""The message of :class:`NotOwnedError` (docs/troubleshooting.md quotes it)."""


class NotOwnedError(kopf.PermanentError):
    """A child's name is taken by an object the parent does not control."""

    def __init__(self, kind: str, name: str, owner_kind: str, owner_name: str) -> None:
        super().__init__(
            NOT_OWNED.format(
                kind=kind, name=name, owner=f"{owner_kind} {owner_name}", owner_kind=owner_kind
            )
        )
        self.kind = kind
        self.name = name


def create_owned(
    kind: str,
    create: Callable[..., Any],
    read: Callable[..., Any],
    body: dict[str, Any],
    *,
    owner_uid: str | None,
    owner: tuple[str, str],
) -> dict[str, Any] | None:
    """Create ``body``; None when created, the existing object when ``owner_uid`` controls it.

    ``owner`` is ``(kind, name)`` of the parent, for the message. Raises
    :class:`NotOwnedError` for someone else's object, ``kopf.TemporaryError`` when the object
    went away between the create and the read.
    """
    meta = body["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    try:
        create(namespace, body)
        return None
    except ApiException as exc:
        if exc.status != 409:
            raise
    existing = kube.read_or_none(read, name, namespace)
    if existing is None:
        raise kopf.TemporaryError(f"{kind} {name} went away meanwhile; retrying", delay=1)
    current = kube.to_dict(existing)
    if not controlled_by(current, owner_uid):
        raise NotOwnedError(kind, name, *owner)
    return current
