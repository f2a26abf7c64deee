"""Folding the shards' own status entries into the task's progress (see
:mod:`modeleval.reconcile.shards`).

Each runner pod of a sharded phase writes only ``status.shards["<k>"]``; this handler, on every
watch event of a task that has such entries, writes what they add up to (``percentage``,
``progress``, ``inferenceResults``, ``droppedParameters``). The patch carries the
``resourceVersion`` of the event it was computed from: if the status moved on meanwhile (a
newer shard report, the operator clearing the entries for the next phase), the API answers 409
and the newer event folds again. So a stale fold never overwrites a newer one, and
``percentage`` never goes down.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException

from modeleval import constants as c
from modeleval import kube
from modeleval.handlers.evaltask import FINISHED
from modeleval.metrics import time_reconcile
from modeleval.reconcile.shards import changed, fold

log = logging.getLogger(__name__)

HANDLER_SHARDS = "evaltask-shard-progress"


def shard_count(spec: Mapping[str, Any]) -> int:
    """``spec.runner.shards`` of a raw spec (1 when unset or not a number)."""
    value = (spec.get("runner") or {}).get("shards")
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def _reporting(*, status: kopf.Status, spec: kopf.Spec, **_: Any) -> bool:
    return (
        bool(status.get("shards"))
        and status.get("state") not in FINISHED
        and (shard_count(spec) > 1)
    )


def fold_patch(body: Mapping[str, Any]) -> dict[str, Any]:
    """The status keys to write for ``body`` (empty when the fold says nothing new)."""
    status = body.get("status") or {}
    return changed(status, fold(status, shard_count(body.get("spec") or {})))


@kopf.on.event(c.GROUP, c.VERSION, c.EVAL_TASK_PLURAL, id=HANDLER_SHARDS, when=_reporting)
def on_shard_progress(
    *, type: str | None, body: kopf.Body, namespace: str | None, name: str, **_: Any
) -> None:
    if type == "DELETED":
        return
    patch = fold_patch(body)
    if not patch:
        return
    version = (body.get("metadata") or {}).get("resourceVersion")
    with time_reconcile(kind=c.EVAL_TASK_KIND, handler=HANDLER_SHARDS):
        try:
            kube.patch_custom_status(
                c.EVAL_TASK_PLURAL, namespace or "", name, patch, resource_version=version
            )
        except ApiException as exc:
            if exc.status not in (404, 409):  # moved on or gone: the next event folds again
                raise
