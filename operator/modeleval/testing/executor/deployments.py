"""The Deployment controller: pods per template hash, rolling updates, scaling, status.

Simplification: pods are owned by the Deployment directly (no ReplicaSet objects); the
``pod-template-hash`` label and names ``<deploy>-<hash>-<suffix>`` are as in a cluster.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

from .client import DEPLOYMENTS, JsonDict, KubeClient
from .controllers import (
    PodView,
    merge_conditions,
    owner_reference,
    pod_ready,
    random_suffix,
    template_hash,
)
from .events import record_event
from .informer import Key

HASH_LABEL = "pod-template-hash"


def _resolve(value: Any, replicas: int, *, round_up: bool) -> int:
    text = str(value if value is not None else "25%")
    if text.endswith("%"):
        exact = replicas * int(text[:-1]) / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(text)


class DeploymentController:
    def __init__(self, client: KubeClient, cache: dict[Key, JsonDict], pods: PodView) -> None:
        self.client = client
        self.cache = cache
        self.pods = pods
        self._progress: dict[str, tuple[str, int, float]] = {}
        """Deployment uid -> (template hash, available new pods, monotonic time of progress)."""

    async def reconcile(self, key: Key) -> float | None:
        deployment = self.cache.get(key)
        if deployment is None or deployment["metadata"].get("deletionTimestamp"):
            return None
        spec = deployment.get("spec") or {}
        uid = deployment["metadata"]["uid"]
        replicas = int(spec.get("replicas", 1))
        current = template_hash(spec.get("template") or {})
        pods = [
            p
            for p in self.pods.owned_by(uid)
            if not p["metadata"].get("deletionTimestamp")
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
        ]
        new = [p for p in pods if p["metadata"].get("labels", {}).get(HASH_LABEL) == current]
        old = [p for p in pods if p not in new]
        strategy = spec.get("strategy") or {}
        rolling = strategy.get("rollingUpdate") or {}
        surge = _resolve(rolling.get("maxSurge"), replicas, round_up=True)
        unavailable = _resolve(rolling.get("maxUnavailable"), replicas, round_up=False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        if not spec.get("paused"):
            if strategy.get("type") == "Recreate":
                await self._recreate(deployment, current, new, old, replicas)
            else:
                await self._roll(deployment, current, new, old, replicas, surge, unavailable)
        return await self._write_status(deployment, current, pods, new, replicas, unavailable)

    async def _recreate(
        self,
        deployment: JsonDict,
        current: str,
        new: list[JsonDict],
        old: list[JsonDict],
        replicas: int,
    ) -> None:
        if old:
            for pod in old:
                await self.pods.delete(self.client, pod)
            return
        await self._scale(deployment, current, new, replicas)

    async def _roll(
        self,
        deployment: JsonDict,
        current: str,
        new: list[JsonDict],
        old: list[JsonDict],
        replicas: int,
        surge: int,
        unavailable: int,
    ) -> None:
        if len(new) < replicas:
            room = replicas + surge - len(new) - len(old)
            for _ in range(min(room, replicas - len(new))):
                await self._create(deployment, current)
        elif len(new) > replicas:
            await self._scale(deployment, current, new, replicas)
        if not old:
            return
        ready = sum(pod_ready(p) for p in new + old)
        budget = ready - (replicas - unavailable)
        for pod in sorted(old, key=pod_ready):  # unready old pods go first, and for free
            if pod_ready(pod):
                if budget <= 0:
                    break
                budget -= 1
            await self.pods.delete(self.client, pod)

    async def _scale(
        self, deployment: JsonDict, current: str, new: list[JsonDict], replicas: int
    ) -> None:
        for _ in range(replicas - len(new)):
            await self._create(deployment, current)
        if len(new) > replicas:
            order = sorted(
                new,
                key=lambda p: (pod_ready(p), p["metadata"].get("creationTimestamp", "")),
            )
            for pod in order[: len(new) - replicas]:
                await self.pods.delete(self.client, pod)

    async def _create(self, deployment: JsonDict, current: str) -> None:
        meta = deployment["metadata"]
        template = copy.deepcopy((deployment.get("spec") or {}).get("template") or {})
        template_meta = template.get("metadata") or {}
        pod: JsonDict = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{meta['name']}-{current}-{random_suffix()}",
                "namespace": meta["namespace"],
                "labels": {**(template_meta.get("labels") or {}), HASH_LABEL: current},
                "annotations": dict(template_meta.get("annotations") or {}),
                "ownerReferences": [owner_reference(deployment)],
            },
            "spec": template.get("spec") or {},
        }
        await self.pods.create(self.client, pod)
        message = f"Created pod {pod['metadata']['name']} of replica set {meta['name']}-{current}"
        await record_event(
            self.client, deployment, "ScalingReplicaSet", message, component="deployment-controller"
        )

    async def _write_status(
        self,
        deployment: JsonDict,
        current: str,
        pods: list[JsonDict],
        new: list[JsonDict],
        replicas: int,
        unavailable: int,
    ) -> float | None:
        meta, spec = deployment["metadata"], deployment.get("spec") or {}
        old_status = deployment.get("status") or {}
        available = sum(pod_ready(p) for p in pods)
        new_available = sum(pod_ready(p) for p in new)
        rs_name = f"{meta['name']}-{current}"
        complete = len(new) == replicas == len(pods) and new_available == replicas
        deadline = float(spec.get("progressDeadlineSeconds", 600))
        hash_seen, seen_available, since = self._progress.get(meta["uid"], ("", -1, 0.0))
        if hash_seen != current or new_available > seen_available or complete:
            since = time.monotonic()
            self._progress[meta["uid"]] = (current, new_available, since)
        stalled = not complete and time.monotonic() - since > deadline
        if complete:
            progressing = (
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
            )
        elif stalled:
            progressing = (
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{rs_name}" has timed out progressing.',
            )
        else:
            progressing = ("True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.')
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
                "message": progressing[2],
                "lastUpdateTime": "",
            },
        ]
        status: JsonDict = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": len(pods),
            "updatedReplicas": len(new),
            "readyReplicas": available,
            "availableReplicas": available,
            "unavailableReplicas": max(0, replicas - available),
            "conditions": merge_conditions(old_status.get("conditions") or [], conditions),
        }
        if status != {k: old_status.get(k) for k in status}:
            await self.client.patch(
                DEPLOYMENTS, meta["name"], meta["namespace"], {"status": status}, sub="status"
            )
        if complete or stalled:
            return None
        return max(0.1, deadline - (time.monotonic() - since))
