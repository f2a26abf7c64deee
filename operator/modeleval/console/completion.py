"""Completing a task's manual evaluation: the console's one write to the cluster.

An allowed user (``patch`` on the EvalTask) marks the annotation complete; the console sets
``status.manual.pending: false`` (with who and when) on the EvalTask. The operator then runs
the ``manual`` phase Job, which fetches the annotations from the console, writes the means
into ``summary.json`` and the status, and the task goes RunningWithMetricsCalculating →
Succeeded.
"""

from __future__ import annotations

from modeleval.api import TaskState
from modeleval.clock import timestamp, utc_now
from modeleval.console.db.models import Task
from modeleval.console.kubeapi import KubeApi
from modeleval.console.store import Store, set_manual_completed


class CompletionError(Exception):
    """The annotation cannot be completed now; the message says why."""


def complete_annotation(store: Store, kube: KubeApi, task: Task, *, by: str) -> None:
    if not task.manual_dimensions:
        raise CompletionError(f"{task.namespace}/{task.name} is not a manual-mode task")
    current = kube.get_task(task.namespace, task.name)
    if current is None or (current.get("metadata") or {}).get("uid") != task.uid:
        raise CompletionError(
            f"EvalTask {task.namespace}/{task.name} no longer exists: its results stay "
            "browsable, but there is no task left to complete"
        )
    status = current.get("status") or {}
    state = status.get("state")
    if state != TaskState.RUNNING_WITH_MANUAL_BEGIN.value:
        raise CompletionError(
            f"EvalTask {task.namespace}/{task.name} is {state or 'not started'}; annotation can "
            f"be completed only in {TaskState.RUNNING_WITH_MANUAL_BEGIN.value}"
        )
    kube.patch_task_status(
        task.namespace,
        task.name,
        {"manual": {"pending": False, "completedBy": by, "completedAt": timestamp()}},
    )
    set_manual_completed(store, task.id, by, utc_now())
