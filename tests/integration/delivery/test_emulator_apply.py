"""The rendered chart applies with the real kubectl to the API emulator, and its RBAC
grants the operator's ServiceAccount what it needs and nothing more."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from modeleval_testkit.apiserver import ThreadedApiServer, run_in_thread
from tests.support.kube import NAMESPACE, KubeTools
from tests.support.paths import REPO

SA = f"system:serviceaccount:{NAMESPACE}:modeleval-operator"


class Emulator:
    def __init__(self, server: ThreadedApiServer, tools: KubeTools, tmp: Path) -> None:
        self.server = server
        self.tools = tools
        self.tmp = tmp
        self.admin = server.write_kubeconfig(tmp / "admin.kubeconfig")
        token = server.issue_service_account_token(NAMESPACE, "modeleval-operator")
        self.operator = server.write_kubeconfig(tmp / "operator.kubeconfig", token)

    def kubectl(self, kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return self.tools.run(self.tools.kubectl, "--kubeconfig", kubeconfig, *args, check=False)

    def apply(self, documents: list[dict[str, object]]) -> str:
        path = self.tmp / "objects.yaml"
        path.write_text(yaml.safe_dump_all(documents), encoding="utf-8")
        result = self.kubectl(self.admin, "apply", "-f", str(path))
        assert result.returncode == 0, result.stderr
        return result.stdout

    def as_operator(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.kubectl(self.operator, *args)


@pytest.fixture
def emulator(kube_tools: KubeTools, tmp_path: Path) -> Iterator[Emulator]:
    with run_in_thread(crds=[REPO / "crds"]) as server:
        yield Emulator(server, kube_tools, tmp_path)


def namespaces(*names: str) -> list[dict[str, object]]:
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in names]


def assert_forbidden(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0
    assert "Forbidden" in result.stderr, result.stderr


def test_default_install_applies_and_grants_cluster_wide(
    emulator: Emulator, kube_tools: KubeTools
) -> None:
    objects = namespaces(NAMESPACE, "team-a") + kube_tools.helm_template(include_crds=True)
    first = emulator.apply(objects)
    assert "deployment.apps/modeleval-operator created" in first
    assert "clusterrole.rbac.authorization.k8s.io/modeleval-runner created" in first
    again = emulator.apply(objects)
    assert "created" not in again and "configured" not in again, again
    deployment = emulator.server.get_object(
        "apps/v1", "Deployment", "modeleval-operator", NAMESPACE
    )
    assert deployment is not None

    for args in (
        ["get", "evaltasks", "-A"],
        ["get", "modelevalservicegroups", "-A"],
        ["get", "jobs", "-n", "team-a"],
        ["get", "pods", "-n", "team-a"],
        ["get", "customresourcedefinitions"],
    ):
        result = emulator.as_operator(*args)
        assert result.returncode == 0, (args, result.stderr)
    assert_forbidden(emulator.as_operator("get", "secrets", "-n", "team-a"))
    assert_forbidden(emulator.as_operator("get", "namespaces"))
    assert_forbidden(emulator.as_operator("get", "serviceaccounts", "-n", "team-a"))  # no list
    assert_forbidden(emulator.as_operator("get", "clusterroles"))


def test_watch_namespaces_limit_the_grants_to_those_namespaces(
    emulator: Emulator, kube_tools: KubeTools
) -> None:
    objects = namespaces(NAMESPACE, "team-a", "team-b") + kube_tools.helm_template(
        "--set", "watchNamespaces={team-a}", include_crds=True
    )
    emulator.apply(objects)
    assert emulator.as_operator("get", "evaltasks", "-n", "team-a").returncode == 0
    assert emulator.as_operator("get", "namespaces").returncode == 0  # Kopf follows namespaces
    assert_forbidden(emulator.as_operator("get", "evaltasks", "-n", "team-b"))
    assert_forbidden(emulator.as_operator("get", "evaltasks", "-A"))
    assert_forbidden(emulator.as_operator("get", "jobs", "-n", "team-b"))
