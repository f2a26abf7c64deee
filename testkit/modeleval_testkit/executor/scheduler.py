"""The one node of the local cluster and the scheduler's fit check for it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from decimal import Decimal

from .client import JsonDict
from .resources import pod_requests

PREEMPTION = "preemption: 0/1 nodes are available: "
"""The second sentence real schedulers add when preempting other pods would not help."""


class Node:
    """Capacity for extended resources (GPUs) and the pods bound to it."""

    def __init__(self, name: str, capacity: Mapping[str, int], labels: Mapping[str, str]) -> None:
        self.name = name
        self.capacity = {k: Decimal(v) for k, v in capacity.items()}
        self.labels = dict(labels)
        self._bound: dict[str, dict[str, Decimal]] = {}
        self._changed = asyncio.Event()

    def unschedulable_reason(self, pod: JsonDict) -> str:
        """Why ``pod`` cannot be bound now, as the scheduler says it; ``""`` if it fits."""
        spec = pod.get("spec") or {}
        selector = spec.get("nodeSelector") or {}
        if any(self.labels.get(k) != v for k, v in selector.items()):
            return (
                "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. "
                f"{PREEMPTION}1 Preemption is not helpful for scheduling."
            )
        wanted = pod_requests(spec, self._resources_of(spec))
        short = [
            name
            for name, amount in sorted(wanted.items())
            if amount > 0 and amount > self.capacity.get(name, Decimal(0)) - self._used(name)
        ]
        if short:
            details = ", ".join(f"1 Insufficient {name}" for name in short)
            victims = "1 No preemption victims found for incoming pod."
            return f"0/1 nodes are available: {details}. {PREEMPTION}{victims}"
        return ""

    def bind(self, uid: str, pod: JsonDict) -> None:
        spec = pod.get("spec") or {}
        self._bound[uid] = pod_requests(spec, self._resources_of(spec))

    def release(self, uid: str) -> None:
        if self._bound.pop(uid, None) is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    async def wait_for_change(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), seconds)

    def to_object(self) -> JsonDict:
        """A Node object for ``kubectl get nodes``."""
        capacity = {"cpu": "16", "memory": "64Gi", "pods": "110"}
        capacity.update({k: str(v) for k, v in self.capacity.items()})
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": self.name, "labels": self.labels},
            "spec": {},
            "status": {
                "capacity": capacity,
                "allocatable": capacity,
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                "nodeInfo": {"kubeletVersion": "v1.35.0-local", "operatingSystem": "linux"},
            },
        }

    def _used(self, name: str) -> Decimal:
        return sum((req.get(name, Decimal(0)) for req in self._bound.values()), Decimal(0))

    def _resources_of(self, spec: JsonDict) -> set[str]:
        names = set(self.capacity)
        for container in [*spec.get("containers", []), *(spec.get("initContainers") or [])]:
            for section in ("requests", "limits"):
                names.update(((container.get("resources") or {}).get(section) or {}).keys())
        return {n for n in names if "/" in n}  # extended resources; cpu/memory are not tracked
