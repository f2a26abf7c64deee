"""The ReplicaSet controller: keep ``spec.replicas`` pods of a ReplicaSet, report its status."""

from __future__ import annotations

import copy

from .client import REPLICASETS, JsonDict, KubeClient
from .controllers import PodView, owner_reference, pod_ready, random_suffix
from .events import record_event
from .informer import Key


def active_pods(pods: PodView, uid: str) -> list[JsonDict]:
    """Pods of a controller that count: not being deleted, not finished."""
    return [
        p
        for p in pods.owned_by(uid)
        if not p["metadata"].get("deletionTimestamp")
        and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]


def deletion_order(pods: list[JsonDict]) -> list[JsonDict]:
    """Which pods go first on scale-down: unready before ready, then the newest."""
    newest_first = sorted(
        pods, key=lambda p: p["metadata"].get("creationTimestamp", ""), reverse=True
    )
    return sorted(newest_first, key=pod_ready)


class ReplicaSetController:
    def __init__(self, client: KubeClient, cache: dict[Key, JsonDict], pods: PodView) -> None:
        self.client = client
        self.cache = cache
        self.pods = pods

    async def reconcile(self, key: Key) -> float | None:
        replicaset = self.cache.get(key)
        if replicaset is None or replicaset["metadata"].get("deletionTimestamp"):
            return None
        meta = replicaset["metadata"]
        want = int((replicaset.get("spec") or {}).get("replicas", 1))
        pods = active_pods(self.pods, meta["uid"])
        for _ in range(want - len(pods)):
            pods.append(await self._create(replicaset))
        for pod in deletion_order(pods)[: max(0, len(pods) - want)]:
            await self.pods.delete(self.client, pod)
            await self._event(
                replicaset, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}"
            )
            pods.remove(pod)
        ready = sum(pod_ready(p) for p in pods)
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": meta.get("generation", 1),
        }
        old = replicaset.get("status") or {}
        if status != {k: old.get(k) for k in status}:
            await self.client.patch(
                REPLICASETS, meta["name"], meta["namespace"], {"status": status}, sub="status"
            )
        return None

    async def _create(self, replicaset: JsonDict) -> JsonDict:
        meta = replicaset["metadata"]
        template = copy.deepcopy((replicaset.get("spec") or {}).get("template") or {})
        template_meta = template.get("metadata") or {}
        pod: JsonDict = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{meta['name']}-{random_suffix()}",
                "namespace": meta["namespace"],
                "labels": dict(template_meta.get("labels") or {}),
                "annotations": dict(template_meta.get("annotations") or {}),
                "ownerReferences": [owner_reference(replicaset)],
            },
            "spec": template.get("spec") or {},
        }
        await self.pods.create(self.client, pod)
        await self._event(replicaset, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
        return pod

    async def _event(self, replicaset: JsonDict, reason: str, message: str) -> None:
        await record_event(
            self.client, replicaset, reason, message, component="replicaset-controller"
        )
