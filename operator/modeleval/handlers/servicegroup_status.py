"""Observation of a ``ModelEvalServiceGroup``: status from its Deployment and pods, its tasks;
repair of children that others changed or deleted.

Triggers: events of the group's Deployment, Service and pods (selected by label), and a timer
as the safety net (it also catches boot timeouts, which no watch event announces). Deployment
and Service events and the timer first run
:func:`~modeleval.handlers.servicegroup_children.repair_group`, which puts back a child that was
scaled, edited or deleted (and writes nothing when nothing differs, so our own writes and status
updates end there). Deployment and pod events and the timer then call :func:`refresh_group`,
which reads the group and its children, computes the status with the pure
:func:`~modeleval.reconcile.servicegroup_status.compute_status`, creates the group's EvalTasks
the first time it is Running, patches the status only when it changed and posts an Event on
every phase transition.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, cast

import kopf
from pydantic import ValidationError

from modeleval import constants as c
from modeleval import kube
from modeleval.api import GroupPhase, ModelEvalServiceGroup
from modeleval.api.servicegroup import GroupTaskRef
from modeleval.builders.common import label_value
from modeleval.builders.servicegroup import COMPONENT, deployment_name, group_labels
from modeleval.builders.servicegroup_tasks import build_group_tasks
from modeleval.clock import timestamp, utc_now
from modeleval.events import post_event
from modeleval.handlers.locks import KeyedLocks
from modeleval.handlers.servicegroup_children import repair_group
from modeleval.kube import to_dict
from modeleval.metrics import observe_state, time_reconcile
from modeleval.reconcile.servicegroup_status import (
    compute_status,
    phase_event,
    status_changed,
    status_to_wire,
    supported_metrics,
    task_refs,
)
from modeleval.settings import SETTINGS

log = logging.getLogger(__name__)

HANDLER_DEPLOYMENT_EVENT = "servicegroup-deployment-event"
HANDLER_POD_EVENT = "servicegroup-pod-event"
HANDLER_SERVICE_EVENT = "servicegroup-service-event"
HANDLER_TIMER = "servicegroup-poll"

CHILD_LABELS: dict[str, Any] = {
    c.LABEL_SERVICE_GROUP: kopf.PRESENT,
    c.LABEL_COMPONENT: COMPONENT,
}
"""Selects the model-server Deployments, Services and pods of every group (not runner pods)."""

STATUS_LOCKS = KeyedLocks()
"""One refresh per group at a time: watch events and the timer run in parallel threads."""


def _count_phase(namespace: str, name: str, phase: str | None) -> None:
    """The group's phase in the modeleval_resources gauge (None: the group is gone)."""
    observe_state(c.SERVICE_GROUP_KIND, namespace, name, phase)


def read_children(
    group: ModelEvalServiceGroup,
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The group's Deployment (or None) and its model-server pods, as dicts."""
    namespace = group.metadata.namespace or "default"
    deployment = kube.read_or_none(
        kube.apps().read_namespaced_deployment, deployment_name(group), namespace
    )
    labels = group_labels(group)
    selector = ",".join(
        f"{key}={labels[key]}" for key in (c.LABEL_SERVICE_GROUP, c.LABEL_COMPONENT)
    )
    pods = kube.core().list_namespaced_pod(namespace, label_selector=selector)
    return (to_dict(deployment) if deployment is not None else None), [
        to_dict(p) for p in pods.items
    ]


def list_group_tasks(namespace: str, group_name: str) -> dict[str, dict[str, Any]]:
    """The EvalTasks labelled as this group's, by name."""
    listed = cast(
        dict[str, Any],
        kube.custom().list_namespaced_custom_object(
            c.GROUP,
            c.VERSION,
            namespace,
            c.EVAL_TASK_PLURAL,
            label_selector=f"{c.LABEL_SERVICE_GROUP}={label_value(group_name)}",
        ),
    )
    return {item["metadata"]["name"]: item for item in listed.get("items", [])}


def ensure_tasks(
    body: dict[str, Any], group: ModelEvalServiceGroup, running: bool
) -> tuple[list[GroupTaskRef], list[str]]:
    """Create the planned EvalTasks not created before (only while Running).

    Returns ``status.tasks`` (the created ones, with state and totalScore) and
    ``status.supportedMetrics`` (the metrics they report)."""
    namespace = group.metadata.namespace or "default"
    planned = build_group_tasks(group)
    if not planned:
        return [], []
    known = {ref.name for ref in (group.status.tasks if group.status else None) or []}
    stored = list_group_tasks(namespace, group.metadata.name or "")
    if running:
        for task in planned:
            name = task["metadata"]["name"]
            if name in known or name in stored:
                continue
            kopf.append_owner_reference(task, owner=kopf.Body(cast(Any, body)))
            created = kube.create_if_absent(
                kube.custom().create_namespaced_custom_object,
                c.GROUP,
                c.VERSION,
                namespace,
                c.EVAL_TASK_PLURAL,
                task,
            )
            if created is not None:
                stored[name] = cast(dict[str, Any], created)
                post_event(
                    body,
                    reason="TaskCreated",
                    message=f"created EvalTask {name} (dataset "
                    f"{task['metadata']['labels'][c.LABEL_DATASET]})",
                )
    refs = [r for r in task_refs(group, stored) if r.name in stored or r.name in known]
    return refs, supported_metrics(stored)


REFUSED_REASON = "NotAllowed"
"""Ready condition reason of a group whose spec the operator refused to apply."""


def refused(body: Mapping[str, Any]) -> bool:
    """The reconcile handler refused the group's current spec (NotAllowed at this generation)."""
    generation = (body.get("metadata") or {}).get("generation")
    return any(
        cond.get("reason") == REFUSED_REASON and cond.get("observedGeneration") == generation
        for cond in (body.get("status") or {}).get("conditions") or []
    )


def refresh_group(namespace: str, name: str, *, generation: int | None = None) -> None:
    """Recompute and store the status of one group (``generation``: the reconciled one)."""
    with STATUS_LOCKS.hold(namespace, name):
        body = kube.get_custom(c.SERVICE_GROUP_PLURAL, namespace, name)
        if body is None or body.get("metadata", {}).get("deletionTimestamp"):
            _count_phase(namespace, name, None)
            return
        try:
            group = ModelEvalServiceGroup.model_validate(body)
        except ValidationError:
            return  # the reconcile handler has reported the invalid spec
        if refused(body):
            return  # the reconcile handler refused this spec; its status stays
        deployment, pods = read_children(group)
        status = compute_status(group, deployment, pods, utc_now())
        _count_phase(namespace, name, str(status.phase))
        if generation is not None:
            status.observed_generation = generation
            for condition in status.conditions or []:
                condition.observed_generation = generation
        tasks, metrics = ensure_tasks(body, group, status.phase == GroupPhase.RUNNING)
        status.tasks = tasks or None
        status.supported_metrics = metrics or None
        wire = status_to_wire(status)
        # observedGeneration: carried over unless the reconcile handler advances it; the
        # per-group lock keeps a timer run from writing back an older value.
        old = body.get("status") or {}
        if not status_changed(old, wire):
            return
        wire["lastUpdateTime"] = timestamp()
        kube.patch_custom_status(c.SERVICE_GROUP_PLURAL, namespace, name, wire)
        if old.get("phase") != wire.get("phase"):
            reason, message, kind = phase_event(old.get("phase"), wire)
            post_event(body, reason=reason, message=message, type=kind)
            log.info("service group %s/%s: %s", namespace, name, message)


def _group_name(namespace: str, label: str) -> str | None:
    """The group whose service-group label value is ``label`` (names over 63 chars are
    hashed into the label; those are found by listing)."""
    if kube.get_custom(c.SERVICE_GROUP_PLURAL, namespace, label) is not None:
        return label
    listed = cast(
        dict[str, Any],
        kube.custom().list_namespaced_custom_object(
            c.GROUP, c.VERSION, namespace, c.SERVICE_GROUP_PLURAL
        ),
    )
    for item in listed.get("items", []):
        name = item["metadata"]["name"]
        if label_value(name) == label:
            return str(name)
    return None


def _on_child(
    labels: Mapping[str, str],
    namespace: str | None,
    handler: str,
    *,
    repair: bool = False,
    refresh: bool = True,
) -> None:
    label = labels.get(c.LABEL_SERVICE_GROUP)
    if not label or not namespace:
        return
    with time_reconcile(kind=c.SERVICE_GROUP_KIND, handler=handler):
        name = _group_name(namespace, label)
        if name is None:
            return
        if repair:
            repair_group(namespace, name)
        if refresh:
            refresh_group(namespace, name)


@kopf.on.event("apps", "v1", "deployments", labels=CHILD_LABELS, id=HANDLER_DEPLOYMENT_EVENT)
def on_deployment_event(labels: Mapping[str, str], namespace: str | None, **_: Any) -> None:
    """A Deployment of a group changed (replicas, rollout, conditions; or scaled, edited,
    deleted by someone else: put back first)."""
    _on_child(labels, namespace, HANDLER_DEPLOYMENT_EVENT, repair=True)


@kopf.on.event("", "v1", "services", labels=CHILD_LABELS, id=HANDLER_SERVICE_EVENT)
def on_service_event(labels: Mapping[str, str], namespace: str | None, **_: Any) -> None:
    """A Service of a group changed or was deleted: put it back (the status does not read it)."""
    _on_child(labels, namespace, HANDLER_SERVICE_EVENT, repair=True, refresh=False)


@kopf.on.event("", "v1", "pods", labels=CHILD_LABELS, id=HANDLER_POD_EVENT)
def on_pod_event(labels: Mapping[str, str], namespace: str | None, **_: Any) -> None:
    """A model-server pod changed: scheduled, started, ready, crashed, deleted."""
    _on_child(labels, namespace, HANDLER_POD_EVENT)


@kopf.timer(
    c.GROUP,
    c.VERSION,
    c.SERVICE_GROUP_PLURAL,
    id=HANDLER_TIMER,
    interval=SETTINGS.poll_seconds,
    initial_delay=SETTINGS.poll_seconds,
)
def poll(name: str, namespace: str | None, **_: Any) -> None:
    """Safety net: missed watch events (drift included), and boot timeouts (time passes
    without events)."""
    if namespace:
        with time_reconcile(kind=c.SERVICE_GROUP_KIND, handler=HANDLER_TIMER):
            repair_group(namespace, name)
            refresh_group(namespace, name)
