"""The Job controller: pods for a Job, retries up to backoffLimit, deadline, suspend, status.

Indexed Jobs (``completionMode: Indexed``) as Kubernetes runs them: one pod per index
``0 .. completions-1`` (at most ``parallelism`` at a time), named ``<job>-<index>-<suffix>``
with the ``batch.kubernetes.io/job-completion-index`` annotation and label, hostname
``<job>-<index>``, and ``JOB_COMPLETION_INDEX`` in every container's env (from that annotation,
as the real controller injects it). A failed index is retried alone, with its own back-off;
with ``backoffLimitPerIndex`` an index whose pods failed more often than that is marked failed
(``status.failedIndexes``; the next pod carries ``batch.kubernetes.io/job-index-failure-count``),
more failed indexes than ``maxFailedIndexes`` fail the Job at once
(``MaxFailedIndexesExceeded``), and a Job whose every index finished with some failed fails
with ``FailedIndexes``; without it, ``backoffLimit`` counts the failures of all indexes
together. ``status.completedIndexes`` lists the indexes that succeeded (``"0-2,5"``).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

from .client import JOBS, JsonDict, KubeClient
from .config import ExecutorConfig
from .controllers import (
    PodView,
    merge_conditions,
    owner_reference,
    parse_time,
    pod_ready,
    random_suffix,
)
from .events import record_event
from .informer import Key
from .podstatus import now

MAX_BACKOFF_SECONDS = 360
INDEX_KEY = "batch.kubernetes.io/job-completion-index"
"""Annotation and label of an Indexed Job's pod: its index."""
FAILURE_COUNT_KEY = "batch.kubernetes.io/job-index-failure-count"
"""Annotation of an Indexed Job's pod: how often its index failed before it."""


@dataclass
class _Tally:
    """Terminal pods already counted, so a pod deleted later is not forgotten."""

    succeeded: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    active: set[str] = field(default_factory=set)
    last_failure: float = 0.0
    index_of: dict[str, int] = field(default_factory=dict)
    """Pod uid -> its completion index (Indexed Jobs)."""
    index_failures: dict[int, int] = field(default_factory=dict)
    index_last_failure: dict[int, float] = field(default_factory=dict)

    def fail(self, uid: str) -> None:
        if uid not in self.failed:
            self.failed.add(uid)
            self.last_failure = time.monotonic()
            index = self.index_of.get(uid)
            if index is not None:
                self.index_failures[index] = self.index_failures.get(index, 0) + 1
                self.index_last_failure[index] = self.last_failure

    def succeeded_indexes(self) -> set[int]:
        return {self.index_of[uid] for uid in self.succeeded if uid in self.index_of}


def pod_index(pod: JsonDict) -> int | None:
    """An Indexed Job pod's completion index (its annotation), if it has one."""
    value = (pod["metadata"].get("annotations") or {}).get(INDEX_KEY)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def format_indexes(indexes: set[int]) -> str:
    """An index set as Kubernetes writes it: ``"0-2,5"``."""
    parts: list[str] = []
    ordered = sorted(indexes)
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        low, high = ordered[start], ordered[end]
        parts.append(str(low) if low == high else f"{low}-{high}")
        start = end + 1
    return ",".join(parts)


def _condition(kind: str, reason: str, message: str, status: str = "True") -> JsonDict:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastProbeTime": now(),
    }


def _finished(job: JsonDict) -> bool:
    conditions = (job.get("status") or {}).get("conditions") or []
    return any(c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in conditions)


class JobController:
    def __init__(
        self, client: KubeClient, cache: dict[Key, JsonDict], pods: PodView, config: ExecutorConfig
    ) -> None:
        self.client = client
        self.cache = cache
        self.pods = pods
        self.config = config
        self._tallies: dict[str, _Tally] = {}
        self._deleted: set[str] = set()
        """Uids of the pods this controller deleted itself."""

    async def reconcile(self, key: Key) -> float | None:
        job = self.cache.get(key)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return None
        uid = job["metadata"]["uid"]
        spec, status = job.get("spec") or {}, dict(job.get("status") or {})
        pods = self.pods.owned_by(uid)
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        active = [
            p for p in live if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
        ]
        tally = self._tallies.setdefault(uid, _Tally())
        for pod in pods:
            index = pod_index(pod)
            if index is not None:
                tally.index_of.setdefault(pod["metadata"]["uid"], index)
        for pod in live:
            phase = (pod.get("status") or {}).get("phase")
            pod_uid = pod["metadata"]["uid"]
            if phase == "Succeeded":
                tally.succeeded.add(pod_uid)
            elif phase == "Failed":
                tally.fail(pod_uid)
        # An active pod deleted by someone else (kubectl delete, eviction) failed; the pods
        # this controller deletes itself (suspend, deadline, completion) did not.
        remaining = {p["metadata"]["uid"] for p in live}
        for gone in tally.active - remaining - tally.succeeded - self._deleted:
            tally.fail(gone)
        tally.active = {p["metadata"]["uid"] for p in active}
        if _finished(job):
            await self._kill(active)
            return await self._expire(job)
        restarts = sum(
            c.get("restartCount", 0)
            for p in active
            for c in (p.get("status") or {}).get("containerStatuses") or []
        )
        failed = len(tally.failed) + restarts
        succeeded = len(tally.succeeded)
        conditions: list[JsonDict] = []
        was_suspended = any(
            c["type"] == "Suspended" and c["status"] == "True"
            for c in status.get("conditions") or []
        )
        if spec.get("suspend"):
            if not was_suspended:
                await self._event(job, "Suspended", "Job suspended")
            await self._kill(active)
            conditions.append(_condition("Suspended", "JobSuspended", "Job suspended"))
            paused = {"active": 0, "ready": 0, "startTime": None}
            return await self._write(
                job, status, conditions, paused | self._counts(succeeded, failed)
            )
        if was_suspended:
            await self._event(job, "Resumed", "Job resumed")
            conditions.append(_condition("Suspended", "JobResumed", "Job resumed", "False"))
        start = status.get("startTime") if not was_suspended else None
        start = start or now()
        if spec.get("completionMode") == "Indexed":
            return await self._indexed(job, status, conditions, tally, active, start, failed)
        update: JsonDict = {"startTime": start, **self._counts(succeeded, failed)}
        completions = int(spec.get("completions") or 1)
        parallelism = int(spec.get("parallelism", 1))
        deadline = spec.get("activeDeadlineSeconds")
        elapsed = time.time() - parse_time(start)
        if succeeded >= completions:
            return await self._finish(job, status, conditions, update, active, success=True)
        if failed > int(spec.get("backoffLimit", 6)):
            reason = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
            return await self._finish(job, status, conditions, update, active, failure=reason)
        if deadline is not None and elapsed >= float(deadline):
            reason = ("DeadlineExceeded", "Job was active longer than specified deadline")
            return await self._finish(job, status, conditions, update, active, failure=reason)
        wait = None
        wanted = min(parallelism, completions - succeeded) - len(active)
        if wanted > 0 and tally.failed:
            delay = self.config.scaled(min(MAX_BACKOFF_SECONDS, 10 * 2 ** (len(tally.failed) - 1)))
            wait = tally.last_failure + delay - time.monotonic()
        if wanted > 0 and (wait is None or wait <= 0):
            for _ in range(wanted):
                await self._create(job)
            wait = None
        update["active"] = len(active) + max(0, wanted if wait is None else 0)
        update["ready"] = sum(pod_ready(p) for p in active)
        await self._write(job, status, conditions, update)
        timers = [t for t in (wait, None if deadline is None else float(deadline) - elapsed) if t]
        return max(0.05, min(timers)) if timers else None

    async def _indexed(
        self,
        job: JsonDict,
        status: JsonDict,
        conditions: list[JsonDict],
        tally: _Tally,
        active: list[JsonDict],
        start: str,
        failed: int,
    ) -> float | None:
        """An Indexed Job: one pod per index, retries and limits per index."""
        spec = job.get("spec") or {}
        completions = int(spec.get("completions") or 1)
        parallelism = int(spec.get("parallelism", 1))
        per_index = spec.get("backoffLimitPerIndex")
        done = {i for i in tally.succeeded_indexes() if i < completions}
        failed_indexes: set[int] = set()
        if per_index is not None:
            failed_indexes = {
                i for i, n in tally.index_failures.items() if n > int(per_index)
            } - done
        update: JsonDict = {
            "startTime": start,
            "succeeded": len(done),
            "failed": failed,
            "completedIndexes": format_indexes(done),
        }
        if per_index is not None:
            update["failedIndexes"] = format_indexes(failed_indexes)
        deadline = spec.get("activeDeadlineSeconds")
        elapsed = time.time() - parse_time(start)
        max_failed = spec.get("maxFailedIndexes")
        if max_failed is not None and len(failed_indexes) > int(max_failed):
            reason = (
                "MaxFailedIndexesExceeded",
                "Job has exceeded the specified maximal number of failed indexes",
            )
            return await self._finish(job, status, conditions, update, active, failure=reason)
        if len(done) + len(failed_indexes) >= completions and not active:
            if failed_indexes:
                reason = ("FailedIndexes", "Job has failed indexes")
                return await self._finish(job, status, conditions, update, active, failure=reason)
            return await self._finish(job, status, conditions, update, active, success=True)
        default_limit = 6 if per_index is None else 2**31 - 1
        if failed > int(spec.get("backoffLimit", default_limit)):
            reason = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
            return await self._finish(job, status, conditions, update, active, failure=reason)
        if deadline is not None and elapsed >= float(deadline):
            reason = ("DeadlineExceeded", "Job was active longer than specified deadline")
            return await self._finish(job, status, conditions, update, active, failure=reason)
        running = {i for pod in active if (i := pod_index(pod)) is not None}
        waits: list[float] = []
        room = parallelism - len(active)
        for index in range(completions):
            if room <= 0:
                break
            if index in done or index in failed_indexes or index in running:
                continue
            failures = tally.index_failures.get(index, 0)
            if failures:
                delay = self.config.scaled(min(MAX_BACKOFF_SECONDS, 10 * 2 ** (failures - 1)))
                wait = tally.index_last_failure.get(index, 0.0) + delay - time.monotonic()
                if wait > 0:
                    waits.append(wait)
                    continue
            await self._create(job, index=index, failures=failures)
            room -= 1
        update["active"] = parallelism - room
        update["ready"] = sum(pod_ready(p) for p in active)
        await self._write(job, status, conditions, update)
        if deadline is not None:
            waits.append(float(deadline) - elapsed)
        return max(0.05, min(waits)) if waits else None

    @staticmethod
    def _counts(succeeded: int, failed: int) -> JsonDict:
        return {"succeeded": succeeded, "failed": failed}

    async def _finish(
        self,
        job: JsonDict,
        status: JsonDict,
        conditions: list[JsonDict],
        update: JsonDict,
        active: list[JsonDict],
        *,
        success: bool = False,
        failure: tuple[str, str] | None = None,
    ) -> float | None:
        await self._kill(active)
        if success:
            message = "Reached expected number of succeeded pods"
            conditions += [
                _condition("SuccessCriteriaMet", "CompletionsReached", message),
                _condition("Complete", "CompletionsReached", message),
            ]
            update["completionTime"] = now()
            await self._event(job, "Completed", "Job completed")
        elif failure is not None:
            conditions += [_condition("FailureTarget", *failure), _condition("Failed", *failure)]
            await self._event(job, failure[0], failure[1], warning=True)
        update.update(active=0, ready=0)
        await self._write(job, status, conditions, update)
        return None

    async def _expire(self, job: JsonDict) -> float | None:
        """``ttlSecondsAfterFinished``: delete the finished Job (and, by GC, its pods)."""
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is None:
            return None
        conditions = (job.get("status") or {}).get("conditions") or []
        finished_at = max(
            parse_time(c["lastTransitionTime"])
            for c in conditions
            if c["type"] in ("Complete", "Failed") and c.get("lastTransitionTime")
        )
        left = finished_at + float(ttl) - time.time()
        if left > 0:
            return left
        meta = job["metadata"]
        await self.client.delete(JOBS, meta["name"], meta["namespace"], propagation="Background")
        return None

    async def _kill(self, pods: list[JsonDict]) -> None:
        for pod in pods:
            self._deleted.add(pod["metadata"]["uid"])
            await self.pods.delete(self.client, pod)

    async def _create(self, job: JsonDict, *, index: int | None = None, failures: int = 0) -> None:
        meta = job["metadata"]
        template = copy.deepcopy((job.get("spec") or {}).get("template") or {})
        template_meta = template.get("metadata") or {}
        labels = dict(template_meta.get("labels") or {})
        labels.setdefault("batch.kubernetes.io/job-name", meta["name"])
        labels.setdefault("job-name", meta["name"])
        labels.setdefault("batch.kubernetes.io/controller-uid", meta["uid"])
        labels.setdefault("controller-uid", meta["uid"])
        annotations = dict(template_meta.get("annotations") or {})
        pod_spec = template.get("spec") or {}
        name = f"{meta['name']}-{random_suffix()}"
        if index is not None:
            name = f"{meta['name']}-{index}-{random_suffix()}"
            labels[INDEX_KEY] = str(index)
            annotations[INDEX_KEY] = str(index)
            if (job.get("spec") or {}).get("backoffLimitPerIndex") is not None:
                annotations[FAILURE_COUNT_KEY] = str(failures)
            pod_spec.setdefault("hostname", f"{meta['name']}-{index}")
            for container in [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]:
                env = container.setdefault("env", [])
                if not any(var.get("name") == "JOB_COMPLETION_INDEX" for var in env):
                    field_ref = {"fieldPath": f"metadata.annotations['{INDEX_KEY}']"}
                    env.append(
                        {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": field_ref}}
                    )
        pod: JsonDict = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
                "labels": labels,
                "annotations": annotations,
                "ownerReferences": [owner_reference(job)],
            },
            "spec": pod_spec,
        }
        await self.pods.create(self.client, pod)
        await self._event(job, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")

    async def _event(self, job: JsonDict, reason: str, message: str, warning: bool = False) -> None:
        await record_event(
            self.client, job, reason, message, component="job-controller", warning=warning
        )

    async def _write(
        self, job: JsonDict, status: JsonDict, conditions: list[JsonDict], update: JsonDict
    ) -> float | None:
        old_conditions = status.get("conditions") or []
        kinds = {c["type"] for c in conditions}
        kept = [c for c in old_conditions if c["type"] not in kinds]
        merged = merge_conditions([c for c in old_conditions if c["type"] in kinds], conditions)
        for condition in merged:
            previous = next((c for c in old_conditions if c["type"] == condition["type"]), None)
            if previous and previous.get("status") == condition["status"]:
                condition["lastProbeTime"] = previous.get(
                    "lastProbeTime", condition["lastProbeTime"]
                )
        body = dict(update)
        new_conditions = kept + merged
        if new_conditions != old_conditions:
            body["conditions"] = new_conditions
        changed = {k: v for k, v in body.items() if status.get(k) != v}
        if changed:
            meta = job["metadata"]
            await self.client.patch(
                JOBS, meta["name"], meta["namespace"], {"status": changed}, sub="status"
            )
        return None
