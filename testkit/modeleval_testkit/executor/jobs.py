"""The Job controller: pods for a Job, retries up to backoffLimit, deadline, suspend, status."""

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


@dataclass
class _Tally:
    """Terminal pods already counted, so a pod deleted later is not forgotten."""

    succeeded: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    active: set[str] = field(default_factory=set)
    last_failure: float = 0.0

    def fail(self, uid: str) -> None:
        if uid not in self.failed:
            self.failed.add(uid)
            self.last_failure = time.monotonic()


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

    async def _create(self, job: JsonDict) -> None:
        meta = job["metadata"]
        template = copy.deepcopy((job.get("spec") or {}).get("template") or {})
        template_meta = template.get("metadata") or {}
        labels = dict(template_meta.get("labels") or {})
        labels.setdefault("batch.kubernetes.io/job-name", meta["name"])
        labels.setdefault("job-name", meta["name"])
        labels.setdefault("batch.kubernetes.io/controller-uid", meta["uid"])
        labels.setdefault("controller-uid", meta["uid"])
        pod: JsonDict = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{meta['name']}-{random_suffix()}",
                "namespace": meta["namespace"],
                "labels": labels,
                "annotations": dict(template_meta.get("annotations") or {}),
                "ownerReferences": [owner_reference(job)],
            },
            "spec": template.get("spec") or {},
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
