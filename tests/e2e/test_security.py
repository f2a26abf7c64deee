"""Security without the webhook (the default install), against the session's local cluster.

- Secrets, ServiceAccounts and PVCs are used only when labelled
  ``modeleval.io/usable-by-modeleval: "true"``: a task naming an unlabelled Secret fails with a
  message naming it and its value never leaves the cluster.
- No takeover by name: a same-named ServiceAccount, Role, ConfigMap or PVC made by someone
  else is never used or written; the task fails naming it.
- A Secret value an endpoint echoes back is masked in status, Events, logs, the termination
  message and every results file.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from modeleval_testkit.cluster import (
    OPERATOR_ACCOUNT,
    OPERATOR_NAMESPACE,
    ClusterAccess,
    LocalCluster,
)
from modeleval_testkit.executor import Executor
from modeleval_testkit.mockserver import FaultKind, FaultSettings, MockModelServer

from .evaltask_helpers import apply, items, jobs, task_manifest, wait_status

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.needs_executor]

PROD_DB = "s3cr3t-prod-db-password"
USABLE = "modeleval.io/usable-by-modeleval"


@pytest.fixture
def mock() -> Iterator[MockModelServer]:
    with MockModelServer(latency_s=0.01).running() as server:
        yield server


def finished(st: dict[str, Any]) -> bool:
    return st.get("state") in ("Succeeded", "Failed")


def secret(namespace: str, name: str, value: str, labels: dict[str, str] | None = None) -> Any:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "stringData": {"key": value},
    }


def keyed_task(name: str, namespace: str, url: str, secret_name: str) -> dict[str, Any]:
    doc = task_manifest(name, namespace, url, {"inline": items(3)})
    doc["spec"]["models"][0]["endpoint"]["apiKeySecretRef"] = {"name": secret_name, "key": "key"}
    return doc


def test_an_unlabelled_secret_is_never_mounted(
    namespace: str, local_cluster: ClusterAccess, mock: MockModelServer
) -> None:
    apply(local_cluster, secret(namespace, "prod-db", PROD_DB))
    apply(local_cluster, keyed_task("leak", namespace, mock.url, "prod-db"))
    final = wait_status(local_cluster, namespace, "leak", finished)
    assert final["state"] == "Failed"
    assert final["message"] == (
        "EvalTask leak is refused: spec.models[0].endpoint.apiKeySecretRef: Secret prod-db "
        f'does not exist or is not labelled {USABLE}: "true"'
    )
    assert jobs(local_cluster, namespace) == {}
    assert mock.stats().requests == 0
    assert not any(PROD_DB in value for value in mock.stats().credentials)


def test_a_labelled_secret_is_used(
    namespace: str, local_cluster: ClusterAccess, mock: MockModelServer
) -> None:
    apply(local_cluster, secret(namespace, "shared-key", "shared-123", {USABLE: "true"}))
    apply(local_cluster, keyed_task("shared", namespace, mock.url, "shared-key"))
    final = wait_status(local_cluster, namespace, "shared", finished)
    assert final["state"] == "Succeeded", final.get("message")
    assert mock.stats().credentials["Bearer shared-123"] == 3


def test_a_missing_secret_is_refused_before_anything_runs(
    namespace: str, local_cluster: ClusterAccess, mock: MockModelServer
) -> None:
    """A pod waiting for a Secret would take whatever appears under the name later."""
    apply(local_cluster, keyed_task("later", namespace, mock.url, "not-yet"))
    final = wait_status(local_cluster, namespace, "later", finished)
    assert final["state"] == "Failed"
    assert "Secret not-yet does not exist or is not labelled" in final["message"]
    assert jobs(local_cluster, namespace) == {}


STRANGERS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "ServiceAccount": ("serviceaccounts", "-runner", {}),
    "Role": (
        "roles",
        "-runner",
        {"rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
    ),
    "ConfigMap": ("configmaps", "-config", {"data": {"settings": "theirs"}}),
    "PersistentVolumeClaim": (
        "persistentvolumeclaims",
        "-results",
        {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
    ),
}


def _path(namespace: str, plural: str) -> str:
    group = "apis/rbac.authorization.k8s.io/v1" if plural == "roles" else "api/v1"
    return f"/{group}/namespaces/{namespace}/{plural}"


@pytest.mark.parametrize("kind", list(STRANGERS))
def test_a_same_named_object_of_someone_else_is_never_used_or_written(
    namespace: str, local_cluster: LocalCluster, mock: MockModelServer, kind: str
) -> None:
    plural, suffix, extra = STRANGERS[kind]
    name = f"ci{suffix}"
    with local_cluster.api() as api:
        api.create(_path(namespace, plural), {"metadata": {"name": name}, **copy.deepcopy(extra)})
        before = api.get(f"{_path(namespace, plural)}/{name}")
    apply(local_cluster, task_manifest("ci", namespace, mock.url, {"inline": items(2)}))
    final = wait_status(local_cluster, namespace, "ci", finished)
    assert final["state"] == "Failed"
    assert final["message"].startswith(
        f"{kind} {name} already exists and is not owned by EvalTask ci; it is not used or changed"
    ), final["message"]
    with local_cluster.api() as api:
        after = api.get(f"{_path(namespace, plural)}/{name}")
    assert after is not None and before is not None
    for key in ("labels", "annotations", "ownerReferences"):
        assert after["metadata"].get(key) == before["metadata"].get(key)
    assert {k: v for k, v in after.items() if k not in ("metadata", "status")} == {
        k: v for k, v in before.items() if k not in ("metadata", "status")
    }
    operator = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_ACCOUNT}"
    writes = [
        r
        for r in local_cluster.apiserver.request_log
        if r.user == operator and r.namespace == namespace and r.name == name
        if r.verb in ("update", "patch", "delete")
    ]
    assert writes == []  # never written (the executor, as a PV controller, binds a PVC)
    assert jobs(local_cluster, namespace) == {}
    assert mock.stats().requests == 0


KEY = "sk-live-echoed-9d2f7b"


def _events(local_cluster: ClusterAccess, namespace: str) -> str:
    with local_cluster.api() as api:
        listed = api.get(f"/api/v1/namespaces/{namespace}/events") or {}
    return json.dumps(listed.get("items") or [])


def _pods(local_cluster: ClusterAccess, namespace: str) -> list[dict[str, Any]]:
    with local_cluster.api() as api:
        return list((api.get(f"/api/v1/namespaces/{namespace}/pods") or {}).get("items") or [])


def test_an_echoed_key_is_nowhere_the_user_can_look(
    namespace: str, local_cluster: ClusterAccess, executor: Executor
) -> None:
    """The endpoint repeats the Authorization header in its errors: status, Events, pod logs,
    the termination message, every results file and the operator's own log show ``***``
    instead of the key."""
    faults = {f"a{i}": [FaultKind.ECHO_AUTH] * 9 for i in range(4)}
    faults |= {f"b{i}": [FaultKind.ECHO_AUTH] * 9 for i in range(3)}
    with MockModelServer(faults=FaultSettings(by_item=faults)).running() as mock:
        apply(local_cluster, secret(namespace, "echo-key", KEY, {USABLE: "true"}))
        failing = keyed_task("echo-fail", namespace, mock.url, "echo-key")
        failing["spec"]["dataset"] = {"inline": items(4, "a")}
        failing["spec"]["inference"]["client"]["maxErrorRatio"] = 0.0
        passing = keyed_task("echo-ok", namespace, mock.url, "echo-key")
        passing["spec"]["dataset"] = {"inline": items(8, "b")}
        passing["spec"]["inference"]["client"]["maxErrorRatio"] = 1.0
        apply(local_cluster, failing, passing)
        failed = wait_status(local_cluster, namespace, "echo-fail", finished)
        done = wait_status(local_cluster, namespace, "echo-ok", finished)
        assert mock.stats().credentials[f"Bearer {KEY}"] >= 12  # the key did go out
    assert failed["state"] == "Failed"
    assert "invalid credentials" in failed["message"] and "***" in failed["message"]
    assert done["state"] == "Succeeded", done.get("message")
    looked_at = {
        "status": json.dumps([failed, done]),
        "events": _events(local_cluster, namespace),
        "operator log": local_cluster.operator_output(),
    }
    assert "echo-fail" in looked_at["operator log"]  # it did handle (and log) the tasks
    for pod in _pods(local_cluster, namespace):
        name = pod["metadata"]["name"]
        looked_at[f"pod {name} status"] = json.dumps(pod.get("status"))
        looked_at[f"pod {name} log"] = local_cluster.logs(name, namespace)
    for task in ("echo-fail", "echo-ok"):
        for path in executor.pvc_path(f"{task}-results", namespace).rglob("*"):
            if path.is_file():
                looked_at[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    assert any(name.endswith("report.html") for name in looked_at)
    assert any("invalid credentials" in text for name, text in looked_at.items() if "log" in name)
    assert [name for name, text in looked_at.items() if KEY in text] == []


def test_a_group_naming_an_unlabelled_secret_deploys_nothing(
    namespace: str, local_cluster: ClusterAccess
) -> None:
    apply(local_cluster, secret(namespace, "hf-token", PROD_DB))
    group = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "ModelEvalServiceGroup",
        "metadata": {"name": "g", "namespace": namespace},
        "spec": {
            "image": "example.com/mock-llm:1",
            "envFrom": [{"name": "HF_TOKEN", "secretKeyRef": {"name": "hf-token", "key": "key"}}],
        },
    }
    apply(local_cluster, group)

    def failed() -> dict[str, Any] | None:
        with local_cluster.api() as api:
            found = api.get(
                f"/apis/modeleval.io/v1alpha1/namespaces/{namespace}/modelevalservicegroups/g"
            )
        status = (found or {}).get("status") or {}
        return status if status.get("phase") == "Failed" else None

    status = local_cluster.wait_for(failed, timeout=30, what="group g Failed")
    assert status["message"] == (
        "ModelEvalServiceGroup g is refused: spec.envFrom[0].secretKeyRef: Secret hf-token "
        f'does not exist or is not labelled {USABLE}: "true"'
    )
    with local_cluster.api() as api:
        assert api.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/g") is None
