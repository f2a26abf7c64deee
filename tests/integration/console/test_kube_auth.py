"""The console's Kubernetes calls against the API emulator, with the RBAC we ship: its own
ClusterRole, the aggregated user roles and the runner's per-task Role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from modeleval.api import EvalTask
from modeleval.builders.jobs import build_runner_rbac
from modeleval.console.kubeapi import KubeApi, KubeApiError, ResourceCheck
from modeleval_testkit.apiserver import ThreadedApiServer, run_in_thread
from tests.support.paths import MANIFESTS, REPO

TASK: dict[str, Any] = {
    "apiVersion": "modeleval.io/v1alpha1",
    "kind": "EvalTask",
    "metadata": {"name": "qa", "namespace": "team", "uid": "uid-qa"},
    "spec": {
        "models": [{"name": "m", "endpoint": {"url": "http://m/v1"}}],
        "dataset": {"inline": [{"input": "x"}]},
        "scoring": {"modes": ["manual"]},
    },
}


def docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def bind(user: str, role: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"{role}-{user}", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "User", "name": user}],
    }


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[ThreadedApiServer, KubeApi]]:
    with run_in_thread(crds=[REPO / "crds"]) as server:
        server.load_manifests(
            [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "modeleval-system"}},
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}},
                *docs(MANIFESTS / "console" / "rbac.yaml"),
                *docs(MANIFESTS / "rbac" / "user_clusterroles.yaml"),
                bind("vera", "modeleval-viewer", "team"),
                bind("anna", "modeleval-annotator", "team"),
                bind("eddie", "modeleval-editor", "team"),
                TASK,
            ]
        )
        task = server.get_object("modeleval.io/v1alpha1", "EvalTask", "qa", "team")
        assert task is not None
        server.load_manifests(build_runner_rbac(EvalTask.model_validate(task)))
        token = server.issue_service_account_token("modeleval-system", "modeleval-console")
        kubeconfig = server.write_kubeconfig(tmp_path / "console.kubeconfig", token)
        kube = KubeApi.from_kubeconfig(str(kubeconfig))
        try:
            yield server, kube
        finally:
            kube.close()


def test_people_are_identified_and_their_verbs_come_from_the_shipped_roles(
    cluster: tuple[ThreadedApiServer, KubeApi],
) -> None:
    server, kube = cluster
    verbs = {}
    for name in ("vera", "anna", "eddie", "nobody"):
        user = kube.review_token(server.issue_token(name))
        assert user is not None and user.username == name
        verbs[name] = {
            verb
            for verb in ("get", "list", "annotate", "patch")
            if kube.allowed(user, ResourceCheck(verb, "team", "qa" if verb != "list" else ""))
        }
    assert verbs == {
        "vera": {"get", "list"},
        "anna": {"get", "list", "annotate"},
        "eddie": {"get", "list", "annotate", "patch"},
        "nobody": set(),
    }
    assert kube.review_token("forged") is None


def test_the_runner_may_ingest_only_for_its_task(
    cluster: tuple[ThreadedApiServer, KubeApi],
) -> None:
    server, kube = cluster
    token = server.issue_service_account_token("team", "qa-runner", ["modeleval-console"])
    assert kube.review_token(token) is None  # not an API-server token
    runner = kube.review_token(token, ["modeleval-console"])
    assert runner is not None and runner.username == "system:serviceaccount:team:qa-runner"
    ingest = ResourceCheck("patch", "team", "qa", subresource="status")
    assert kube.allowed(runner, ingest)
    assert not kube.allowed(runner, ResourceCheck("patch", "team", "other", subresource="status"))
    assert kube.allowed(runner, ResourceCheck("get", "team", "qa"))  # reads its annotations


def test_the_console_lists_tasks_and_completes_annotation_but_nothing_more(
    cluster: tuple[ThreadedApiServer, KubeApi],
) -> None:
    server, kube = cluster
    assert [t["metadata"]["name"] for t in kube.list_tasks()] == ["qa"]
    kube.patch_task_status("team", "qa", {"manual": {"pending": False, "completedBy": "eddie"}})
    task = server.get_object("modeleval.io/v1alpha1", "EvalTask", "qa", "team")
    assert task is not None and task["status"]["manual"]["completedBy"] == "eddie"
    with pytest.raises(KubeApiError) as refused:
        kube._call(  # the spec is not the console's to change
            "PATCH",
            "/apis/modeleval.io/v1alpha1/namespaces/team/evaltasks/qa",
            {"spec": {"suspend": True}},
            "application/merge-patch+json",
        )
    assert refused.value.status == 403
