"""Why a model-server pod is not serving: read from the Pod's status as the kubelet writes it.

Pure: a Pod dict (and the group's spec for limits and probe settings) in, a
:class:`PodDiagnosis` out. :mod:`modeleval.reconcile.servicegroup_status` turns the diagnoses of
all pods into the group's phase, conditions and message.

Causes, most specific first: image pull failure, container configuration error, OOMKilled,
boot timeout (startup probe / never ready within ``bootTimeSeconds``), CrashLoopBackOff (with
the exit code), unschedulable (e.g. insufficient ``nvidia.com/gpu``), evicted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from modeleval.api.servicegroup import InstanceStatus, ModelEvalServiceGroup
from modeleval.builders.servicegroup import CONTAINER_NAME, health_of, serving_of

_IMAGE_PULL = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
_CONFIG = {"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}
_SIGNAL_EXITS = {137, 143}  # SIGKILL / SIGTERM: the kubelet stopped the container
_INSUFFICIENT = re.compile(r"Insufficient ([A-Za-z0-9./_-]+)")


class Cause(StrEnum):
    """Reason of a pod failure, used as condition reason and ``lastFailureReason``."""

    IMAGE_PULL = "ImagePullFailed"
    CONFIG = "ContainerConfigError"
    OOM_KILLED = "OOMKilled"
    BOOT_TIMEOUT = "BootTimeout"
    CRASH_LOOP = "CrashLoopBackOff"
    UNSCHEDULABLE = "Unschedulable"
    EVICTED = "Evicted"


FATAL_CAUSES = frozenset(Cause) - {Cause.UNSCHEDULABLE}
"""Causes that make a group with no ready instance Failed; Unschedulable keeps it Pending
(capacity may appear: a node scales up, another workload ends)."""


@dataclass(frozen=True)
class PodDiagnosis:
    """What one pod tells about the group."""

    instance: InstanceStatus
    cause: Cause | None = None
    message: str | None = None
    terminating: bool = False


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _container(pod: dict[str, Any]) -> dict[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    for status in statuses:
        if status.get("name") == CONTAINER_NAME:
            return dict(status)
    return dict(statuses[0]) if statuses else {}


def _condition(pod: dict[str, Any], kind: str) -> dict[str, Any]:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return {}


def _memory_limit(group: ModelEvalServiceGroup) -> str | None:
    resources = group.spec.resources
    if resources and resources.limits and resources.limits.memory is not None:
        return str(resources.limits.memory)
    return None


def _insufficient(message: str) -> str:
    found = sorted(set(_INSUFFICIENT.findall(message)))
    return ", ".join(f"insufficient {name}" for name in found)


def _diagnose(
    group: ModelEvalServiceGroup, pod: dict[str, Any], now: datetime
) -> tuple[Cause | None, str | None]:
    name = (pod.get("metadata") or {}).get("name", "?")
    status = pod.get("status") or {}
    container = _container(pod)
    state = container.get("state") or {}
    last = (container.get("lastState") or {}).get("terminated") or {}
    waiting = state.get("waiting") or {}
    terminated = state.get("terminated") or {}
    restarts = int(container.get("restartCount") or 0)
    health = health_of(group)
    probe = f"GET {health.liveness_path} on port {serving_of(group).port}"

    if status.get("reason") == "Evicted":
        return Cause.EVICTED, f"pod {name} was evicted: {status.get('message', '')}".strip()
    if waiting.get("reason") in _IMAGE_PULL:
        detail = f": {waiting['message']}" if waiting.get("message") else ""
        return (
            Cause.IMAGE_PULL,
            f"image {group.spec.image} cannot be pulled ({waiting['reason']}){detail}",
        )
    if waiting.get("reason") in _CONFIG:
        detail = waiting.get("message") or "check env Secrets / ConfigMaps and the command"
        return Cause.CONFIG, f"container of pod {name} cannot start ({waiting['reason']}): {detail}"
    # A ready container's old termination (lastState) is history, not a current failure.
    for info in (terminated, {} if container.get("ready") else last):
        if info.get("reason") == "OOMKilled":
            limit = _memory_limit(group)
            within = f" of {limit}" if limit else ""
            return (
                Cause.OOM_KILLED,
                f"container of pod {name} was OOMKilled: it exceeded its memory limit{within} "
                f"({restarts} restarts)",
            )
    ready = bool(container.get("ready"))
    if not ready:
        started = parse_time(status.get("startTime"))
        unready_since = parse_time(_condition(pod, "Ready").get("lastTransitionTime")) or started
        slack = max(health.period_seconds, 5)
        never_ready = (
            started is not None
            and unready_since is not None
            and (unready_since - started).total_seconds() <= slack
        )
        booting = (
            never_ready
            and started is not None
            and (now - started).total_seconds() > health.boot_time_seconds + slack
        )
        probe_killed = (
            restarts > 0
            and not container.get("started")
            and int(last.get("exitCode", -1)) in _SIGNAL_EXITS
        )
        if container and (booting or probe_killed):
            return (
                Cause.BOOT_TIMEOUT,
                f"pod {name} is not ready within the boot time of {health.boot_time_seconds}s "
                f"(boot timeout): the startup/readiness probe ({probe}) keeps failing, "
                f"{restarts} restarts",
            )
    # Between two crashes the container runs again for a moment: a restarted, unready
    # container whose last run failed is still crash-looping (no flapping to Deploying).
    crashed_before = restarts > 0 and int(last.get("exitCode", 0)) != 0
    in_back_off = waiting.get("reason") == "CrashLoopBackOff"
    if in_back_off or (restarts > 0 and terminated) or (crashed_before and not ready):
        info = last or terminated
        code = info.get("exitCode", "?")
        why = f", {info['reason']}" if info.get("reason") else ""
        return (
            Cause.CRASH_LOOP,
            f"container of pod {name} keeps crashing (CrashLoopBackOff): exit code {code}{why}, "
            f"{restarts} restarts",
        )
    scheduled = _condition(pod, "PodScheduled")
    if scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable":
        detail = scheduled.get("message") or ""
        short = _insufficient(detail)
        summary = f"{short} ({detail})" if short and detail else short or detail or "no node fits"
        return Cause.UNSCHEDULABLE, f"pod {name} cannot be scheduled: {summary}"
    return None, None


def diagnose_pod(group: ModelEvalServiceGroup, pod: dict[str, Any], now: datetime) -> PodDiagnosis:
    """The instance entry of ``pod`` and its failure cause, if any."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    container = _container(pod)
    cause, message = _diagnose(group, pod, now)
    last = (container.get("lastState") or {}).get("terminated") or {}
    reason: str | None = str(cause) if cause else None
    detail = message
    if reason is None and last:
        reason = last.get("reason") or "Error"
        detail = f"exit code {last.get('exitCode', '?')}"
    instance = InstanceStatus(
        name=meta.get("name", ""),
        node=spec.get("nodeName"),
        ready=bool(container.get("ready")) and _condition(pod, "Ready").get("status") == "True",
        restarts=int(container.get("restartCount") or 0),
        phase=status.get("phase"),
        last_failure_reason=reason,
        last_failure_message=detail,
    )
    return PodDiagnosis(
        instance=instance,
        cause=cause,
        message=message,
        terminating=bool(meta.get("deletionTimestamp")),
    )
