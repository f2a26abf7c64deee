"""Kopf handlers of ``ModelEvalServiceGroup``: reconcile the spec into its children.

create / resume / update all run :func:`reconcile`: parse the spec (an invalid one is a
``PermanentError`` naming the field, also written to status), build the model-cache PVC,
Service and Deployment, create them or bring them to the desired state in place (the Service
is patched, never recreated; the Deployment's spec is replaced with a JSON patch, so removed
fields go away too, which rolls it out; see :mod:`modeleval.handlers.servicegroup_children`),
delete the group's EvalTasks whose dataset was removed, then write the status with the
reconciled ``observedGeneration``. Observation and drift repair (Deployment, Service and pod
events, the timer, EvalTask creation once Running) live in
:mod:`modeleval.handlers.servicegroup_status`. Deletion: the children carry owner references,
so the garbage collector removes them with the group.
"""

from __future__ import annotations

import json
from typing import Any

import kopf
from pydantic import ValidationError

from modeleval import constants as c
from modeleval import kube
from modeleval.api import ModelEvalServiceGroup
from modeleval.api.validation import validation_message
from modeleval.builders.servicegroup_tasks import build_group_tasks
from modeleval.clock import timestamp
from modeleval.events import WARNING, post_event
from modeleval.handlers import servicegroup_status as servicegroup_status
from modeleval.handlers.servicegroup_children import reconcile_children
from modeleval.handlers.servicegroup_status import REFUSED_REASON, list_group_tasks, refresh_group
from modeleval.handlers.usable import refusals
from modeleval.metrics import time_reconcile
from modeleval.reconcile.access import refusal
from modeleval.reconcile.children import owned_by

HANDLER_RECONCILE = "servicegroup-reconcile"
NOT_ALLOWED = REFUSED_REASON
"""Reason: the administrator's policy or an unlabelled object forbids the spec."""


def parse_group(body: dict[str, Any]) -> ModelEvalServiceGroup:
    """The typed group; an invalid spec is reported in status and raised as PermanentError."""
    try:
        return ModelEvalServiceGroup.model_validate(body)
    except ValidationError as exc:
        message = validation_message(exc)
        meta = body.get("metadata") or {}
        kube.patch_custom_status(
            c.SERVICE_GROUP_PLURAL,
            meta.get("namespace") or "default",
            meta.get("name", ""),
            {
                "phase": "Failed",
                "message": message,
                "observedGeneration": meta.get("generation"),
                "lastUpdateTime": timestamp(),
            },
        )
        post_event(body, reason="InvalidSpec", message=message, type=WARNING)
        raise kopf.PermanentError(message) from exc


def refuse_if_not_allowed(group: ModelEvalServiceGroup, body: dict[str, Any]) -> None:
    """Policy problems or unlabelled objects (see ``usable``): status Failed, a ``NotAllowed``
    Event and PermanentError; nothing of the spec is applied."""
    meta = body.get("metadata") or {}
    namespace = meta.get("namespace") or "default"
    problems = refusals(group.spec, namespace)
    if not problems:
        return
    message = refusal(c.SERVICE_GROUP_KIND, meta.get("name", ""), problems)
    now = timestamp()
    ready = {
        "type": "Ready",
        "status": "False",
        "reason": NOT_ALLOWED,
        "message": message,
        "observedGeneration": meta.get("generation"),
        "lastTransitionTime": now,
    }
    kube.patch_custom_status(
        c.SERVICE_GROUP_PLURAL,
        namespace,
        meta.get("name", ""),
        {
            "phase": "Failed",
            "message": message,
            "conditions": [ready],
            "observedGeneration": meta.get("generation"),
            "lastUpdateTime": now,
        },
    )
    post_event(body, reason=NOT_ALLOWED, message=message, type=WARNING)
    raise kopf.PermanentError(message)


def prune_tasks(group: ModelEvalServiceGroup, uid: str | None) -> list[str]:
    """Delete the EvalTasks this group created for datasets / targets no longer listed."""
    namespace = group.metadata.namespace or "default"
    planned = {task["metadata"]["name"] for task in build_group_tasks(group)}
    removed = []
    for name, task in list_group_tasks(namespace, group.metadata.name or "").items():
        if name not in planned and uid is not None and owned_by(task, uid):
            kube.delete_if_present(
                kube.custom().delete_namespaced_custom_object,
                c.GROUP,
                c.VERSION,
                namespace,
                c.EVAL_TASK_PLURAL,
                name,
            )
            removed.append(name)
    return removed


@kopf.on.resume(c.GROUP, c.VERSION, c.SERVICE_GROUP_PLURAL, id=HANDLER_RECONCILE)
@kopf.on.create(c.GROUP, c.VERSION, c.SERVICE_GROUP_PLURAL, id=HANDLER_RECONCILE)
@kopf.on.update(c.GROUP, c.VERSION, c.SERVICE_GROUP_PLURAL, id=HANDLER_RECONCILE)
def reconcile(
    body: kopf.Body,
    name: str,
    namespace: str | None,
    reason: kopf.Reason | str | None = None,
    **_: Any,
) -> None:
    """Bring the Deployment, Service and model-cache PVC to the spec; write the status.

    Children found changed by others, or deleted (except on the group's creation), are put
    back with a ``DriftRepaired`` Event."""
    with time_reconcile(
        kind=c.SERVICE_GROUP_KIND, handler=HANDLER_RECONCILE, ignore=(kopf.TemporaryError,)
    ):
        raw = json.loads(json.dumps(dict(body)))
        group = parse_group(raw)
        refuse_if_not_allowed(group, raw)
        uid = raw["metadata"].get("uid")
        reconcile_children(group, raw, creating=reason == kopf.Reason.CREATE)
        for task in prune_tasks(group, uid):
            post_event(
                raw,
                reason="TaskDeleted",
                message=f"deleted EvalTask {task}: its dataset or target was removed",
            )
        refresh_group(namespace or "default", name, generation=raw["metadata"].get("generation"))


__all__ = ["reconcile", "servicegroup_status"]
