"""A shard's status: its own entry ``status.shards["<k>"]``, never the task-wide keys.

Many pods write the same task's status. A JSON merge patch replaces lists and scalars but
merges objects key by key, so each shard patching only ``{"shards": {"<k>": {...}}}`` never
overwrites another shard's entry (no lost updates, no read-modify-write). The operator folds
the entries into ``percentage``, ``progress``, ``inferenceResults`` and ``droppedParameters``
(:mod:`modeleval.reconcile.shards`), so ``percentage`` is one number that never goes down.

An entry: ``shards`` (the count, so an entry of an earlier layout is told apart), ``phase``,
``total``, ``processed``, ``succeeded``, ``failed``, ``itemsPerSecond``, ``etaSeconds``,
``updatedAt``, ``percentage``, ``pod``, and when known ``inferenceResults``,
``droppedParameters`` and ``error`` (the shard's most common error).
"""

from __future__ import annotations

import asyncio
import inspect
import os
from typing import Any

from modeleval.runner.progress import AnyStatusSink
from modeleval.runner.shards import Shard

TASK_KEYS = ("percentage", "progress")
"""Keys a shard turns into its entry instead of writing them for the task."""


def shard_entry(shard: Shard, patch: dict[str, Any], pod: str | None) -> dict[str, Any]:
    """The entry for ``shard`` from a patch the progress reporter built for the task."""
    entry: dict[str, Any] = {"shards": shard.count}
    entry.update(patch.get("progress") or {})
    if "percentage" in patch:
        entry["percentage"] = patch["percentage"]
    for key, value in patch.items():
        if key not in TASK_KEYS:
            entry[key] = value
    if pod:
        entry["pod"] = pod
    return entry


class ShardStatusSink:
    """Wraps a task's status sink: every patch becomes this shard's entry."""

    def __init__(self, inner: AnyStatusSink, shard: Shard, *, pod: str | None = None) -> None:
        self.inner = inner
        self.shard = shard
        self.pod = pod if pod is not None else os.environ.get("HOSTNAME")

    async def patch_status(self, patch: dict[str, Any]) -> None:
        entry = shard_entry(self.shard, patch, self.pod)
        body = {"shards": {str(self.shard.index): entry}}
        if inspect.iscoroutinefunction(self.inner.patch_status):
            await self.inner.patch_status(body)
        else:
            await asyncio.to_thread(self.inner.patch_status, body)

    async def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None and inspect.iscoroutinefunction(close):
            await close()
