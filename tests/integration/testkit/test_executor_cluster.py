"""`LocalCluster` as a whole: a real ``kopf run`` operator subprocess logged in as its
ServiceAccount, RBAC from manifests, kubectl, and Service DNS for Job processes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from modeleval_testkit.cluster import ExistingCluster, JsonApi, LocalCluster
from modeleval_testkit.executor import ExecutorConfig

TINY_OPERATOR = """
import kopf

@kopf.on.startup()
def configure(settings, **_):
    settings.posting.enabled = False
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="demo.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="demo.io")

@kopf.on.create("", "v1", "configmaps", labels={"demo": "yes"})
def stamp(patch, name, **_):
    patch.metadata.annotations["demo.io/seen-by"] = "tiny-operator"
"""

RBAC = [
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "tiny-operator"},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["configmaps"],
                "verbs": ["get", "list", "watch", "patch"],
            }
        ],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "tiny-operator"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "tiny-operator",
        },
        "subjects": [
            {
                "kind": "ServiceAccount",
                "name": "modeleval-operator",
                "namespace": "modeleval-system",
            }
        ],
    },
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    work = tmp_path_factory.mktemp("cluster")
    operator, rbac = work / "tiny_operator.py", work / "rbac.yaml"
    operator.write_text(TINY_OPERATOR)
    rbac.write_text(yaml.safe_dump_all(RBAC))
    with LocalCluster(
        work_dir=work / "run",
        operator=[str(operator)],
        rbac_manifests=[rbac],
        executor=ExecutorConfig(time_scale=0.02),
    ) as local:
        yield local


@pytest.fixture
def api(cluster: LocalCluster) -> Iterator[JsonApi]:
    with cluster.api() as client:
        yield client


def test_operator_process_runs_as_its_service_account(cluster: LocalCluster, api: JsonApi) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "hello", "namespace": "default", "labels": {"demo": "yes"}},
        "data": {"k": "v"},
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))

    def stamped() -> Any:
        annotations = (api.get("/api/v1/namespaces/default/configmaps/hello") or {})["metadata"]
        return (annotations.get("annotations") or {}).get("demo.io/seen-by")

    assert cluster.wait_for(stamped, timeout=60, what="the operator's patch") == "tiny-operator"
    assert cluster.operator_running
    users = {r.user for r in cluster.apiserver.request_log if r.verb == "patch"}
    assert "system:serviceaccount:modeleval-system:modeleval-operator" in users
    got = cluster.kubectl("get", "configmap", "hello", "-o", "jsonpath={.metadata.annotations}")
    assert "tiny-operator" in got.stdout
    kubeconfig = yaml.safe_load(cluster.operator_kubeconfig.read_text())
    token = kubeconfig["users"][0]["user"]["token"]
    assert token == cluster.operator_token and token != cluster.admin_token


def test_job_reaches_a_service_through_cluster_dns(cluster: LocalCluster, api: JsonApi) -> None:
    ns = "default"
    labels = {"app": "model"}
    container = {
        "name": "server",
        "image": "vllm/vllm-openai:latest",
        "args": ["--served-model-name", "dns-test"],
        "ports": [{"containerPort": 8000}],
        "readinessProbe": {"httpGet": {"path": "/health", "port": 8000}},
    }
    api.create(
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        {
            "metadata": {"name": "model"},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            },
        },
    )
    api.create(
        f"/api/v1/namespaces/{ns}/services",
        {"metadata": {"name": "model"}, "spec": {"selector": labels, "ports": [{"port": 8000}]}},
    )
    url = f"http://model.{ns}.svc.cluster.local:8000/v1"
    api.create(
        f"/api/v1/namespaces/{ns}/configmaps",
        {"metadata": {"name": "task"}, "data": {"task.json": json.dumps({"url": url})}},
    )
    script = textwrap.dedent(
        """
        import json, os, urllib.request
        url = json.load(open("/etc/task/task.json"))["url"]
        print(url)
        print(os.environ["MODEL_URL"])
        with urllib.request.urlopen(url + "/models") as answer:
            print(json.load(answer)["data"][0]["id"])
        """
    )
    job = {
        "metadata": {"name": "client"},
        "spec": {
            "backoffLimit": 3,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "main",
                            "image": "runner",
                            "command": ["python", "-c", script],
                            "env": [{"name": "MODEL_URL", "value": f"http://model.{ns}.svc:8000"}],
                            "volumeMounts": [{"name": "task", "mountPath": "/etc/task"}],
                        }
                    ],
                    "volumes": [{"name": "task", "configMap": {"name": "task"}}],
                }
            },
        },
    }
    executor = cluster.executor
    assert executor is not None

    def model_ready() -> bool:
        got = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/model") or {}
        return (got.get("status") or {}).get("readyReplicas") == 1

    cluster.wait_for(model_ready, what="model ready")
    api.create(f"/apis/batch/v1/namespaces/{ns}/jobs", job)

    def complete() -> Any:
        got = api.get(f"/apis/batch/v1/namespaces/{ns}/jobs/client") or {}
        conditions = (got.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Complete" for c in conditions)

    cluster.wait_for(complete, what="client job")
    pods = api.get(f"/api/v1/namespaces/{ns}/pods?labelSelector=job-name%3Dclient")
    assert pods is not None
    succeeded = [p for p in pods["items"] if p["status"]["phase"] == "Succeeded"]
    lines = executor.pod_log(succeeded[0]["metadata"]["name"], ns).split()
    proxy = executor.resolve_url(url)
    assert proxy.startswith("http://127.0.0.1:") and proxy.endswith("/v1")
    assert lines == [proxy, executor.resolve_url(f"http://model.{ns}.svc:8000"), "dns-test"]
    logs = cluster.kubectl("logs", succeeded[0]["metadata"]["name"], "-n", ns).stdout
    assert logs.split() == lines
    assert (
        executor.resolve_url(f"http://other.{ns}.svc:8000/v1") == f"http://other.{ns}.svc:8000/v1"
    )
    assert executor.resolve_url(f"http://model.{ns}.svc:9999") == f"http://model.{ns}.svc:9999"
    assert executor.resolve_url("https://example.com/v1") == "https://example.com/v1"


def test_operator_stops_on_sigterm(tmp_path: Path) -> None:
    operator = tmp_path / "op.py"
    operator.write_text("import kopf\n")
    with LocalCluster(
        work_dir=tmp_path / "c", operator=[str(operator)], rbac_manifests=[], run_executor=False
    ) as local:
        assert local.executor is None
        assert local.operator_running
        assert local.stop_operator() is not None
        assert not local.operator_running


def test_existing_cluster_works_from_a_kubeconfig(cluster: LocalCluster) -> None:
    remote = ExistingCluster(cluster.admin_kubeconfig)
    assert remote.executor is None
    with remote.api() as api:
        names = {n["metadata"]["name"] for n in api.get("/api/v1/namespaces")["items"]}  # type: ignore[index]
    assert {"default", "modeleval-system"} <= names
    assert "modeleval-system" in remote.kubectl("get", "namespaces", "-o", "name").stdout
    client = remote.api_client()
    try:
        assert client.configuration.host == cluster.api_url
    finally:
        client.close()


def test_executor_command_line_runs_jobs_for_a_kubeconfig(tmp_path: Path) -> None:
    with LocalCluster(
        work_dir=tmp_path, operator=None, rbac_manifests=[], run_executor=False
    ) as local:
        argv = [sys.executable, "-m", "modeleval_testkit.executor", "--time-scale", "0.02"]
        argv += ["--kubeconfig", str(local.admin_kubeconfig), "--work-dir", str(tmp_path / "x")]
        with (tmp_path / "executor.log").open("wb") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        try:
            with local.api() as api:
                body = {
                    "metadata": {"name": "cli"},
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [
                                    {"name": "c", "image": "r", "command": ["python", "-c", "pass"]}
                                ],
                            }
                        }
                    },
                }
                api.create("/apis/batch/v1/namespaces/default/jobs", body)

                def complete() -> bool:
                    job = api.get("/apis/batch/v1/namespaces/default/jobs/cli") or {}
                    conditions = (job.get("status") or {}).get("conditions") or []
                    return any(c["type"] == "Complete" for c in conditions)

                local.wait_for(complete, what="job run by the executor process")
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        assert "executor running for https://127.0.0.1:" in (tmp_path / "executor.log").read_text()
