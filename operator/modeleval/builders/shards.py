"""Pure: how a sharded phase Job is built (an Indexed Job of ``spec.runner.shards`` pods).

Inference, and the judge calls of a sharded task's scoring, are endpoint-bound: N pods send N
times the requests. They run as one Indexed Job (``completionMode: Indexed``,
``completions = parallelism = shards``): Kubernetes gives pod ``k`` the index ``k``
(``JOB_COMPLETION_INDEX``), retries a failed index alone, and with Kueue the Job is admitted as
a whole (one Workload whose pod set counts ``parallelism`` pods).

Retries are per shard where the cluster has ``backoffLimitPerIndex`` (beta and on by default
from Kubernetes 1.29, GA in 1.33): ``backoffLimitPerIndex = spec.runner.backoffLimit`` and
``maxFailedIndexes: 0``, so the first shard to exhaust its retries fails the Job at once
(``MaxFailedIndexesExceeded``) and the task names that shard. ``backoffLimit`` is set to
``(backoffLimit + 1) x shards`` beside it, more than the shards can fail before one of them
exhausts its own retries; a cluster without per-index limits (the feature gate off) drops the
two per-index fields and counts the failures of all shards together against that total
instead (docs/concepts.md, "Shards").
"""

from __future__ import annotations

from typing import Any

from modeleval.api import EvalTask

SHARDED_PHASES = ("infer", "judge")
"""The phases that run as one pod per shard (the others run one pod)."""
SHARDS_ENV = "MODELEVAL_SHARDS"
"""The shard count a sharded Job's runners read (``modeleval.runner.shards``)."""


def shard_count(task: EvalTask) -> int:
    """``spec.runner.shards`` (1 when unset)."""
    runner = task.spec.runner
    return (runner.shards if runner else None) or 1


def is_sharded(task: EvalTask, phase: str) -> bool:
    """Whether ``phase`` of ``task`` runs as an Indexed Job of several shards."""
    return phase in SHARDED_PHASES and shard_count(task) > 1


def indexed_job_fields(shards: int, backoff_limit: int) -> dict[str, Any]:
    """The Job spec fields of an Indexed Job of ``shards`` pods, each retried
    ``backoff_limit`` times."""
    return {
        "completionMode": "Indexed",
        "completions": shards,
        "parallelism": shards,
        "backoffLimitPerIndex": backoff_limit,
        "maxFailedIndexes": 0,
        "backoffLimit": (backoff_limit + 1) * shards,
    }


def shard_env(shards: int) -> list[dict[str, Any]]:
    """The container env of a sharded Job (Kubernetes adds ``JOB_COMPLETION_INDEX`` itself)."""
    return [{"name": SHARDS_ENV, "value": str(shards)}]
