"""Helpers of the EvalTask e2e tests: manifests, kubectl, status polling."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from modeleval_testkit.cluster import ClusterAccess

ACTIVE_OR_DONE = ("RunningWithMetricsCalculating", "RunningWithManualBegin", "Succeeded", "Failed")


def items(count: int, prefix: str = "q") -> list[dict[str, str]]:
    return [
        {"id": f"{prefix}{i}", "input": f"{prefix} question {i}", "target": f"answer {i}"}
        for i in range(count)
    ]


def tasks_path(namespace: str) -> str:
    return f"/apis/modeleval.io/v1alpha1/namespaces/{namespace}/evaltasks"


def task_manifest(
    name: str,
    namespace: str,
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
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def apply(cluster: ClusterAccess, *docs: dict[str, Any]) -> None:
    """``kubectl apply -f -`` of the documents."""
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))


def get_task(cluster: ClusterAccess, namespace: str, name: str) -> dict[str, Any]:
    with cluster.api() as api:
        obj = api.get(f"{tasks_path(namespace)}/{name}")
    assert obj is not None, f"EvalTask {name} not found"
    return obj


def status(cluster: ClusterAccess, namespace: str, name: str) -> dict[str, Any]:
    return get_task(cluster, namespace, name).get("status") or {}


def set_suspend(cluster: ClusterAccess, namespace: str, name: str, value: bool) -> None:
    patch = json.dumps({"spec": {"suspend": value}})
    cluster.kubectl("patch", "evaltask", name, "-n", namespace, "--type=merge", "-p", patch)


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
    cluster: ClusterAccess,
    namespace: str,
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
        st = status(cluster, namespace, name)
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


def jobs(cluster: ClusterAccess, namespace: str) -> dict[str, dict[str, Any]]:
    with cluster.api() as api:
        listed = api.get(f"/apis/batch/v1/namespaces/{namespace}/jobs") or {}
    return {job["metadata"]["name"]: job for job in listed.get("items") or []}


def pods_of_job(cluster: ClusterAccess, namespace: str, job: str) -> list[dict[str, Any]]:
    selector = f"labelSelector=batch.kubernetes.io/job-name%3D{job}"
    path = f"/api/v1/namespaces/{namespace}/pods?{selector}"
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


def event_reasons(cluster: ClusterAccess, namespace: str, name: str) -> list[str]:
    """Reasons of the Events about the task, oldest first."""
    selector = f"fieldSelector=involvedObject.name%3D{name}"
    with cluster.api() as api:
        listed = api.get(f"/api/v1/namespaces/{namespace}/events?{selector}") or {}
    found = sorted(
        listed.get("items") or [],
        key=lambda e: (e.get("firstTimestamp") or "", int(e["metadata"]["resourceVersion"])),
    )
    return [str(e.get("reason")) for e in found]
