"""Kopf handlers of EvalTask: every trigger calls one level-triggered ``reconcile``.

Triggers: create / resume / update of the task, events of its Jobs, events of the service
groups it targets (through an index), and a rate-limited sweep over the unfinished tasks as
the safety net (:mod:`modeleval.handlers.evaltask_fleet`). ``reconcile`` reads the
task and its children, asks :func:`~modeleval.reconcile.evaltask_state.next_step` what to do,
does it (create the next phase Job with its ConfigMap, PVC and RBAC; or delete Jobs) and
writes the operator-owned status keys. It is safe to run twice and after a restart: children
have deterministic names, an existing one is used only when the task controls it (anyone
else's fails the task, naming it: :mod:`modeleval.handlers.owned`), status is recomputed from
them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import kopf
from pydantic import ValidationError

from modeleval import constants as c
from modeleval import events, kube
from modeleval.api import EvalTask, TaskState
from modeleval.api.validation import validation_message
from modeleval.builders.evaltask import (
    build_results_pvc,
    build_task_config_map,
    resolve_models,
)
from modeleval.builders.jobs import build_job, build_runner_rbac
from modeleval.clock import timestamp
from modeleval.events import NORMAL, WARNING
from modeleval.handlers.evaltask_observe import World, observe
from modeleval.handlers.locks import KeyedLocks
from modeleval.handlers.once import ACTIVE, OnceEvents
from modeleval.handlers.owned import NotOwnedError, create_owned
from modeleval.handlers.usable import refusals
from modeleval.metrics import forget, observe_state, time_reconcile
from modeleval.reconcile.access import refusal
from modeleval.reconcile.evaltask_state import (
    DEGRADED,
    Decision,
    Phase,
    deferred_spec_change,
    degraded_event,
    name_taken,
    next_step,
    not_allowed,
    status_patch,
)
from modeleval.reconcile.evaltask_status import (
    DROPPED_PARAMETERS,
    dropped_parameter_events,
    operator_keys,
)
from modeleval.settings import SETTINGS

log = logging.getLogger(__name__)

HANDLER_CHANGE = "evaltask-reconcile"
HANDLER_JOB_EVENT = "evaltask-job-event"
HANDLER_GROUP_EVENT = "evaltask-target-group-event"
HANDLER_MANUAL_DONE = "evaltask-manual-completed"
INDEX_BY_GROUP = "evaltask_by_group"
FINISHED = (TaskState.SUCCEEDED.value, TaskState.FAILED.value)
SPEC_DEFERRED = "SpecChangeDeferred"
"""Event reason: the spec changed while a phase Job runs; it applies from the next Job."""

POSTED_EVENTS = OnceEvents()
"""Names of the once-only Events this process posted, per task (a restarted operator meets a
409); dropped when the task is deleted or finished (:mod:`handlers.evaltask_fleet`)."""

TASK_LOCKS = KeyedLocks()
"""One reconcile per task at a time: triggers of different kinds run in parallel threads."""


def post_event(raw: Mapping[str, Any], decision: Decision) -> None:
    kind = WARNING if decision.state == TaskState.FAILED else NORMAL
    events.post_event(raw, reason=decision.reason, message=decision.message or "", type=kind)


def report_dropped_parameters(raw: Mapping[str, Any]) -> None:
    """An Event per ``status.droppedParameters`` entry the runner wrote (once each)."""
    meta = raw.get("metadata") or {}
    namespace, name = meta.get("namespace") or "", meta.get("name") or ""
    for event_name, message in dropped_parameter_events(
        name, meta.get("uid") or "", raw.get("status") or {}
    ):
        if POSTED_EVENTS.seen(namespace, name, event_name):
            continue
        if events.post_event(
            raw, reason=DROPPED_PARAMETERS, message=message, type=WARNING, name=event_name
        ):
            POSTED_EVENTS.add(namespace, name, event_name)


def _create_child(task: EvalTask, kind: str, api: tuple[Any, Any], body: dict[str, Any]) -> Any:
    """Create one child of ``task``, or find it when the task controls it (see ``owned``)."""
    create, read = api
    uid = (task.metadata.model_extra or {}).get("uid")
    return create_owned(
        kind, create, read, body, owner_uid=uid, owner=(c.EVAL_TASK_KIND, task.metadata.name or "")
    )


def _upsert_config_map(task: EvalTask, body: dict[str, Any]) -> None:
    core = kube.core()
    meta = body["metadata"]
    current = _create_child(
        task,
        "ConfigMap",
        (core.create_namespaced_config_map, core.read_namespaced_config_map),
        body,
    )
    if current is not None and (current.get("data") or {}) != body["data"]:
        core.patch_namespaced_config_map(meta["name"], meta["namespace"], {"data": body["data"]})


def create_phase_job(task: EvalTask, world: World, phase: Phase) -> None:
    """The phase Job and what it mounts and runs as. Each child is created, or used when the
    task controls it; a same-named object of anyone else raises ``NotOwnedError``."""
    core, rbac = kube.core(), kube.rbac()
    account, role, binding = build_runner_rbac(task)
    _create_child(
        task,
        "ServiceAccount",
        (core.create_namespaced_service_account, core.read_namespaced_service_account),
        account,
    )
    _create_child(task, "Role", (rbac.create_namespaced_role, rbac.read_namespaced_role), role)
    _create_child(
        task,
        "RoleBinding",
        (rbac.create_namespaced_role_binding, rbac.read_namespaced_role_binding),
        binding,
    )
    pvc = build_results_pvc(task, SETTINGS)
    if pvc is not None:
        _create_child(
            task,
            "PersistentVolumeClaim",
            (
                core.create_namespaced_persistent_volume_claim,
                core.read_namespaced_persistent_volume_claim,
            ),
            pvc,
        )
    _upsert_config_map(task, build_task_config_map(task, resolve_models(task.spec, world.groups)))
    batch = kube.batch()
    job = build_job(task, phase.value, SETTINGS)
    _create_child(task, "Job", (batch.create_namespaced_job, batch.read_namespaced_job), job)


def delete_jobs(namespace: str, names: tuple[str, ...]) -> None:
    """Background propagation: the Job goes now, its pods get SIGTERM and flush checkpoints."""
    for name in names:
        kube.delete_if_present(
            kube.batch().delete_namespaced_job, name, namespace, propagation_policy="Background"
        )


def fail_invalid(raw: Mapping[str, Any], exc: ValidationError) -> None:
    meta = raw.get("metadata") or {}
    decision = Decision(TaskState.FAILED, "InvalidSpec", validation_message(exc))
    observe_state(c.EVAL_TASK_KIND, meta.get("namespace") or "", meta.get("name") or "", "Failed")
    patch = status_patch(
        raw.get("status") or {}, decision, generation=meta.get("generation"), now=timestamp()
    )
    if patch:
        kube.patch_custom_status(c.EVAL_TASK_PLURAL, meta["namespace"], meta["name"], patch)
        if "state" in patch:
            post_event(raw, decision)
    raise kopf.PermanentError(decision.message)


def reconcile(namespace: str, name: str) -> Decision | None:
    """Bring the task one step closer to done; None when it is gone or finished."""
    ACTIVE.touch(namespace, name)
    with TASK_LOCKS.hold(namespace, name):
        raw = kube.get_custom(c.EVAL_TASK_PLURAL, namespace, name)
        if raw is None or (raw.get("metadata") or {}).get("deletionTimestamp"):
            forget(c.EVAL_TASK_KIND, namespace, name)
            return None
        meta, status = raw["metadata"], raw.get("status") or {}
        if is_done(status, meta):
            observe_state(c.EVAL_TASK_KIND, namespace, name, status["state"])
            return None
        try:
            # The status is read raw: the runner's keys must never fail the task's spec.
            task = EvalTask.model_validate({**raw, "status": None})
        except ValidationError as exc:
            fail_invalid(raw, exc)
            return None
        world = observe(task, raw)
        deferred = deferred_spec_change(
            world.observed, meta.get("generation"), status.get("observedGeneration")
        )
        if deferred:
            events.post_event(raw, reason=SPEC_DEFERRED, message=deferred)
        decision = next_step(world.observed)
        if decision.delete:
            delete_jobs(namespace, decision.delete)
        refused = refusals(task.spec, namespace) if decision.create is not None else []
        if refused:
            decision = not_allowed(refusal(c.EVAL_TASK_KIND, name, refused))
        elif decision.create is not None:
            if status.get("shards"):  # the entries of the last sharded phase: a new one starts
                kube.patch_custom_status(c.EVAL_TASK_PLURAL, namespace, name, {"shards": None})
            try:
                create_phase_job(task, world, decision.create)
            except NotOwnedError as exc:
                decision = name_taken(str(exc))
        patch = status_patch(
            status,
            decision,
            generation=meta.get("generation"),
            now=timestamp(),
            extra=operator_keys(task, world.observed, decision),
        )
        degraded = degraded_event(status, decision)
        if patch:
            kube.patch_custom_status(c.EVAL_TASK_PLURAL, namespace, name, patch)
        observe_state(c.EVAL_TASK_KIND, namespace, name, str(decision.state))
        if "state" in patch:
            post_event(raw, decision)
        if degraded is not None:
            events.post_event(raw, reason=DEGRADED, message=degraded, type=WARNING)
        report_dropped_parameters(raw)
        return decision


def _reconcile_or_wait(namespace: str, name: str) -> None:
    decision = reconcile(namespace, name)
    if decision is not None and decision.retry_after is not None:
        raise kopf.TemporaryError(decision.message or "waiting", delay=decision.retry_after)


def is_done(status: Mapping[str, Any], meta: Mapping[str, Any]) -> bool:
    """Finished, and its spec unchanged since: nothing can ever happen to the task again."""
    return status.get("state") in FINISHED and status.get("observedGeneration") == meta.get(
        "generation"
    )


def _not_done(*, status: kopf.Status, meta: kopf.Meta, **_: Any) -> bool:
    return not is_done(status, meta)


@kopf.on.resume(
    c.GROUP, c.VERSION, c.EVAL_TASK_PLURAL, id=HANDLER_CHANGE, when=_not_done
)  # a restarted operator reads no finished task (they cost nothing, however many)
@kopf.on.create(c.GROUP, c.VERSION, c.EVAL_TASK_PLURAL, id=HANDLER_CHANGE)
@kopf.on.update(c.GROUP, c.VERSION, c.EVAL_TASK_PLURAL, id=HANDLER_CHANGE)
def on_task_change(*, namespace: str | None, name: str, **_: Any) -> None:
    with time_reconcile(
        kind=c.EVAL_TASK_KIND, handler=HANDLER_CHANGE, ignore=(kopf.TemporaryError,)
    ):
        _reconcile_or_wait(namespace or "", name)


def _manual_completed(*, status: kopf.Status, **_: Any) -> bool:
    manual = status.get("manual") or {}
    return bool(
        status.get("state") == TaskState.RUNNING_WITH_MANUAL_BEGIN.value
        and manual.get("pending") is False
    )


@kopf.on.event(
    c.GROUP, c.VERSION, c.EVAL_TASK_PLURAL, id=HANDLER_MANUAL_DONE, when=_manual_completed
)
def on_manual_completed(*, type: str | None, namespace: str | None, name: str, **_: Any) -> None:
    """The console marked the annotation complete (a status-only change, which no update
    handler sees): move on to the manual phase now rather than at the next resync."""
    if type != "DELETED":
        with time_reconcile(kind=c.EVAL_TASK_KIND, handler=HANDLER_MANUAL_DONE):
            reconcile(namespace or "", name)


def _owner_task(body: Mapping[str, Any]) -> str | None:
    for ref in (body.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("kind") == c.EVAL_TASK_KIND and ref.get("apiVersion", "").startswith(c.GROUP):
            return str(ref["name"])
    return None


def _job_news(*, type: str | None, body: kopf.Body, **_: Any) -> bool:
    """Checked in Kopf's loop: most Job events (a Job just created, no status yet) tell
    nothing new, and cost no thread and no handler state this way."""
    return _owner_task(body) is not None and (type == "DELETED" or job_has_news(body))


@kopf.on.event(
    "batch",
    "v1",
    "jobs",
    labels={c.LABEL_EVAL_TASK: kopf.PRESENT},
    when=_job_news,
    id=HANDLER_JOB_EVENT,
)
def on_job_event(*, type: str, body: kopf.Body, namespace: str | None, **_: Any) -> None:
    """A Job the task waits on changed (:func:`_job_news`): reconcile its task."""
    task = _owner_task(body)
    if task is None or (type != "DELETED" and not job_has_news(body)):
        return
    with time_reconcile(kind=c.EVAL_TASK_KIND, handler=HANDLER_JOB_EVENT):
        reconcile(namespace or "", task)


def job_has_news(body: Mapping[str, Any]) -> bool:
    """Status counts or conditions, or a deletion: worth a reconcile of the task."""
    status = body.get("status") or {}
    counts = any(status.get(key) for key in ("active", "ready", "succeeded", "failed"))
    deleting = bool((body.get("metadata") or {}).get("deletionTimestamp"))
    return deleting or counts or bool(status.get("conditions"))


def referenced_groups(spec: Mapping[str, Any]) -> set[str]:
    """Service groups named in a raw spec (models and judge)."""
    names = {(m.get("serviceGroupRef") or {}).get("name") for m in spec.get("models") or []}
    judge = (spec.get("scoring") or {}).get("judge") or {}
    names.add((judge.get("serviceGroupRef") or {}).get("name"))
    return {n for n in names if n}


@kopf.index(c.GROUP, c.VERSION, c.EVAL_TASK_PLURAL, id=INDEX_BY_GROUP)
async def evaltask_by_group(  # async: run in Kopf's loop, no thread per task event
    *, spec: kopf.Spec, namespace: str | None, name: str, **_: Any
) -> dict[tuple[str, str], str]:
    return {(namespace or "", group): name for group in referenced_groups(spec)}


@kopf.on.event(c.GROUP, c.VERSION, c.SERVICE_GROUP_PLURAL, id=HANDLER_GROUP_EVENT)
def on_target_group_event(*, namespace: str | None, name: str, **kwargs: Any) -> None:
    index: kopf.Index[tuple[str, str], str] = kwargs[INDEX_BY_GROUP]
    for task in sorted(set(index.get((namespace or "", name), []))):
        with time_reconcile(kind=c.EVAL_TASK_KIND, handler=HANDLER_GROUP_EVENT):
            reconcile(namespace or "", task)
