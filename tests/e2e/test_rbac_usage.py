"""The operator's recorded API calls of a full run against the roles we ship.

A real operator process runs as its ServiceAccount through a whole lifecycle — a service group
that deploys, evaluates two datasets, changes and shrinks its dataset list; a task that starts
suspended, resumes and succeeds against the group; deletion — and the emulator records every
call. Every call must be granted by `manifests/rbac` and by the Helm chart's rendered RBAC, and
every grant must be used or justified below.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from modeleval_testkit.apiserver import (
    compare_with_manifests,
    load_documents,
    service_account_user,
)
from modeleval_testkit.cluster import LocalCluster
from modeleval_testkit.executor import MOCK_MODEL_SERVER, ExecutorConfig
from tests.support.paths import REPO
from tests.support.written import WrittenObjects

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.needs_executor]

NS = "default"
GROUPS = f"/apis/modeleval.io/v1alpha1/namespaces/{NS}/modelevalservicegroups"
TASKS = f"/apis/modeleval.io/v1alpha1/namespaces/{NS}/evaltasks"
OPERATOR = service_account_user("modeleval-system", "modeleval-operator")

# Grants a full run here does not exercise, each with the reason it is still needed. Other e2e
# tests (running under the same roles) exercise the stop and spec-change paths.
JUSTIFIED_UNUSED = {
    # blockOwnerDeletion on owner references needs update on the owner's finalizers where
    # the OwnerReferencesPermissionEnforcement admission plugin is on (not emulated).
    ("modeleval.io", "modelevalservicegroups/finalizers", "update"),
    ("modeleval.io", "evaltasks/finalizers", "update"),
    # Held so the operator may grant it to the runner's per-task Role (escalation rule).
    ("modeleval.io", "evaltasks/status", "get"),
    # Only on spec changes that alter the Service / the task file (this run changes neither).
    ("", "services", "patch"),
    ("", "configmaps", "patch"),
    # Deleted on stop of a running Job; this run suspends before any Job exists.
    ("batch", "jobs", "delete"),
    # Read only when a Job's name is already taken (409): is it the task's? (no takeover)
    ("batch", "jobs", "get"),
    # Without the webhook, a Secret a task names is read for its usable label; this run's
    # task names none (tests/e2e/test_security.py does).
    ("", "secrets", "get"),
}

GROUP = {
    "apiVersion": "modeleval.io/v1alpha1",
    "kind": "ModelEvalServiceGroup",
    "metadata": {"name": "rbac-g"},
    "spec": {
        "image": "example.com/mock-llm:1",
        "serving": {"servedModelName": "mock-model"},
        "health": {"readinessPath": "/ready", "bootTimeSeconds": 60},
        "evaluation": {
            "datasets": [
                {"name": "one", "inline": [{"id": "a", "input": "hello", "target": "hello"}]},
                {"name": "two", "inline": [{"id": "b", "input": "bye", "target": "bye"}]},
            ],
            "promptTemplate": "{input}",
            "scoring": {"modes": ["rule"]},
        },
    },
}
TASK = {
    "apiVersion": "modeleval.io/v1alpha1",
    "kind": "EvalTask",
    "metadata": {"name": "rbac-t"},
    "spec": {
        "suspend": True,
        "models": [{"name": "g", "serviceGroupRef": {"name": "rbac-g"}}],
        "dataset": {
            "inline": [{"id": str(i), "input": f"q{i}", "target": f"q{i}"} for i in range(6)]
        },
        "inference": {"promptTemplate": "{input}", "client": {"parallel": 2}},
        "scoring": {"modes": ["rule"]},
    },
}


@pytest.fixture(scope="module")
def finished_run(
    tmp_path_factory: pytest.TempPathFactory, written_objects: WrittenObjects
) -> Iterator[LocalCluster]:
    work = tmp_path_factory.mktemp("rbac-usage")
    executor = ExecutorConfig(
        image_commands={"*mock*": MOCK_MODEL_SERVER}, time_scale=0.05, work_dir=work / "executor"
    )
    with LocalCluster(work_dir=work, executor=executor, record_writes=True) as cluster:
        _lifecycle(cluster)
        yield cluster
        written_objects.collect(cluster)


def _state(cluster: LocalCluster, name: str) -> str | None:
    with cluster.api() as api:
        task = api.get(f"{TASKS}/{name}") or {}
    return (task.get("status") or {}).get("state")


def _phase(cluster: LocalCluster, name: str) -> str | None:
    with cluster.api() as api:
        group = api.get(f"{GROUPS}/{name}") or {}
    return (group.get("status") or {}).get("phase")


def _lifecycle(cluster: LocalCluster) -> None:
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([GROUP, TASK]))
    cluster.wait_for(
        lambda: _state(cluster, "rbac-t") == "Stopped",
        timeout=60,
        what="the suspended task to be Stopped",
    )
    cluster.wait_for(
        lambda: _phase(cluster, "rbac-g") == "Running", timeout=90, what="the group to be Running"
    )
    cluster.kubectl(
        "patch", "et", "rbac-t", "--type", "merge", "-p", '{"spec": {"suspend": false}}'
    )
    cluster.wait_for(
        lambda: _state(cluster, "rbac-t") == "Succeeded", timeout=120, what="the task to succeed"
    )

    def group_tasks() -> list[dict[str, Any]]:
        with cluster.api() as api:
            items = (api.get(TASKS) or {}).get("items", [])
        return [t for t in items if t["metadata"]["name"].startswith("rbac-g-")]

    cluster.wait_for(lambda: len(group_tasks()) == 2, timeout=60, what="two group tasks")
    cluster.wait_for(
        lambda: all((t.get("status") or {}).get("state") == "Succeeded" for t in group_tasks()),
        timeout=120,
        what="the group's tasks to succeed",
    )
    # A spec change (env) rolls the Deployment; dropping a dataset removes its task.
    cluster.kubectl(
        "patch",
        "mesg",
        "rbac-g",
        "--type",
        "merge",
        "-p",
        '{"spec": {"env": {"X": "1"}, "evaluation": {"datasets": '
        '[{"name": "one", "inline": [{"id": "a", "input": "hello"}]}]}}}',
    )
    cluster.wait_for(lambda: len(group_tasks()) == 1, timeout=60, what="one group task left")
    cluster.kubectl("delete", "et", "rbac-t", "--wait=true", timeout=60)
    cluster.kubectl("delete", "mesg", "rbac-g", "--wait=true", timeout=60)


def _check(cluster: LocalCluster, manifests: list[dict[str, Any]]) -> None:
    not_granted, unused = compare_with_manifests(cluster.apiserver.request_log, manifests, OPERATOR)
    assert not not_granted, [r.as_dict() for r in not_granted]
    unexplained = sorted(
        str(g) for g in unused if (g.api_group, g.resource, g.verb) not in JUSTIFIED_UNUSED
    )
    assert not unexplained, f"grants never used and not justified: {unexplained}"


def test_operator_calls_were_made_as_its_service_account(finished_run: LocalCluster) -> None:
    calls = finished_run.apiserver.request_log.resource_calls(OPERATOR.name)
    assert len(calls) > 50

    def expected(code: int, verb: str, subresource: str) -> bool:
        # 404 / 409: idempotent get-or-create; 422 on a main-resource patch: Kopf's JSON patch
        # that first tests metadata.resourceVersion (optimistic concurrency), retried by Kopf.
        return code in (200, 201, 404, 409) or (code == 422 and verb == "patch" and not subresource)

    unexpected = {
        (c.code, c.verb, c.resource, c.subresource)
        for c in calls
        if not expected(c.code, c.verb, c.subresource)
    }
    assert not unexpected


def test_manifests_rbac_grants_every_call_and_nothing_unexplained(
    finished_run: LocalCluster,
) -> None:
    _check(finished_run, load_documents([REPO / "manifests" / "rbac"]))


def test_chart_rbac_grants_every_call_and_nothing_unexplained(
    finished_run: LocalCluster,
) -> None:
    from tests.support.kube import require_kube_tools

    _, helm = require_kube_tools()
    import subprocess

    rendered = subprocess.run(
        [
            str(helm),
            "template",
            "modeleval",
            str(REPO / "charts" / "modeleval"),
            "--namespace",
            "modeleval-system",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={
            "HELM_CACHE_HOME": str(finished_run.work_dir / "helm"),
            "HELM_CONFIG_HOME": str(finished_run.work_dir / "helm"),
            "HELM_DATA_HOME": str(finished_run.work_dir / "helm"),
            "PATH": "/usr/bin:/bin",
        },
    ).stdout
    _check(finished_run, [d for d in yaml.safe_load_all(rendered) if d])
