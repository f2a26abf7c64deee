"""The status of a ``ModelEvalServiceGroup``, derived from its Deployment and pods.

Pure: :func:`compute_status` reads the group (its spec and previous status), the Deployment
(or None) and the pods, and returns the new status. The handlers patch it when it differs from
the stored one (:func:`status_changed`).

Phases:

- ``Pending``: no Deployment yet, no pod scheduled yet, zero instances asked for, or pods
  waiting for capacity (Unschedulable: the message names the missing resource).
- ``Deploying``: pods exist and boot (within ``bootTimeSeconds``), or scale up.
- ``Running``: every desired instance is ready and no pod is failing.
- ``Degraded``: some instances serve, others fail (the message names the cause).
- ``Failed``: no instance serves and a pod failed: image pull, OOMKilled, CrashLoopBackOff,
  boot timeout, configuration error, eviction, node shutdown, rejection by the node's kubelet
  (e.g. a GPU it cannot allocate), a container whose status the kubelet lost
  (:mod:`modeleval.reconcile.pod_failures` reads each pod).

Conditions: ``Ready`` (True while at least one instance answers at ``status.url``),
``Progressing`` (True while deploying or rolling out), ``Degraded`` (True while a pod fails).
``status.tasks`` and ``status.observedGeneration`` are carried over from the previous status:
the reconcile handler owns them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from modeleval import constants as c
from modeleval.api.common import Condition, ConditionStatus
from modeleval.api.servicegroup import (
    GroupPhase,
    GroupTaskRef,
    ModelEvalServiceGroup,
    ModelEvalServiceGroupStatus,
)
from modeleval.builders.servicegroup import (
    deployment_name,
    group_url,
    health_of,
    service_name,
)
from modeleval.builders.servicegroup_tasks import build_group_tasks
from modeleval.reconcile.pod_failures import (
    FATAL_CAUSES,
    Cause,
    PodDiagnosis,
    diagnose_pod,
)

READY = "Ready"
PROGRESSING = "Progressing"
DEGRADED = "Degraded"

_VOLATILE = ("lastUpdateTime",)


def _rolling_out(deployment: dict[str, Any], desired: int) -> bool:
    meta = deployment.get("metadata") or {}
    status = deployment.get("status") or {}
    generation = meta.get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and (observed is None or observed < generation):
        return True
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    return updated < desired or total > desired


def _deadline_exceeded(deployment: dict[str, Any]) -> str | None:
    for condition in (deployment.get("status") or {}).get("conditions") or []:
        if (
            condition.get("type") == "Progressing"
            and condition.get("status") == "False"
            and condition.get("reason") == "ProgressDeadlineExceeded"
        ):
            return str(condition.get("message") or "the rollout made no progress")
    return None


def _first_failure(diagnoses: list[PodDiagnosis]) -> PodDiagnosis | None:
    failing = [d for d in diagnoses if d.cause is not None]
    if not failing:
        return None
    # The most telling cause first: fatal causes before Unschedulable, then by pod name.
    failing.sort(key=lambda d: (d.cause not in FATAL_CAUSES, d.instance.name))
    return failing[0]


def _phase_and_message(
    group: ModelEvalServiceGroup,
    deployment: dict[str, Any] | None,
    diagnoses: list[PodDiagnosis],
    ready: int,
) -> tuple[GroupPhase, str, str | None]:
    """(phase, message, failure reason or None)."""
    desired = group.spec.instances
    if deployment is None:
        return GroupPhase.PENDING, "creating the Deployment", None
    if desired == 0:
        return GroupPhase.PENDING, "scaled to zero instances", None
    if ready >= desired:
        # A pod that ended (evicted, shut down with its node) is never restarted: its
        # ReplicaSet replaced it, and it lingers until garbage-collected. Once every instance
        # is ready again it is history (its instance entry keeps the cause), not a failure.
        diagnoses = [d for d in diagnoses if d.instance.phase not in ("Failed", "Succeeded")]
    failure = _first_failure(diagnoses)
    cause = str(failure.cause) if failure else None
    detail = failure.message if failure and failure.message else ""
    if failure is None and (deadline := _deadline_exceeded(deployment)):
        cause, detail = str(Cause.BOOT_TIMEOUT), f"rollout stalled: {deadline}"
    counts = f"{ready}/{desired} instances ready"
    if ready >= desired:
        if cause:
            return GroupPhase.DEGRADED, f"{counts}; rollout blocked: {detail}", cause
        return GroupPhase.RUNNING, f"{counts} at {group_url(group)}", None
    if ready > 0:
        if cause:
            return GroupPhase.DEGRADED, f"{counts}: {detail}", cause
        return GroupPhase.DEPLOYING, f"{counts}, scaling up", None
    if cause and (failure is None or failure.cause in FATAL_CAUSES):
        return GroupPhase.FAILED, detail, cause
    if cause:
        return GroupPhase.PENDING, detail, cause
    live = [d for d in diagnoses if not d.terminating]
    if not live or all(d.instance.node is None for d in live):
        return GroupPhase.PENDING, f"{counts}: waiting for pods to be scheduled", None
    boot = health_of(group).boot_time_seconds
    return GroupPhase.DEPLOYING, f"{counts}: booting (up to {boot}s)", None


def _conditions(
    group: ModelEvalServiceGroup,
    phase: GroupPhase,
    message: str,
    cause: str | None,
    ready: int,
    rolling_out: bool,
    now: datetime,
) -> list[Condition]:
    desired = group.spec.instances
    if ready >= 1:
        ready_reason = "AllInstancesReady" if ready >= desired else "SomeInstancesReady"
        ready_cond = (ConditionStatus.TRUE, ready_reason, f"{ready}/{desired} instances ready")
    else:
        ready_cond = (ConditionStatus.FALSE, cause or f"{phase}", message)
    deploying = phase in (GroupPhase.PENDING, GroupPhase.DEPLOYING) or rolling_out
    if deploying and cause is None and desired > 0:
        progressing = (ConditionStatus.TRUE, "RollingOut" if ready else "Deploying", message)
    elif cause:
        progressing = (ConditionStatus.FALSE, cause, message)
    else:
        progressing = (ConditionStatus.FALSE, "Complete", message)
    if cause and phase in (GroupPhase.DEGRADED, GroupPhase.FAILED):
        degraded = (ConditionStatus.TRUE, cause, message)
    else:
        degraded = (ConditionStatus.FALSE, "AsExpected", "no failing instance")
    previous = {c.type: c for c in (group.status.conditions if group.status else None) or []}
    generation = group.status.observed_generation if group.status else None
    out = []
    for kind, (status, reason, text) in (
        (READY, ready_cond),
        (PROGRESSING, progressing),
        (DEGRADED, degraded),
    ):
        old = previous.get(kind)
        since = old.last_transition_time if old and old.status == status else None
        out.append(
            Condition(
                type=kind,
                status=status,
                reason=reason,
                message=text,
                last_transition_time=since or now,
                observed_generation=generation,
            )
        )
    return out


def compute_status(
    group: ModelEvalServiceGroup,
    deployment: dict[str, Any] | None,
    pods: list[dict[str, Any]],
    now: datetime,
) -> ModelEvalServiceGroupStatus:
    """The group's status from its Deployment and pods (``now``: for boot timeouts)."""
    diagnoses = sorted(
        (diagnose_pod(group, pod, now) for pod in pods), key=lambda d: d.instance.name
    )
    live = [d for d in diagnoses if not d.terminating]
    ready = sum(1 for d in live if d.instance.ready)
    phase, message, cause = _phase_and_message(group, deployment, live, ready)
    rolling_out = deployment is not None and _rolling_out(deployment, group.spec.instances)
    previous = group.status or ModelEvalServiceGroupStatus()
    return ModelEvalServiceGroupStatus(
        phase=phase,
        url=group_url(group) if ready >= 1 else None,
        ready=f"{ready}/{group.spec.instances}",
        ready_replicas=ready,
        desired_replicas=group.spec.instances,
        instances=[d.instance for d in live],
        deployment_name=deployment_name(group),
        service_name=service_name(group),
        supported_metrics=previous.supported_metrics,
        export_path=group.spec.export_path,
        tasks=previous.tasks,
        message=message,
        conditions=_conditions(group, phase, message, cause, ready, rolling_out, now),
        observed_generation=previous.observed_generation,
        last_update_time=previous.last_update_time,
    )


def status_to_wire(status: ModelEvalServiceGroupStatus) -> dict[str, Any]:
    """The status as stored: camelCase; unset optional fields as null so a merge patch
    clears them (e.g. ``url`` when no instance is ready any more)."""
    wire = status.model_dump(by_alias=True, mode="json", exclude_none=True)
    for field in type(status).model_fields.values():
        wire.setdefault(field.alias or "", None)
    wire.pop("", None)
    return wire


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def status_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    """Whether ``new`` differs from the stored status in anything but ``lastUpdateTime``
    (nulls and absent keys count as the same)."""
    before = {k: v for k, v in _prune(old or {}).items() if k not in _VOLATILE}
    after = {k: v for k, v in _prune(new).items() if k not in _VOLATILE}
    return bool(before != after)


def supported_metrics(stored: dict[str, dict[str, Any]]) -> list[str]:
    """``status.supportedMetrics``: every metric the group's tasks report, sorted."""
    names: set[str] = set()
    for task in stored.values():
        scores = (task.get("status") or {}).get("scores") or {}
        names.update((scores.get("metrics") or {}).keys())
    return sorted(names)


def task_refs(
    group: ModelEvalServiceGroup, stored: dict[str, dict[str, Any]]
) -> list[GroupTaskRef]:
    """``status.tasks``: each planned task with state / totalScore from ``stored`` (by name)."""
    refs = []
    for task in build_group_tasks(group):
        name = task["metadata"]["name"]
        status = (stored.get(name) or {}).get("status") or {}
        model = task["spec"]["models"][0]
        refs.append(
            GroupTaskRef(
                name=name,
                dataset=task["metadata"]["labels"][c.LABEL_DATASET],
                target=(model.get("serviceGroupRef") or {}).get("name") or model["name"],
                state=status.get("state"),
                total_score=status.get("totalScore"),
            )
        )
    return refs


def phase_event(old_phase: str | None, status: dict[str, Any]) -> tuple[str, str, str]:
    """(reason, message, type) of the Event for a phase transition to ``status``'s phase."""
    phase = status.get("phase") or ""
    reason = phase
    for condition in status.get("conditions") or []:
        if condition.get("type") == DEGRADED and condition.get("status") == "True":
            reason = condition.get("reason") or phase
    kind = "Warning" if phase in (GroupPhase.DEGRADED, GroupPhase.FAILED) else "Normal"
    message = f"{old_phase or 'None'} -> {phase}: {status.get('message') or ''}".strip()
    return reason, message, kind
