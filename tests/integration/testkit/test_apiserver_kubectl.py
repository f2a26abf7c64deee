"""Real kubectl against the emulator: apply, get, get -w, describe, wait, patch, delete."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from modeleval_testkit.apiserver import ThreadedApiServer, run_in_thread
from modeleval_testkit.apiserver.testcrd import widget, widget_crd
from tests.support.kube import require_kube_tools

WIDGET = ("example.test/v1", "Widget")


@pytest.fixture(scope="module")
def kubectl_path() -> Path:
    return require_kube_tools()[0]


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedApiServer]:
    with run_in_thread(crds=[widget_crd()]) as running:
        yield running


@pytest.fixture(scope="module")
def kubeconfig(server: ThreadedApiServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return server.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")


def wait_for_watcher(server: ThreadedApiServer) -> None:
    deadline = time.monotonic() + 10
    while not server.objects.store.watchers.get(("example.test", "widgets")):
        assert time.monotonic() < deadline, "kubectl never started watching"
        time.sleep(0.05)


def command(kubectl_path: Path, kubeconfig: Path, *args: str) -> list[str]:
    return [str(kubectl_path), "--kubeconfig", str(kubeconfig), *args]


@pytest.fixture
def kubectl(kubectl_path: Path, kubeconfig: Path):  # type: ignore[no-untyped-def]
    def run(*args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            command(kubectl_path, kubeconfig, *args),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    return run


def test_apply_creates_then_patches(kubectl, server: ThreadedApiServer) -> None:  # type: ignore[no-untyped-def]
    assert "created" in kubectl("apply", "-f", "-", stdin=yaml.safe_dump(widget("ap", size=2)))
    assert "configured" in kubectl("apply", "-f", "-", stdin=yaml.safe_dump(widget("ap", size=3)))
    stored = server.get_object(*WIDGET, "ap", "default")
    assert stored is not None
    assert stored["spec"] == {"size": 3, "replicas": 1, "mode": "fast"}
    assert "kubectl.kubernetes.io/last-applied-configuration" in stored["metadata"]["annotations"]
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "ap-cm"},
        "data": {"a": "1", "b": "2"},
    }
    kubectl("apply", "-f", "-", stdin=yaml.safe_dump(config))
    config["data"] = {"a": "1"}
    kubectl("apply", "-f", "-", stdin=yaml.safe_dump(config))  # strategic merge, 3-way
    assert server.get_object("v1", "ConfigMap", "ap-cm", "default")["data"] == {"a": "1"}  # type: ignore[index]


def test_apply_reports_schema_errors(kubectl_path: Path, kubeconfig: Path) -> None:
    result = subprocess.run(
        command(kubectl_path, kubeconfig, "apply", "-f", "-"),
        input=yaml.safe_dump(widget("bad", size=500)),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "spec.size: Invalid value: 500" in result.stderr


def test_get_prints_printer_columns(kubectl, server: ThreadedApiServer) -> None:  # type: ignore[no-untyped-def]
    server.create_object(widget("cols", size=7))
    lines = kubectl("get", "widgets", "cols").splitlines()
    assert lines[0].split() == ["NAME", "SIZE", "PHASE", "AGE"]
    assert lines[1].split()[:2] == ["cols", "7"]
    wide = kubectl("get", "wd", "cols", "-o", "wide").splitlines()
    assert wide[0].split() == ["NAME", "SIZE", "PHASE", "FIRST", "AGE"]
    assert kubectl("get", "wd", "cols", "-o", "jsonpath={.spec.size}") == "7"


def test_get_watch_streams_changes(
    kubectl_path: Path, kubeconfig: Path, server: ThreadedApiServer
) -> None:
    server.create_object(widget("watched", size=1))
    watcher = subprocess.Popen(
        command(kubectl_path, kubeconfig, "get", "wd", "watched", "-w"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watcher.stdout is not None
        assert watcher.stdout.readline().split()[0] == "NAME"
        assert watcher.stdout.readline().split()[:2] == ["watched", "1"]
        # kubectl GETs, prints, LISTs, then watches from the list: a change made before its
        # watch starts is never printed (kubectl's own race), so wait for the watch.
        wait_for_watcher(server)
        server.patch_object(*WIDGET, "watched", {"spec": {"size": 4}}, namespace="default")
        assert watcher.stdout.readline().split()[:2] == ["watched", "4"]
    finally:
        watcher.terminate()
        watcher.communicate(timeout=10)


def test_describe_shows_events(kubectl, server: ThreadedApiServer) -> None:  # type: ignore[no-untyped-def]
    obj = server.create_object(widget("described", size=2))
    server.create_object(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "described.1", "namespace": "default"},
            "involvedObject": {
                "apiVersion": "example.test/v1",
                "kind": "Widget",
                "name": "described",
                "namespace": "default",
                "uid": obj["metadata"]["uid"],
            },
            "reason": "Tested",
            "message": "it works",
            "type": "Normal",
            "count": 1,
            "source": {"component": "pytest"},
        }
    )
    text = kubectl("describe", "widget", "described")
    assert "Size:      2" in text
    assert "Tested" in text and "it works" in text
    header, *rows = kubectl("get", "events").splitlines()
    assert header.split() == ["NAME", "TYPE", "REASON", "OBJECT", "MESSAGE", "AGE"]
    assert any(r.split()[1:4] == ["Normal", "Tested", "widget/described"] for r in rows)


def test_patch_status_then_wait_for_jsonpath(
    kubectl_path: Path, kubeconfig: Path, kubectl, server: ThreadedApiServer
) -> None:  # type: ignore[no-untyped-def]
    server.create_object(widget("waited", size=1))
    waiter = subprocess.Popen(
        command(
            kubectl_path,
            kubeconfig,
            "wait",
            "widget/waited",
            "--for=jsonpath={.status.phase}=Ready",
            "--timeout=20s",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)
    assert waiter.poll() is None
    kubectl(
        "patch",
        "widget",
        "waited",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status": {"phase": "Ready"}, "spec": {"size": 9}}',
    )
    out, err = waiter.communicate(timeout=20)
    assert waiter.returncode == 0, err
    assert "condition met" in out
    stored = server.get_object(*WIDGET, "waited", "default")
    assert stored is not None and stored["spec"]["size"] == 1


def test_delete_wait_returns_when_finalizers_are_gone(
    kubectl_path: Path, kubeconfig: Path, server: ThreadedApiServer
) -> None:
    body = widget("finalized", size=1)
    body["metadata"]["finalizers"] = ["example.test/hold"]
    server.create_object(body)
    deleter = subprocess.Popen(
        command(
            kubectl_path, kubeconfig, "delete", "widget", "finalized", "--wait", "--timeout=20s"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    assert deleter.poll() is None
    marked = server.get_object(*WIDGET, "finalized", "default")
    assert marked is not None and marked["metadata"]["deletionTimestamp"]
    server.patch_object(
        *WIDGET, "finalized", {"metadata": {"finalizers": None}}, namespace="default"
    )
    out, err = deleter.communicate(timeout=20)
    assert deleter.returncode == 0, err
    assert "deleted" in out
    assert server.get_object(*WIDGET, "finalized", "default") is None


def test_server_dry_run_and_diff_change_nothing(
    kubectl, kubectl_path: Path, kubeconfig: Path, server: ThreadedApiServer
) -> None:  # type: ignore[no-untyped-def]
    server.create_object(widget("diffed", size=2))
    changed = yaml.safe_dump(widget("diffed", size=5))
    assert "server dry run" in kubectl("apply", "--dry-run=server", "-f", "-", stdin=changed)
    diff = subprocess.run(
        command(kubectl_path, kubeconfig, "diff", "-f", "-"),
        input=changed,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert diff.returncode == 1, diff.stderr  # 1: differences found
    assert "-  size: 2" in diff.stdout and "+  size: 5" in diff.stdout
    stored = server.get_object(*WIDGET, "diffed", "default")
    assert stored is not None and stored["spec"]["size"] == 2


def test_generators_that_send_protobuf(kubectl, server: ThreadedApiServer) -> None:  # type: ignore[no-untyped-def]
    kubectl("create", "namespace", "proto-ns")
    kubectl("create", "configmap", "proto-cm", "-n", "proto-ns", "--from-literal=a=b")
    kubectl(
        "create",
        "secret",
        "generic",
        "proto-secret",
        "-n",
        "proto-ns",
        "--from-literal=token=s3cret",
    )
    kubectl("create", "serviceaccount", "proto-sa", "-n", "proto-ns")
    assert server.get_object("v1", "Namespace", "proto-ns") is not None
    configmap = server.get_object("v1", "ConfigMap", "proto-cm", "proto-ns")
    assert configmap is not None and configmap["data"] == {"a": "b"}
    secret = server.get_object("v1", "Secret", "proto-secret", "proto-ns")
    assert secret is not None and secret["data"] == {"token": "czNjcmV0"}  # base64 of s3cret
    assert secret["type"] == "Opaque"
    assert server.get_object("v1", "ServiceAccount", "proto-sa", "proto-ns") is not None


def test_auth_can_i_follows_rbac(
    kubectl_path: Path, server: ThreadedApiServer, tmp_path: Path
) -> None:
    rbac = "rbac.authorization.k8s.io/v1"
    server.create_object(
        {
            "apiVersion": rbac,
            "kind": "Role",
            "metadata": {"name": "can-i", "namespace": "default"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
        }
    )
    server.create_object(
        {
            "apiVersion": rbac,
            "kind": "RoleBinding",
            "metadata": {"name": "can-i", "namespace": "default"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "can-i"},
            "subjects": [{"kind": "ServiceAccount", "name": "can-i", "namespace": "default"}],
        }
    )
    config = server.write_kubeconfig(
        tmp_path / "sa-config", server.issue_service_account_token("default", "can-i")
    )

    def can_i(*args: str) -> str:
        result = subprocess.run(
            command(kubectl_path, config, "auth", "can-i", *args),
            capture_output=True,
            text=True,
            timeout=30,
        )
        return result.stdout.strip()

    assert can_i("list", "pods") == "yes"
    assert can_i("delete", "pods") == "no"
    assert can_i("list", "pods", "-n", "kube-system") == "no"


def test_scale_writes_the_deployment_through_its_scale_subresource(  # type: ignore[no-untyped-def]
    kubectl, server: ThreadedApiServer
) -> None:
    labels = {"app": "scaled"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "scaled", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
            },
        },
    }
    kubectl("apply", "-f", "-", stdin=yaml.safe_dump(deployment))
    before = server.get_object("apps/v1", "Deployment", "scaled", "default")
    assert before is not None
    assert "deployment.apps/scaled scaled" in kubectl("scale", "deployment/scaled", "--replicas=3")
    after = server.get_object("apps/v1", "Deployment", "scaled", "default")
    assert after is not None
    assert after["spec"]["replicas"] == 3
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    scale = yaml.safe_load(
        kubectl("get", "--raw", "/apis/apps/v1/namespaces/default/deployments/scaled/scale")
    )
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 3}
    assert scale["status"]["selector"] == "app=scaled"
    # --current-replicas is a precondition: kubectl reads the Scale and PUTs it back.
    kubectl("scale", "deployment/scaled", "--current-replicas=3", "--replicas=2")
    final = server.get_object("apps/v1", "Deployment", "scaled", "default")
    assert final is not None and final["spec"]["replicas"] == 2
    scales = [r for r in server.request_log if r.subresource == "scale"]
    assert {(r.verb, r.code) for r in scales} >= {("patch", 200), ("update", 200)}
