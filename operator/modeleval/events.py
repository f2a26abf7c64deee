"""Kubernetes Events about our objects (core/v1), posted from any handler or thread.

    post_event(body, reason="Running", message="1/1 instances ready", type=NORMAL)

``body`` is the object the event is about (a dict with apiVersion, kind and metadata). Posting
never raises: an Event is a courtesy to the user, so a failure is logged and the caller goes on.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from modeleval import constants as c
from modeleval import kube
from modeleval.clock import timestamp

NORMAL = "Normal"
WARNING = "Warning"
MAX_MESSAGE = 1024
"""Events longer than this are cut (the API server limits message size)."""

log = logging.getLogger(__name__)


def _instance() -> str:
    return os.environ.get("POD_NAME") or socket.gethostname()


def build_event(
    body: Mapping[str, Any],
    *,
    reason: str,
    message: str,
    type: str = NORMAL,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The core/v1 Event manifest (pure; :func:`post_event` sends it)."""
    meta = body.get("metadata") or {}
    stamp = timestamp(now)
    involved = {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "uid": meta.get("uid"),
    }
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "generateName": f"{meta.get('name', 'object')}.",
            "namespace": meta.get("namespace"),
        },
        "involvedObject": {k: v for k, v in involved.items() if v is not None},
        "reason": reason,
        "message": message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…",
        "type": type,
        "source": {"component": c.MANAGER_NAME},
        "reportingComponent": f"{c.GROUP}/operator",
        "reportingInstance": _instance(),
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def post_event(
    body: Mapping[str, Any],
    *,
    reason: str,
    message: str,
    type: str = NORMAL,
    name: str | None = None,
) -> bool:
    """Post an Event about ``body``; False (and a log line) when the API refused it.

    ``name``: a fixed Event name, for an Event that must be posted once whoever retries it
    (an existing one, HTTP 409, counts as posted)."""
    event = build_event(body, reason=reason, message=message, type=type)
    if name is not None:
        event["metadata"].pop("generateName")
        event["metadata"]["name"] = name
    namespace = event["metadata"]["namespace"] or "default"
    try:
        kube.core().create_namespaced_event(namespace, cast(Any, event))
    except ApiException as exc:
        if name is not None and exc.status == 409:
            return True
        log.warning("could not post event %s on %s: %s", reason, event["involvedObject"], exc)
        return False
    except (HTTPError, OSError) as exc:
        log.warning("could not post event %s on %s: %s", reason, event["involvedObject"], exc)
        return False
    return True
