"""Admission: an EvalTask or a ModelEvalServiceGroup may use only what its author may use.

A cluster of its own: the operator serves its validating webhook and the API emulator calls it
(with the request's ``userInfo``) through the bundled ``manifests/webhook`` configuration. Two
users, with the emulator's RBAC: ``alice`` may write tasks and groups, read ConfigMaps and read
Secret ``team-key`` — not Secret ``prod-db``, not ServiceAccount ``powerful``, not PVC
``archive``; the admin may do anything. Each refusal is what alice sees from ``kubectl``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest
import yaml

from modeleval_testkit.cluster import LocalCluster, run_kubectl
from modeleval_testkit.mockserver import MockModelServer
from tests.support.paths import REPO
from tests.support.written import WrittenObjects

from .evaltask_helpers import items, task_manifest, wait_status

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.needs_executor]

NS = "team"
PROD_DB = "s3cr3t-prod-db-password"
TEAM_KEY = "team-api-key-123"
RUNNER_OK = "registry.example/modeleval-runner:*"
MODEL_OK = "registry.example/models/*"
TASK_WEBHOOK = 'admission webhook "evaltasks.modeleval.io" denied the request'
GROUP_WEBHOOK = 'admission webhook "modelevalservicegroups.modeleval.io" denied the request'

ALICE_ROLE = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "Role",
    "metadata": {"name": "evaluator", "namespace": NS},
    "rules": [
        {
            "apiGroups": ["modeleval.io"],
            "resources": ["evaltasks", "modelevalservicegroups"],
            "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
        },
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "create"]},
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["team-key"],
            "verbs": ["get"],
        },
    ],
}
ALICE_BINDING = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "RoleBinding",
    "metadata": {"name": "evaluators", "namespace": NS},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "evaluator"},
    "subjects": [{"kind": "Group", "name": "evaluators"}],
}


def secret(name: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NS},
        "stringData": {"key": value},
    }


@pytest.fixture(scope="module")
def cluster(written_objects: WrittenObjects) -> Iterator[LocalCluster]:
    env = {
        "MODELEVAL_ALLOWED_RUNNER_IMAGES": RUNNER_OK,
        "MODELEVAL_ALLOWED_MODEL_IMAGES": MODEL_OK,
    }
    with LocalCluster(
        webhook=True,
        operator_env=env,
        namespaces=("default", "modeleval-system", NS),
        record_writes=True,
    ) as running:
        running.apiserver.load_manifests(
            [ALICE_ROLE, ALICE_BINDING, secret("prod-db", PROD_DB), secret("team-key", TEAM_KEY)]
        )
        yield running
        written_objects.collect(running)


@pytest.fixture(scope="module")
def alice(cluster: LocalCluster) -> Callable[..., CompletedProcess[str]]:
    """kubectl as alice (group evaluators; a uid and extra attributes, as OIDC gives them)."""
    token = cluster.apiserver.issue_token(
        "alice", ["evaluators"], uid="u-alice", extra={"scopes": ["eval"]}
    )
    kubeconfig = cluster.apiserver.write_kubeconfig(
        cluster.work_dir / "alice.kubeconfig", token, NS
    )

    def kubectl(*args: str, input: str | None = None) -> CompletedProcess[str]:
        return run_kubectl(Path(kubeconfig), args, input=input, check=False)

    return kubectl


@pytest.fixture(scope="module")
def mock() -> Iterator[MockModelServer]:
    with MockModelServer(latency_s=0.01).running() as server:
        yield server


def task(name: str, url: str, **spec: Any) -> dict[str, Any]:
    doc = task_manifest(name, NS, url, {"inline": items(3)})
    doc["spec"].update(spec)
    return doc


def create(
    kubectl: Callable[..., CompletedProcess[str]], doc: dict[str, Any]
) -> CompletedProcess[str]:
    return kubectl("create", "-f", "-", input=yaml.safe_dump(doc))


def exists(cluster: LocalCluster, plural: str, name: str) -> bool:
    with cluster.api() as api:
        return api.get(f"/apis/modeleval.io/v1alpha1/namespaces/{NS}/{plural}/{name}") is not None


def with_endpoint(doc: dict[str, Any], **endpoint: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["spec"]["models"][0]["endpoint"].update(endpoint)
    return doc


PROD_REF = {"name": "prod-db", "key": "key"}


def secret_fields(url: str) -> dict[str, tuple[dict[str, Any], str]]:
    """Every EvalTask field that can name a Secret -> (task, the field the refusal names)."""
    base = task("leak", url)
    judge = copy.deepcopy(base)
    judge["spec"]["scoring"] = {
        "modes": ["rule", "model"],
        "judge": {"endpoint": {"url": url, "apiKeySecretRef": PROD_REF}},
    }
    s3 = copy.deepcopy(base)
    s3["spec"]["dataset"] = {
        "s3": {"url": "s3://bucket/qa.jsonl", "secretAccessKey": PROD_REF},
    }
    results = copy.deepcopy(base)
    results["spec"]["results"] = {
        "type": "S3",
        "s3": {"url": "s3://bucket/out", "accessKeyId": PROD_REF},
    }
    existing = copy.deepcopy(base)
    del existing["spec"]["models"], existing["spec"]["dataset"]
    existing["spec"]["existingResults"] = [
        {"name": "r", "source": {"s3": {"url": "s3://b/r.jsonl", "accessKeyId": PROD_REF}}}
    ]
    return {
        "apiKeySecretRef": (
            with_endpoint(base, apiKeySecretRef=PROD_REF),
            "spec.models[0].endpoint.apiKeySecretRef",
        ),
        "requestHeadersFrom": (
            with_endpoint(base, requestHeadersFrom=[{"name": "X-Db", "secretKeyRef": PROD_REF}]),
            "spec.models[0].endpoint.requestHeadersFrom[0].secretKeyRef",
        ),
        "judge": (judge, "spec.scoring.judge.endpoint.apiKeySecretRef"),
        "dataset-s3": (s3, "spec.dataset.s3.secretAccessKey"),
        "results-s3": (results, "spec.results.s3.accessKeyId"),
        "existing-results": (existing, "spec.existingResults[0].source.s3.accessKeyId"),
    }


@pytest.mark.parametrize(
    "field",
    [
        "apiKeySecretRef",
        "requestHeadersFrom",
        "judge",
        "dataset-s3",
        "results-s3",
        "existing-results",
    ],
)
def test_no_task_field_gets_a_secret_its_author_may_not_read(
    cluster: LocalCluster, alice: Any, mock: MockModelServer, field: str
) -> None:
    doc, path = secret_fields(mock.url)[field]
    name = doc["metadata"]["name"] = f"leak-{field.lower()}"  # a name per case
    result = create(alice, doc)
    assert result.returncode != 0
    assert TASK_WEBHOOK in result.stderr
    assert f"{path}: user alice may not get Secret prod-db" in result.stderr, result.stderr
    assert not exists(cluster, "evaltasks", name)
    assert not any(PROD_DB in value for value in mock.stats().credentials)


def test_the_authors_own_secret_is_used_and_reaches_only_the_endpoint(
    cluster: LocalCluster, alice: Any, mock: MockModelServer
) -> None:
    doc = with_endpoint(
        task("own-key", mock.url), apiKeySecretRef={"name": "team-key", "key": "key"}
    )
    result = create(alice, doc)
    assert result.returncode == 0, result.stderr
    final = wait_status(cluster, NS, "own-key", lambda s: s.get("state") in ("Succeeded", "Failed"))
    assert final["state"] == "Succeeded", final.get("message")
    assert mock.stats().credentials[f"Bearer {TEAM_KEY}"] >= 3


def test_an_update_cannot_point_someone_elses_secret_at_a_new_url(
    cluster: LocalCluster, alice: Any, mock: MockModelServer
) -> None:
    """The admin's task uses prod-db; alice may edit tasks, but not redirect that key."""
    doc = with_endpoint(task("admins", mock.url), apiKeySecretRef=PROD_REF)
    doc["spec"]["suspend"] = True
    cluster.kubectl("create", "-f", "-", input=yaml.safe_dump(doc))
    patch = {
        "spec": {
            "models": [
                {
                    "name": "mock",
                    "endpoint": {"url": "https://evil.example/v1", "apiKeySecretRef": PROD_REF},
                }
            ]
        }
    }
    result = alice("patch", "evaltask", "admins", "--type=merge", "-p", json.dumps(patch))
    assert result.returncode != 0
    assert "user alice may not get Secret prod-db" in result.stderr, result.stderr
    # Suspending or resuming uses nothing new: allowed.
    resumed = alice(
        "patch", "evaltask", "admins", "--type=merge", "-p", '{"spec":{"suspend":true}}'
    )
    assert resumed.returncode == 0, resumed.stderr


def test_a_runner_image_outside_the_allow_list_is_refused(
    cluster: LocalCluster, alice: Any, mock: MockModelServer
) -> None:
    bad = task("img", mock.url, runner={"image": "docker.io/evil/runner:1"})
    result = create(alice, bad)
    assert result.returncode != 0
    assert "spec.runner.image: image docker.io/evil/runner:1 is not allowed" in result.stderr, (
        result.stderr
    )
    good = task("img-ok", mock.url, runner={"image": "registry.example/modeleval-runner:2"})
    assert create(alice, good).returncode == 0


GROUP = {
    "apiVersion": "modeleval.io/v1alpha1",
    "kind": "ModelEvalServiceGroup",
    "metadata": {"name": "g", "namespace": NS},
    "spec": {"image": "registry.example/models/vllm:1"},
}


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        (
            {"image": "docker.io/evil/miner:1"},
            "spec.image: image docker.io/evil/miner:1 is not allowed",
        ),
        (
            {"serviceAccountName": "powerful"},
            "spec.serviceAccountName: user alice may not use ServiceAccount powerful",
        ),
        (
            {"modelCache": {"claimName": "archive"}},
            "spec.modelCache.claimName: user alice may not use PersistentVolumeClaim archive",
        ),
        (
            {"envFrom": [{"name": "DB", "secretKeyRef": PROD_REF}]},
            "spec.envFrom[0].secretKeyRef: user alice may not get Secret prod-db",
        ),
        (
            {"imagePullSecrets": ["prod-db"]},
            "spec.imagePullSecrets[0]: user alice may not get Secret prod-db",
        ),
        (
            {
                "placement": {
                    "tolerations": [
                        {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}
                    ]
                }
            },
            "spec.placement.tolerations[0]: tolerates the control-plane taint",
        ),
    ],
)
def test_a_group_may_use_only_what_its_author_may(
    cluster: LocalCluster, alice: Any, spec: dict[str, Any], says: str
) -> None:
    doc = copy.deepcopy(GROUP)
    doc["spec"].update(spec)
    name = doc["metadata"]["name"] = f"g-{sorted(spec)[0].lower()}"  # each case its own name
    result = create(alice, doc)
    assert result.returncode != 0
    assert GROUP_WEBHOOK in result.stderr
    assert says in result.stderr, result.stderr
    assert not exists(cluster, "modelevalservicegroups", name)


def test_a_task_cannot_mount_a_pvc_its_author_may_not_use(
    cluster: LocalCluster, alice: Any, mock: MockModelServer
) -> None:
    doc = task("pvc", mock.url, results={"claimName": "archive"})
    result = create(alice, doc)
    assert result.returncode != 0
    assert (
        "spec.results.claimName: user alice may not use PersistentVolumeClaim archive"
        in result.stderr
    )


def test_the_admin_may_use_everything_the_policy_allows(
    cluster: LocalCluster, mock: MockModelServer
) -> None:
    doc = with_endpoint(task("by-admin", mock.url), apiKeySecretRef=PROD_REF)
    doc["spec"]["suspend"] = True
    cluster.kubectl("create", "-f", "-", input=yaml.safe_dump(doc))  # raises on refusal
    bad = task("admin-img", mock.url, runner={"image": "docker.io/evil/runner:1"})
    refused = cluster.kubectl("create", "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert "is not allowed" in refused.stderr  # the policy binds everyone


def test_the_shipped_webhook_configuration_is_what_the_emulator_calls() -> None:
    shipped = yaml.safe_load(
        (REPO / "manifests" / "webhook" / "validating_webhook.yaml").read_text()
    )
    paths = {hook["clientConfig"]["service"]["path"] for hook in shipped["webhooks"]}
    assert paths == {"/validate-evaltask", "/validate-servicegroup"}


def test_an_admitted_group_gets_its_tasks_created_by_the_operator(
    cluster: LocalCluster, alice: Any
) -> None:
    """alice's group names her own Secret; the operator creates the group's EvalTask (as
    itself, not checked again) and it runs to the end with that Secret."""
    group = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "ModelEvalServiceGroup",
        "metadata": {"name": "evaluated", "namespace": NS},
        "spec": {
            "image": "registry.example/models/vllm-mock:1",
            "serving": {"servedModelName": "mock-model"},
            "health": {"readinessPath": "/ready", "bootTimeSeconds": 60},
            "evaluation": {
                "datasets": [
                    {"name": "one", "inline": [{"id": "a", "input": "hi", "target": "hi"}]}
                ],
                "requestHeadersFrom": [
                    {"name": "X-Team-Key", "secretKeyRef": {"name": "team-key", "key": "key"}}
                ],
                "scoring": {"modes": ["rule"]},
            },
        },
    }
    result = create(alice, group)
    assert result.returncode == 0, result.stderr

    def task_done() -> dict[str, Any] | None:
        with cluster.api() as api:
            listed = api.get(f"/apis/modeleval.io/v1alpha1/namespaces/{NS}/evaltasks") or {}
        owned = [
            t
            for t in listed.get("items") or []
            if (t["metadata"].get("ownerReferences") or [{}])[0].get("name") == "evaluated"
        ]
        done = [t for t in owned if (t.get("status") or {}).get("state") in ("Succeeded", "Failed")]
        return done[0] if done else None

    finished = cluster.wait_for(task_done, timeout=120, what="the group's EvalTask")
    assert finished["status"]["state"] == "Succeeded", finished["status"].get("message")
