"""Small helpers every builder shares: standard labels, owner references, child names.

All pure: they read typed metadata and return plain dicts or strings.

    standard_labels("llama", component="model-server", service_group="llama")
    owner_reference(group)                    # -> {"apiVersion": ..., "uid": ...} or None
    child_name("my-group", "dataset-7", "target")  # DNS-1123 label, <= 63 chars, stable
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Protocol

from modeleval import constants as c
from modeleval.api.common import ObjectMetaLite

MAX_LABEL_NAME = 63
"""Longest DNS-1123 label: Service names, label values, most child names."""

_INVALID = re.compile(r"[^a-z0-9-]+")


class _Owner(Protocol):
    @property
    def api_version(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def metadata(self) -> ObjectMetaLite: ...


def standard_labels(
    instance: str,
    *,
    component: str,
    service_group: str | None = None,
    eval_task: str | None = None,
) -> dict[str, str]:
    """The recommended ``app.kubernetes.io/*`` labels plus our own selector labels."""
    labels = {
        c.LABEL_NAME: "modeleval",
        c.LABEL_INSTANCE: label_value(instance),
        c.LABEL_COMPONENT: component,
        c.LABEL_MANAGED_BY: c.MANAGER_NAME,
    }
    if service_group is not None:
        labels[c.LABEL_SERVICE_GROUP] = label_value(service_group)
    if eval_task is not None:
        labels[c.LABEL_EVAL_TASK] = label_value(eval_task)
    return labels


def owner_reference(owner: _Owner) -> dict[str, Any] | None:
    """A controller owner reference to ``owner``; None while it has no uid (not yet stored)."""
    meta = owner.metadata.model_dump()
    uid = meta.get("uid")
    if not uid or not owner.metadata.name:
        return None
    return {
        "apiVersion": owner.api_version,
        "kind": owner.kind,
        "name": owner.metadata.name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def child_metadata(
    owner: _Owner,
    name: str,
    labels: dict[str, str],
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``metadata`` of a child object: name, the owner's namespace, labels, owner reference."""
    meta: dict[str, Any] = {"name": name, "labels": labels}
    if owner.metadata.namespace:
        meta["namespace"] = owner.metadata.namespace
    if annotations:
        meta["annotations"] = annotations
    ref = owner_reference(owner)
    if ref is not None:
        meta["ownerReferences"] = [ref]
    return meta


def short_hash(*parts: str, length: int = 6) -> str:
    """A stable hex digest of ``parts`` (for name suffixes)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]


def child_name(*parts: str, max_length: int = MAX_LABEL_NAME) -> str:
    """Join ``parts`` with ``-`` into a DNS-1123 label of at most ``max_length`` characters.

    Characters a label cannot hold become ``-``. A name that had to be cleaned or trimmed gets
    a hash of the original parts as suffix, so two different inputs never share a name and the
    same input always gives the same one.
    """
    raw = "-".join(p for p in parts if p)
    clean = _INVALID.sub("-", raw.lower()).strip("-")
    clean = re.sub(r"-{2,}", "-", clean)
    if clean == raw and len(clean) <= max_length:
        return clean
    suffix = short_hash(*parts)
    head = clean[: max_length - len(suffix) - 1].rstrip("-")
    return f"{head}-{suffix}" if head else suffix


def label_value(value: str) -> str:
    """``value`` made a valid label value (<= 63 chars, alphanumeric ends), stable."""
    if len(value) <= MAX_LABEL_NAME and re.fullmatch(
        r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]", value
    ):
        return value
    return child_name(value)
