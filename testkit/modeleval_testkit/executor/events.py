"""Events as the kubelet, scheduler and controllers record them (``kubectl describe``)."""

from __future__ import annotations

import contextlib

import aiohttp

from .client import EVENTS, ApiError, JsonDict, KubeClient
from .controllers import random_suffix
from .podstatus import now


async def record_event(
    client: KubeClient,
    obj: JsonDict,
    reason: str,
    message: str,
    *,
    component: str,
    warning: bool = False,
    host: str = "",
) -> None:
    """Create a core/v1 Event about ``obj``; failures are logged, never raised."""
    meta = obj["metadata"]
    stamp = now()
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{random_suffix(10)}", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": obj.get("apiVersion", "v1"),
            "kind": obj.get("kind", "Pod"),
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta.get("uid", ""),
        },
        "reason": reason,
        "message": message,
        "type": "Warning" if warning else "Normal",
        "source": {"component": component, **({"host": host} if host else {})},
        "reportingComponent": component,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }
    with contextlib.suppress(ApiError, aiohttp.ClientError):
        await client.create(EVENTS, event, meta["namespace"])
