"""The Deployment controller: one ReplicaSet per pod template, rolling updates, status.

The ReplicaSet named ``<deploy>-<pod-template-hash>`` of the current template is scaled up
while the older ones are scaled down, within ``maxSurge``/``maxUnavailable`` (or all at once
for ``Recreate``); the ReplicaSet controller turns replica counts into pods.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

from .client import DEPLOYMENTS, REPLICASETS, JsonDict, KubeClient
from .controllers import (
    PodView,
    controller_uid,
    merge_conditions,
    owner_reference,
    pod_ready,
    template_hash,
)
from .events import record_event
from .informer import Key
from .replicasets import active_pods

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"


def _resolve(value: Any, replicas: int, *, round_up: bool) -> int:
    text = str(value if value is not None else "25%")
    if text.endswith("%"):
        exact = replicas * int(text[:-1]) / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(text)


def _replicas(replicaset: JsonDict) -> int:
    return int((replicaset.get("spec") or {}).get("replicas", 0))


class DeploymentController:
    def __init__(
        self,
        client: KubeClient,
        cache: dict[Key, JsonDict],
        replicasets: dict[Key, JsonDict],
        pods: PodView,
    ) -> None:
        self.client = client
        self.cache = cache
        self.replicasets = replicasets
        self.pods = pods
        self._created: dict[Key, JsonDict] = {}
        self._progress: dict[str, tuple[str, int, float]] = {}
        """Deployment uid -> (template hash, available new pods, monotonic time of progress)."""

    async def reconcile(self, key: Key) -> float | None:
        deployment = self.cache.get(key)
        if deployment is None or deployment["metadata"].get("deletionTimestamp"):
            return None
        spec = deployment.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        current = template_hash(spec.get("template") or {})
        owned = self._owned(deployment)
        new = next((rs for rs in owned if rs["metadata"]["name"].endswith(f"-{current}")), None)
        if new is None:
            new = await self._create_replicaset(deployment, current, owned)
            owned.append(new)
        old = [rs for rs in owned if rs is not new]
        strategy = spec.get("strategy") or {}
        rolling = strategy.get("rollingUpdate") or {}
        surge = _resolve(rolling.get("maxSurge"), replicas, round_up=True)
        unavailable = _resolve(rolling.get("maxUnavailable"), replicas, round_up=False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        pods = {
            rs["metadata"]["uid"]: active_pods(self.pods, rs["metadata"]["uid"]) for rs in owned
        }
        if not spec.get("paused"):
            if strategy.get("type") == "Recreate":
                await self._recreate(deployment, new, old, pods, replicas)
            else:
                await self._roll(deployment, new, old, pods, replicas, surge, unavailable)
            await self._prune(old, int(spec.get("revisionHistoryLimit", 10)))
        return await self._write_status(deployment, current, new, pods, replicas, unavailable)

    def _owned(self, deployment: JsonDict) -> list[JsonDict]:
        uid = deployment["metadata"]["uid"]
        found = {k: rs for k, rs in self.replicasets.items() if controller_uid(rs) == uid}
        for key in list(self._created):
            if key in self.replicasets:
                del self._created[key]
            elif controller_uid(self._created[key]) == uid:
                found[key] = self._created[key]
        return [rs for rs in found.values() if not rs["metadata"].get("deletionTimestamp")]

    async def _create_replicaset(
        self, deployment: JsonDict, current: str, owned: list[JsonDict]
    ) -> JsonDict:
        meta, spec = deployment["metadata"], deployment.get("spec") or {}
        template = copy.deepcopy(spec.get("template") or {})
        template_meta = template.setdefault("metadata", {})
        template_meta["labels"] = {**(template_meta.get("labels") or {}), HASH_LABEL: current}
        selector = copy.deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = current
        revisions = [int(rs["metadata"].get("annotations", {}).get(REVISION, 0)) for rs in owned]
        body: JsonDict = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{meta['name']}-{current}",
                "namespace": meta["namespace"],
                "labels": dict(template_meta["labels"]),
                "annotations": {REVISION: str(max(revisions, default=0) + 1)},
                "ownerReferences": [owner_reference(deployment)],
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
        }
        created = await self.client.create(REPLICASETS, body, meta["namespace"])
        self._created[(meta["namespace"], body["metadata"]["name"])] = created
        return created

    async def _scale(self, deployment: JsonDict, replicaset: JsonDict, count: int) -> None:
        if _replicas(replicaset) == count:
            return
        meta = replicaset["metadata"]
        direction = "up" if count > _replicas(replicaset) else "down"
        replicaset.setdefault("spec", {})["replicas"] = count
        await self.client.patch(
            REPLICASETS, meta["name"], meta["namespace"], {"spec": {"replicas": count}}
        )
        message = f"Scaled {direction} replica set {meta['name']} to {count}"
        await record_event(
            self.client, deployment, "ScalingReplicaSet", message, component="deployment-controller"
        )

    async def _recreate(
        self,
        deployment: JsonDict,
        new: JsonDict,
        old: list[JsonDict],
        pods: dict[str, list[JsonDict]],
        replicas: int,
    ) -> None:
        for replicaset in old:
            await self._scale(deployment, replicaset, 0)
        if not any(pods[rs["metadata"]["uid"]] for rs in old):
            await self._scale(deployment, new, replicas)

    async def _roll(
        self,
        deployment: JsonDict,
        new: JsonDict,
        old: list[JsonDict],
        pods: dict[str, list[JsonDict]],
        replicas: int,
        surge: int,
        unavailable: int,
    ) -> None:
        total = _replicas(new) + sum(_replicas(rs) for rs in old)
        target = _replicas(new)
        if target < replicas:
            target = min(replicas, target + max(0, replicas + surge - total))
        elif target > replicas:
            target = replicas
        await self._scale(deployment, new, target)
        ready = sum(pod_ready(p) for group in pods.values() for p in group)
        budget = ready - (replicas - unavailable)
        oldest_first = sorted(old, key=lambda rs: rs["metadata"].get("creationTimestamp", ""))
        for replicaset in oldest_first:
            count = _replicas(replicaset)
            ready_here = sum(pod_ready(p) for p in pods[replicaset["metadata"]["uid"]])
            count = min(count, ready_here)  # unready old pods go first, and for free
            cut = min(count, max(0, budget))
            budget -= cut
            await self._scale(deployment, replicaset, count - cut)

    async def _prune(self, old: list[JsonDict], keep: int) -> None:
        idle = [
            rs for rs in old if _replicas(rs) == 0 and not (rs.get("status") or {}).get("replicas")
        ]
        idle.sort(key=lambda rs: int(rs["metadata"].get("annotations", {}).get(REVISION, 0)))
        for replicaset in idle[: max(0, len(idle) - keep)]:
            meta = replicaset["metadata"]
            await self.client.delete(REPLICASETS, meta["name"], meta["namespace"])

    async def _write_status(
        self,
        deployment: JsonDict,
        current: str,
        new: JsonDict,
        pods: dict[str, list[JsonDict]],
        replicas: int,
        unavailable: int,
    ) -> float | None:
        meta, spec = deployment["metadata"], deployment.get("spec") or {}
        old_status = deployment.get("status") or {}
        every = [p for group in pods.values() for p in group]
        fresh = pods[new["metadata"]["uid"]]
        available = sum(pod_ready(p) for p in every)
        new_available = sum(pod_ready(p) for p in fresh)
        rs_name = new["metadata"]["name"]
        complete = len(fresh) == replicas == len(every) and new_available == replicas
        deadline = float(spec.get("progressDeadlineSeconds", 600))
        hash_seen, seen_available, since = self._progress.get(meta["uid"], ("", -1, 0.0))
        if hash_seen != current or new_available > seen_available or complete:
            since = time.monotonic()
            self._progress[meta["uid"]] = (current, new_available, since)
        stalled = not complete and time.monotonic() - since > deadline
        if complete:
            progressing = ("True", "NewReplicaSetAvailable", "has successfully progressed")
        elif stalled:
            progressing = ("False", "ProgressDeadlineExceeded", "has timed out progressing")
        else:
            progressing = ("True", "ReplicaSetUpdated", "is progressing")
        has_minimum = available >= replicas - unavailable
        conditions = [
            {
                "type": "Available",
                "status": "True" if has_minimum else "False",
                "reason": "MinimumReplicasAvailable"
                if has_minimum
                else "MinimumReplicasUnavailable",
                "message": "Deployment has minimum availability."
                if has_minimum
                else "Deployment does not have minimum availability.",
                "lastUpdateTime": "",
            },
            {
                "type": "Progressing",
                "status": progressing[0],
                "reason": progressing[1],
                "message": f'ReplicaSet "{rs_name}" {progressing[2]}.',
                "lastUpdateTime": "",
            },
        ]
        status: JsonDict = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": len(every),
            "updatedReplicas": len(fresh),
            "readyReplicas": available,
            "availableReplicas": available,
            "unavailableReplicas": max(0, replicas - available),
            "conditions": merge_conditions(old_status.get("conditions") or [], conditions),
        }
        if status != {k: old_status.get(k) for k in status}:
            await self.client.patch(
                DEPLOYMENTS, meta["name"], meta["namespace"], {"status": status}, sub="status"
            )
        revision = new["metadata"].get("annotations", {}).get(REVISION)
        if revision and (meta.get("annotations") or {}).get(REVISION) != revision:
            body = {"metadata": {"annotations": {REVISION: revision}}}
            await self.client.patch(DEPLOYMENTS, meta["name"], meta["namespace"], body)
        if complete or stalled:
            return None
        return max(0.1, deadline - (time.monotonic() - since))
