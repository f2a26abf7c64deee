"""No takeover by name: a same-named object the task does not control is never used or written.

Each child of a task (its runner ServiceAccount, Role, RoleBinding, task ConfigMap, results PVC
and phase Job) is created under a name derived from the task's. Here someone else made one
of them first; ``reconcile`` must fail the task with a message naming the object, leave the
object exactly as it was and create no Job that would run with it.
"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import BatchV1Api

from modeleval import kube
from modeleval.handlers.evaltask import reconcile

pytestmark = pytest.mark.slow

NS = "default"
TASKS = f"/apis/modeleval.io/v1alpha1/namespaces/{NS}/evaltasks"
RBAC = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}"
CORE = f"/api/v1/namespaces/{NS}"

STRANGERS: dict[str, tuple[str, str, dict[str, Any]]] = {
    # kind: (collection path, name suffix, body besides metadata)
    "ServiceAccount": (f"{CORE}/serviceaccounts", "-runner", {}),
    "Role": (f"{RBAC}/roles", "-runner", {"rules": []}),
    "RoleBinding": (
        f"{RBAC}/rolebindings",
        "-runner",
        {
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "x"},
            "subjects": [{"kind": "ServiceAccount", "name": "someone", "namespace": NS}],
        },
    ),
    "ConfigMap": (f"{CORE}/configmaps", "-config", {"data": {"settings": "theirs"}}),
    "PersistentVolumeClaim": (
        f"{CORE}/persistentvolumeclaims",
        "-results",
        {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
    ),
    "Job": (
        "/apis/batch/v1/namespaces/default/jobs",
        "-infer",
        {
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "c", "image": "theirs"}],
                    }
                }
            }
        },
    ),
}


def create_task(api: Any, name: str) -> dict[str, Any]:
    body = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "models": [{"name": "m", "endpoint": {"url": "http://mock:8000/v1"}}],
            "dataset": {"inline": [{"input": "x"}]},
        },
    }
    return dict(api.create(TASKS, body))


def without_volatile(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "status"}


@pytest.mark.parametrize("kind", list(STRANGERS))
def test_a_stranger_with_a_childs_name_fails_the_task_and_is_left_alone(
    api: Any, kind: str
) -> None:
    collection, suffix, extra = STRANGERS[kind]
    task = f"take-{kind.lower()}"
    name = f"{task}{suffix}"
    api.create(collection, {"metadata": {"name": name, "labels": {"owner": "them"}}, **extra})
    before = api.get(f"{collection}/{name}")
    create_task(api, task)
    decision = reconcile(NS, task)
    assert decision is not None and decision.reason == "NameTaken"
    status = dict(api.get(f"{TASKS}/{task}")["status"])
    assert status["state"] == "Failed"
    assert status["message"].startswith(
        f"{kind} {name} already exists and is not owned by EvalTask {task}; "
        "it is not used or changed"
    ), status["message"]
    after = api.get(f"{collection}/{name}")
    assert without_volatile(after) == without_volatile(before)  # never written
    jobs = BatchV1Api(kube.api_client()).list_namespaced_job(
        NS, label_selector=f"modeleval.io/eval-task={task}"
    )
    assert jobs.items == []  # never used: no Job runs with it
    assert reconcile(NS, task) is None  # Failed stays Failed


def test_a_child_owned_by_another_task_is_not_ours_either(api: Any) -> None:
    other = create_task(api, "owner-a")
    reference = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "name": "owner-a",
        "uid": other["metadata"]["uid"],
        "controller": True,
    }
    api.create(
        f"{CORE}/serviceaccounts",
        {"metadata": {"name": "owner-b-runner", "ownerReferences": [reference]}},
    )
    create_task(api, "owner-b")
    decision = reconcile(NS, "owner-b")
    assert decision is not None and decision.reason == "NameTaken"
    assert "ServiceAccount owner-b-runner" in (decision.message or "")


def test_the_tasks_own_children_are_used_again(api: Any) -> None:
    create_task(api, "mine")
    first = reconcile(NS, "mine")
    assert first is not None and first.reason != "NameTaken"
    api.delete(f"/apis/batch/v1/namespaces/{NS}/jobs/mine-infer")
    again = reconcile(NS, "mine")  # ServiceAccount, Role, ConfigMap, PVC exist: they are ours
    assert again is not None and again.reason != "NameTaken"
