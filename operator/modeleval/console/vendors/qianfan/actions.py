"""The Qianfan ``/v2/eval`` actions over EvalTasks.

- ``CreateEvalTask`` (the task, see `create`) -> the new ``taskId`` (a string);
  ``create evaltasks``.
- ``DescribeEvalTasks`` (``evalType``, ``keyFilter``, ``marker``, ``maxKeys``,
  ``pageReverse``) -> ``{evalTaskList, pageInfo}``; ``list evaltasks`` per namespace.
- ``DescribeEvalTask`` (``taskId``) -> the task (see `describe`); ``get evaltasks``.
- ``StopEvalTask`` (``taskId``) -> ``{}``; ``patch evaltasks`` (``spec.suspend: true``).
- ``DeleteEvalTask`` (``taskId``) -> ``{}``; ``delete evaltasks``.

(the verbs are those checked and used on the caller's behalf)

Each action parses its body (errors name the field), checks the caller with a
SubjectAccessReview, then calls the API server as the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modeleval import constants as c
from modeleval.api.evaltask_status import TERMINAL_STATES
from modeleval.console.kubeapi import ResourceCheck
from modeleval.console.vendors import ids
from modeleval.console.vendors.bodies import parse_model
from modeleval.console.vendors.callers import Caller
from modeleval.console.vendors.context import VendorContext
from modeleval.console.vendors.errors import INVALID, VendorError
from modeleval.console.vendors.qianfan.create import build_task
from modeleval.console.vendors.qianfan.describe import describe, eval_type
from modeleval.console.vendors.qianfan.requests import (
    CreateEvalTask,
    DescribeEvalTasks,
    TaskId,
)
from modeleval.console.vendors.resolve import ClusterResolver

TASKS = c.EVAL_TASK_PLURAL
DEFAULT_PAGE = 10
MAX_PAGE = 100

Action = Callable[[VendorContext, Caller, dict[str, Any]], Any]


def create_eval_task(ctx: VendorContext, caller: Caller, body: dict[str, Any]) -> str:
    request = parse_model(CreateEvalTask, body)
    namespace = ctx.namespace_for(caller, request.namespace, "namespace")
    ctx.callers.require(caller, ResourceCheck("create", namespace, resource=TASKS))
    token = ctx.token(caller)
    manifest = build_task(request, namespace, ClusterResolver(ctx.cluster, token, namespace))
    created = ctx.cluster.create(token, TASKS, namespace, manifest)
    return ids.qianfan_task_id(created)


def _matches(task: dict[str, Any], key: str) -> bool:
    """keyFilter: part of the name or id (any case), or exactly one of the model ids."""
    result = describe(task)
    wanted = key.lower()
    if wanted in result["taskName"].lower() or wanted in result["taskId"].lower():
        return True
    models = (result["evalObjectConfig"].get("evalModelConfig") or {}).get(
        "evalModelConfigList"
    ) or []
    return any(m["modelId"] == key for m in models)


def describe_eval_tasks(ctx: VendorContext, caller: Caller, body: dict[str, Any]) -> Any:
    request = parse_model(DescribeEvalTasks, body)
    tasks = [t for t in ctx.visible(caller, TASKS) if eval_type(t) == request.evalType]
    if request.keyFilter:
        tasks = [t for t in tasks if _matches(t, request.keyFilter)]
    tasks.sort(
        key=lambda t: (str(ids.meta(t).get("creationTimestamp") or ""), ids.uid(t)),
        reverse=not request.pageReverse,
    )
    size = min(request.maxKeys or DEFAULT_PAGE, MAX_PAGE)
    start = 0
    if request.marker:
        positions = [i for i, t in enumerate(tasks) if ids.has_id(t, request.marker)]
        if not positions:
            raise VendorError(
                INVALID,
                f"The marker you provided was invalid: no task {request.marker} in this list",
                field="marker",
                code="InvalidMarker",
            )
        start = positions[0]
    page = tasks[start : start + size]
    truncated = start + size < len(tasks)
    return {
        "evalTaskList": [describe(t) for t in page],
        "pageInfo": {
            "marker": request.marker or "",
            "maxKeys": size,
            "isTruncated": truncated,
            "nextMarker": ids.qianfan_task_id(tasks[start + size]) if truncated else "",
        },
    }


def _task(ctx: VendorContext, caller: Caller, body: dict[str, Any], verb: str) -> dict[str, Any]:
    request = parse_model(TaskId, body)
    return ctx.locate(caller, TASKS, request.taskId, verb, what="eval task")


def describe_eval_task(ctx: VendorContext, caller: Caller, body: dict[str, Any]) -> Any:
    return describe(_task(ctx, caller, body, "get"))


def stop_eval_task(ctx: VendorContext, caller: Caller, body: dict[str, Any]) -> Any:
    """Suspend the task (it goes Stopping -> Stopped, keeping its results); a task that has
    ended or is already suspended is left as it is."""
    task = _task(ctx, caller, body, "patch")
    state = (task.get("status") or {}).get("state")
    if state not in TERMINAL_STATES and not (task.get("spec") or {}).get("suspend"):
        ctx.cluster.patch(
            ctx.token(caller),
            TASKS,
            ids.namespace(task),
            ids.name(task),
            {"spec": {"suspend": True}},
        )
    return {}


def delete_eval_task(ctx: VendorContext, caller: Caller, body: dict[str, Any]) -> Any:
    task = _task(ctx, caller, body, "delete")
    ctx.cluster.delete(ctx.token(caller), TASKS, ids.namespace(task), ids.name(task))
    return {}


ACTIONS: dict[str, Action] = {
    "CreateEvalTask": create_eval_task,
    "DescribeEvalTasks": describe_eval_tasks,
    "DescribeEvalTask": describe_eval_task,
    "StopEvalTask": stop_eval_task,
    "DeleteEvalTask": delete_eval_task,
}
