"""Helpers of the EvalTask e2e tests: manifests, kubectl, status polling."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from modeleval.testing.cluster import LocalCluster

TASKS = "/apis/modeleval.io/v1alpha1/namespaces/default/evaltasks"
ACTIVE_OR_DONE = ("RunningWithMetricsCalculating", "RunningWithManualBegin", "Succeeded", "Failed")


def items(count: int, prefix: str = "q") -> list[dict[str, str]]:
    return [
        {"id": f"{prefix}{i}", "input": f"{prefix} question {i}", "target": f"answer {i}"}
        for i in range(count)
    ]


def task_manifest(
    name: str,
    url: str,
    dataset: dict[str, Any],
    *,
    parallel: int = 2,
    runner: dict[str, Any] | None = None,
    client: dict[str, Any] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "models": [{"name": "mock", "endpoint": {"url": url, "model": "mock-model"}}],
        "dataset": dataset,
        "inference": {
            "promptTemplate": "{input}",
            "client": {"parallel": parallel, "logEveryQuery": 2, **(client or {})},
        },
        "scoring": {"modes": ["rule"], "rule": {"scoreModes": ["accuracy"]}},
    }
    if runner:
        spec["runner"] = runner
    return {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def kubectl(cluster: LocalCluster, *args: str, input: str | None = None) -> str:
    """The real kubectl with the admin kubeconfig."""
    from modeleval.testing.tools import ensure_kube_tools

    tools = ensure_kube_tools(Path(tempfile.gettempdir()) / "modeleval-kube-tools")
    binary = tools[0] if isinstance(tools, tuple) else Path(tools) / "kubectl"
    result = subprocess.run(
        [str(binary), "--kubeconfig", str(cluster.admin_kubeconfig), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def apply(cluster: LocalCluster, *docs: dict[str, Any]) -> None:
    kubectl(cluster, "apply", "-f", "-", input=yaml.safe_dump_all(docs))


def get_task(cluster: LocalCluster, name: str) -> dict[str, Any]:
    with cluster.api() as api:
        obj = api.get(f"{TASKS}/{name}")
    assert obj is not None, f"EvalTask {name} not found"
    return obj


def status(cluster: LocalCluster, name: str) -> dict[str, Any]:
    return get_task(cluster, name).get("status") or {}


def set_suspend(cluster: LocalCluster, name: str, value: bool) -> None:
    patch = json.dumps({"spec": {"suspend": value}})
    kubectl(cluster, "patch", "evaltask", name, "--type=merge", "-p", patch)


class History:
    """Every distinct (state, percentage) the task showed while polled."""

    def __init__(self) -> None:
        self.states: list[str | None] = []
        self.percentages: list[int] = []

    def record(self, st: dict[str, Any]) -> None:
        if not self.states or self.states[-1] != st.get("state"):
            self.states.append(st.get("state"))
        if st.get("percentage") is not None:
            self.percentages.append(int(st["percentage"]))


def wait_status(
    cluster: LocalCluster,
    name: str,
    done: Callable[[dict[str, Any]], bool],
    *,
    timeout: float = 90,
    history: History | None = None,
    what: str = "",
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    st: dict[str, Any] = {}
    while time.monotonic() < deadline:
        st = status(cluster, name)
        if history is not None:
            history.record(st)
        if done(st):
            return st
        time.sleep(0.05)
    raise AssertionError(
        f"timed out waiting for {what or name}; status: {json.dumps(st)[:2000]}\n"
        f"operator log tail:\n{cluster.operator_output()[-3000:]}"
    )


def inference_finished(st: dict[str, Any]) -> bool:
    """Inference done: the task moved on to scoring (or ended)."""
    return st.get("state") in ACTIVE_OR_DONE


def jobs(cluster: LocalCluster) -> dict[str, dict[str, Any]]:
    with cluster.api() as api:
        listed = api.get("/apis/batch/v1/namespaces/default/jobs") or {}
    return {job["metadata"]["name"]: job for job in listed.get("items") or []}


def pods_of_job(cluster: LocalCluster, job: str) -> list[dict[str, Any]]:
    path = f"/api/v1/namespaces/default/pods?labelSelector=batch.kubernetes.io/job-name%3D{job}"
    with cluster.api() as api:
        listed = api.get(path) or {}
    return list(listed.get("items") or [])


def predictions(location: str) -> dict[str, str]:
    """item id -> output of a predictions file."""
    result = {}
    for line in Path(location).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            result[str(row["id"])] = row.get("output")
    return result
