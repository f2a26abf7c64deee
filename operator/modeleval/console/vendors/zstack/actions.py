"""The ZStack calls over ModelEvalServiceGroups and their EvalTasks.

- ``PUT /zstack/v1/ai/model-services/eval/{uuid}`` (DeployModelEvalService): a new uuid
  needs ``create modelevalservicegroups``, a known one ``update`` on it; both ``create
  evaltasks``.
- ``GET /zstack/v1/ai/model-eval-services/instances/groups[/{uuid}]``: ``list
  modelevalservicegroups`` per namespace.
- ``GET /zstack/v1/model-evaluation-tasks[/{uuid}]``: ``list evaltasks`` per namespace.

(the verbs are those checked and used on the caller's behalf)

DeployModelEvalService is synchronous, as documented: the group is written, then its
evaluation tasks — one per dataset × target, exactly as the operator builds them
(`modeleval.builders.servicegroup_tasks`), owned by the group — so the answer carries them.
They wait in Queued until the group is Running; the operator finds them made and creates no
others. Every permission is checked before the first write, so a refusal changes nothing.
"""

from __future__ import annotations

from typing import Any

from modeleval import constants as c
from modeleval.api import ModelEvalServiceGroup
from modeleval.builders.servicegroup_tasks import build_group_tasks
from modeleval.console.kubeapi import ResourceCheck
from modeleval.console.vendors import ids
from modeleval.console.vendors.bodies import parse_model
from modeleval.console.vendors.callers import Caller
from modeleval.console.vendors.context import VendorContext
from modeleval.console.vendors.errors import CONFLICT, VendorError, invalid
from modeleval.console.vendors.resolve import ClusterResolver
from modeleval.console.vendors.zstack.group import build_group, group_name
from modeleval.console.vendors.zstack.inventories import Groups, group_inventory, task_inventory
from modeleval.console.vendors.zstack.requests import DeployModelEvalService, params_of

GROUPS = c.SERVICE_GROUP_PLURAL
TASKS = c.EVAL_TASK_PLURAL


def _owned_by(task: dict[str, Any], uid: str) -> bool:
    return any(
        ref.get("uid") == uid and ref.get("controller")
        for ref in ids.meta(task).get("ownerReferences") or []
    )


def _ensure_tasks(ctx: VendorContext, token: str, group: dict[str, Any]) -> list[dict[str, Any]]:
    """The group's planned EvalTasks, created as the caller where missing."""
    namespace, uid = ids.namespace(group), ids.uid(group)
    tasks = []
    for planned in build_group_tasks(ModelEvalServiceGroup.model_validate(group)):
        name = planned["metadata"]["name"]
        try:
            tasks.append(ctx.cluster.create(token, TASKS, namespace, planned))
            continue
        except VendorError as exc:
            if exc.kind != CONFLICT:
                raise
        existing = ctx.cluster.get(token, TASKS, namespace, name)
        if existing is None or not _owned_by(existing, uid):
            raise VendorError(
                CONFLICT,
                f"EvalTask {namespace}/{name} exists and is not this group's: delete or rename "
                "it, or rename the group",
            )
        tasks.append(existing)
    return tasks


def deploy(ctx: VendorContext, caller: Caller, uuid: str, body: dict[str, Any]) -> dict[str, Any]:
    if not ids.LABEL_VALUE.match(uuid):
        raise invalid("uuid", f"{uuid!r} is not a uuid (letters, digits, '-', '_', '.'; ≤ 63)")
    params = parse_model(DeployModelEvalService, params_of(body))
    existing = ctx.cluster.find(GROUPS, lambda g: ids.has_id(g, uuid, group=True))
    if existing is not None:
        namespace = ids.namespace(existing)
        if params.projectUuid and params.projectUuid != namespace:
            raise invalid(
                "projectUuid", f"group {uuid} is in project (namespace) {namespace}, not here"
            )
        name = ids.name(existing)
        write = ResourceCheck("update", namespace, name, resource=GROUPS)
    else:
        namespace = ctx.namespace_for(caller, params.projectUuid, "projectUuid")
        name = group_name(params.name, uuid)
        write = ResourceCheck("create", namespace, resource=GROUPS)
    ctx.callers.require(caller, write, ResourceCheck("create", namespace, resource=TASKS))
    token = ctx.token(caller)
    resolver = ClusterResolver(ctx.cluster, token, namespace)
    manifest = build_group(params, uuid, namespace, resolver, name=name)
    if existing is None:
        try:
            group = ctx.cluster.create(token, GROUPS, namespace, manifest)
        except VendorError as exc:
            if exc.kind == CONFLICT:
                exc.message = (
                    f"a ModelEvalServiceGroup named {name} already exists in namespace "
                    f"{namespace} with another uuid: choose another name"
                )
            raise
    else:
        current = ctx.cluster.get(token, GROUPS, namespace, name)
        if current is None or not ids.has_id(current, uuid, group=True):
            raise VendorError(CONFLICT, f"group {uuid} was deleted meanwhile: retry")
        meta = dict(ids.meta(current))
        meta["labels"] = {**(meta.get("labels") or {}), **manifest["metadata"]["labels"]}
        meta["annotations"] = {
            **(meta.get("annotations") or {}),
            **manifest["metadata"].get("annotations", {}),
        }
        manifest["metadata"] = meta
        group = ctx.cluster.replace(token, GROUPS, namespace, name, manifest)
    tasks = _ensure_tasks(ctx, token, group)
    groups: Groups = {(namespace, ids.name(g)): g for g in resolver.groups() or []}
    groups[(namespace, name)] = group
    return {
        "inventory": group_inventory(group),
        "tasks": [task_inventory(t, groups) for t in tasks],
        "success": True,
        "error": None,
    }


def _groups_by_name(groups: list[dict[str, Any]]) -> Groups:
    return {(ids.namespace(g), ids.name(g)): g for g in groups}


def group_inventories(ctx: VendorContext, caller: Caller) -> list[dict[str, Any]]:
    return [group_inventory(g) for g in ctx.visible(caller, GROUPS)]


def task_inventories(ctx: VendorContext, caller: Caller) -> list[dict[str, Any]]:
    tasks = ctx.visible(caller, TASKS)
    namespaces = {ids.namespace(t) for t in tasks}
    groups = _groups_by_name(ctx.visible(caller, GROUPS, keep=namespaces.__contains__))
    return [task_inventory(t, groups) for t in tasks]
