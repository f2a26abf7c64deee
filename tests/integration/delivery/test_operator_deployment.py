"""The chart's operator container, run as written (command, args, env) against the API
emulator with the chart's RBAC: Kopf starts, answers its liveness probe, and is never
refused a request."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from modeleval_testkit.apiserver import ThreadedApiServer, run_in_thread
from tests.support.kube import NAMESPACE, KubeTools, one
from tests.support.paths import REPO

SA_USER = f"system:serviceaccount:{NAMESPACE}:modeleval-operator"
START_TIMEOUT_S = 45.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def operator_argv(container: dict[str, Any], health_port: int) -> list[str]:
    """The container's command and args, runnable here: this Python, a loopback probe."""
    argv = [*container["command"], *container["args"]]
    assert argv[0] == "python"
    argv[0] = sys.executable
    liveness = [i for i, arg in enumerate(argv) if arg.startswith("--liveness=")]
    assert liveness == [argv.index("--liveness=http://0.0.0.0:8080/healthz")]
    argv[liveness[0]] = f"--liveness=http://127.0.0.1:{health_port}/healthz"
    return argv


def wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the operator exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.3)
    pytest.fail(f"{url} did not answer 200 within {START_TIMEOUT_S} s")


EXPECTED_LISTS = {
    ("customresourcedefinitions", "list"),
    ("evaltasks", "list"),
    ("modelevalservicegroups", "list"),
}
"""Kopf answers /healthz before it has listed what it serves; a watch stream follows each list
(watches enter the request log only when they end)."""


def wait_for_lists(server: ThreadedApiServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        seen = {(r.resource, r.verb) for r in server.request_log if r.user == SA_USER}
        if seen >= EXPECTED_LISTS:
            time.sleep(0.5)  # let the watch requests that follow the lists start
            return
        time.sleep(0.2)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ThreadedApiServer]:
    with run_in_thread(crds=[REPO / "crds"]) as emulator:
        yield emulator


@pytest.mark.slow
@pytest.mark.parametrize(
    "values",
    [[], ["--set", "watchNamespaces={team-a}"]],
    ids=["all-namespaces", "watch-namespaces"],
)
def test_operator_container_starts_with_the_chart_rbac(
    server: ThreadedApiServer, kube_tools: KubeTools, tmp_path: Path, values: list[str]
) -> None:
    objects = kube_tools.helm_template(*values)
    namespaces = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        for name in (NAMESPACE, "team-a")
    ]
    manifest = tmp_path / "install.yaml"
    manifest.write_text(yaml.safe_dump_all([*namespaces, *objects]), encoding="utf-8")
    admin = server.write_kubeconfig(tmp_path / "admin.kubeconfig")
    applied = kube_tools.run(kube_tools.kubectl, "--kubeconfig", admin, "apply", "-f", manifest)
    assert "deployment.apps/modeleval-operator created" in applied.stdout

    deployment = one(objects, "Deployment", "modeleval-operator")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    token = server.issue_service_account_token(NAMESPACE, "modeleval-operator")
    kubeconfig = server.write_kubeconfig(tmp_path / "operator.kubeconfig", token)
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    env.update(
        POD_ID="modeleval-operator-0",
        KUBECONFIG=str(kubeconfig),
        MODELEVAL_METRICS_PORT="0",
        MODELEVAL_DAEMON_CANCELLATION_SECONDS="1",
        PATH="/usr/bin:/bin",
        PYTHONPATH=str(REPO / "operator"),
    )
    health_port = free_port()
    log = (tmp_path / "operator.log").open("w")
    process = subprocess.Popen(
        operator_argv(container, health_port), env=env, stdout=log, stderr=subprocess.STDOUT,
        text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        wait_healthy(f"http://127.0.0.1:{health_port}/healthz", process)
        wait_for_lists(server)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    output = (tmp_path / "operator.log").read_text(encoding="utf-8")
    calls = [r for r in server.request_log if r.user == SA_USER]
    assert calls, output[-3000:]
    refused = [f"{r.verb} {r.path} -> {r.code}" for r in calls if r.code == 403]
    assert not refused, "\n".join(refused) + "\n" + output[-3000:]
    assert {(r.resource, r.verb) for r in calls} >= EXPECTED_LISTS, output[-3000:]
