"""What the Deployment and Job controllers share: a work queue, the pod view, names, conditions."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .client import PODS, ApiError, JsonDict, KubeClient
from .informer import Key, key_of
from .podstatus import now

log = logging.getLogger(__name__)

_SAFE = "bcdfghjklmnpqrstvwxz2456789"
"""The alphabet Kubernetes uses for generated name suffixes (no vowels, no look-alikes)."""


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(_SAFE) for _ in range(length))


def template_hash(template: Mapping[str, Any]) -> str:
    """A stable short hash of a pod template (the ``pod-template-hash`` label)."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(10):
        number, index = divmod(number, len(_SAFE))
        chars.append(_SAFE[index])
    return "".join(chars)


def parse_time(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def controller_uid(obj: JsonDict) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref["uid"])
    return None


def owner_reference(owner: JsonDict) -> JsonDict:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def pod_ready(pod: JsonDict) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


def merge_conditions(old: list[JsonDict], new: list[JsonDict]) -> list[JsonDict]:
    """``new`` conditions keeping ``lastTransitionTime`` where the status did not change."""
    previous = {c["type"]: c for c in old}
    stamp = now()
    merged = []
    for condition in new:
        before = previous.pop(condition["type"], None)
        same = before is not None and before.get("status") == condition["status"]
        kept = before.get("lastTransitionTime", stamp) if same and before else stamp
        merged.append({**condition, "lastTransitionTime": kept})
        if "lastUpdateTime" in condition:
            unchanged = same and before is not None and _same_text(before, condition)
            kept_update = before.get("lastUpdateTime", stamp) if unchanged and before else stamp
            merged[-1]["lastUpdateTime"] = kept_update
    return merged + list(previous.values())


def _same_text(a: JsonDict, b: JsonDict) -> bool:
    return a.get("reason") == b.get("reason") and a.get("message") == b.get("message")


class PodView:
    """The informer's pods, corrected for our own writes the watch has not delivered yet.

    Without this a controller that reconciles twice before its pod creations are echoed back
    would create the pods twice (Kubernetes' controllers call this "expectations").
    """

    def __init__(self, cache: dict[Key, JsonDict]) -> None:
        self.cache = cache
        self._created: dict[Key, JsonDict] = {}
        self._deleted: set[Key] = set()

    def owned_by(self, uid: str) -> list[JsonDict]:
        for key in list(self._created):
            if key in self.cache:
                del self._created[key]
        self._deleted &= set(self.cache)
        pods = {**self._created, **self.cache}
        return [
            pod
            for key, pod in pods.items()
            if key not in self._deleted and controller_uid(pod) == uid
        ]

    async def create(self, client: KubeClient, pod: JsonDict) -> None:
        namespace = pod["metadata"]["namespace"]
        created = await client.create(PODS, pod, namespace)
        self._created[key_of(created)] = created

    async def delete(self, client: KubeClient, pod: JsonDict) -> None:
        self._deleted.add(key_of(pod))
        meta = pod["metadata"]
        await client.delete(PODS, meta["name"], meta["namespace"])


class WorkQueue:
    """Serialises reconciles per controller; each key is reconciled by one worker at a time."""

    def __init__(self, name: str, reconcile: Any) -> None:
        self.name = name
        self._reconcile = reconcile
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._pending: set[Key] = set()
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._work(), name=f"controller-{self.name}")

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def add(self, key: Key, delay: float = 0.0) -> None:
        if delay > 0:
            loop = asyncio.get_running_loop()
            earlier = self._timers.get(key)
            if earlier is not None and earlier.when() <= loop.time() + delay:
                return
            if earlier is not None:
                earlier.cancel()
            self._timers[key] = loop.call_later(delay, self._fire, key)
            return
        if key not in self._pending:
            self._pending.add(key)
            self._queue.put_nowait(key)

    def _fire(self, key: Key) -> None:
        self._timers.pop(key, None)
        self.add(key)

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            self._pending.discard(key)
            try:
                again = await self._reconcile(key)
            except ApiError as error:
                log.info("%s %s: %s; retrying", self.name, key, error)
                again = 0.5
            except Exception:
                log.exception("%s %s: reconcile failed", self.name, key)
                again = 1.0
            if again is not None:
                self.add(key, again)
