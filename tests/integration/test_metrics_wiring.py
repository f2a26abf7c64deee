"""The metrics are recorded where the work happens: operator handlers, the runner's requests.

Values are read from the default registry as before/after deltas, with model names, namespaces
and kinds unique to each test, so other tests in the same process do not disturb them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import kopf
import pytest
from prometheus_client import REGISTRY

from modeleval import constants as c
from modeleval import kube, metrics
from modeleval.api import TaskState
from modeleval.handlers import evaltask, evaltask_fleet, servicegroup_status
from modeleval.handlers.once import ActiveTasks
from modeleval.reconcile.evaltask_state import Decision
from modeleval.runner import telemetry
from modeleval.runner.__main__ import serve_metrics
from modeleval.runner.client import ClientSettings
from modeleval.runner.config import ModelRun, PerfSettings, RunConfig, RunSettings
from modeleval.runner.datasets import Item
from modeleval.runner.infer import run_inference
from modeleval.runner.perf.phase import run_performance
from modeleval_testkit.mockserver import FaultKind, FaultSettings, MockModelServer


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- resources by state -------------------------------------------------------------------


def test_observe_state_counts_objects_by_state_and_forget_removes_them() -> None:
    kind = unique("Kind")
    metrics.observe_state(kind, "ns", "a", "Running")
    metrics.observe_state(kind, "ns", "b", "Running")
    metrics.observe_state(kind, "other", "a", "Queued")
    assert value("modeleval_resources", kind=kind, state="Running") == 2
    assert value("modeleval_resources", kind=kind, state="Queued") == 1

    metrics.observe_state(kind, "ns", "a", "Succeeded")
    metrics.observe_state(kind, "ns", "a", "Succeeded")  # unchanged: counted once
    assert value("modeleval_resources", kind=kind, state="Running") == 1
    assert value("modeleval_resources", kind=kind, state="Succeeded") == 1

    metrics.forget(kind, "ns", "b")
    metrics.forget(kind, "ns", "b")  # already gone: no effect
    metrics.forget(kind, "other", "a")
    assert value("modeleval_resources", kind=kind, state="Running") == 0
    assert value("modeleval_resources", kind=kind, state="Queued") == 0
    assert value("modeleval_resources", kind=kind, state="Succeeded") == 1


def test_reconcile_counts_a_finished_task_and_forgets_it_once_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    namespace, name = unique("ns"), "done"
    stored: dict[str, Any] = {
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "status": {"state": "Succeeded", "observedGeneration": 1},
    }
    found: list[dict[str, Any] | None] = [stored]
    monkeypatch.setattr(kube, "get_custom", lambda plural, ns, n: found[0])
    before = value("modeleval_resources", kind=c.EVAL_TASK_KIND, state="Succeeded")

    assert evaltask.reconcile(namespace, name) is None
    assert value("modeleval_resources", kind=c.EVAL_TASK_KIND, state="Succeeded") == before + 1

    found[0] = None
    assert evaltask.reconcile(namespace, name) is None
    assert value("modeleval_resources", kind=c.EVAL_TASK_KIND, state="Succeeded") == before


async def test_a_deleted_task_event_forgets_the_task() -> None:
    namespace = unique("ns")
    before = value("modeleval_resources", kind=c.EVAL_TASK_KIND, state="Queued")
    metrics.observe_state(c.EVAL_TASK_KIND, namespace, "t", "Queued")
    body = kopf.Body({"metadata": {"name": "t"}, "status": {"state": "Queued"}})
    await evaltask_fleet.on_task_event(type="MODIFIED", namespace=namespace, name="t", body=body)
    assert value("modeleval_resources", kind=c.EVAL_TASK_KIND, state="Queued") == before + 1
    await evaltask_fleet.on_task_event(type="DELETED", namespace=namespace, name="t", body=body)
    assert value("modeleval_resources", kind=c.EVAL_TASK_KIND, state="Queued") == before


def test_a_group_that_is_gone_leaves_the_gauge(monkeypatch: pytest.MonkeyPatch) -> None:
    namespace = unique("ns")
    kind = c.SERVICE_GROUP_KIND
    before = value("modeleval_resources", kind=kind, state="Running")
    metrics.observe_state(kind, namespace, "g", "Running")
    monkeypatch.setattr(kube, "get_custom", lambda plural, ns, n: None)
    servicegroup_status.poll(name="g", namespace=namespace)
    assert value("modeleval_resources", kind=kind, state="Running") == before


# --- handler durations and errors ---------------------------------------------------------


def handler_samples(kind: str, handler: str) -> tuple[float, float]:
    labels = {"kind": kind, "handler": handler}
    return (
        value("modeleval_reconcile_duration_seconds_count", **labels),
        value("modeleval_reconcile_errors_total", **labels),
    )


def test_task_handler_is_timed_and_waits_are_not_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    waiting = Decision(TaskState.QUEUED, reason="", message="waiting", retry_after=5)
    monkeypatch.setattr(evaltask, "reconcile", lambda ns, n: waiting)
    runs, errors = handler_samples(c.EVAL_TASK_KIND, evaltask.HANDLER_CHANGE)
    with pytest.raises(kopf.TemporaryError):
        evaltask.on_task_change(namespace="ns", name="t")
    assert handler_samples(c.EVAL_TASK_KIND, evaltask.HANDLER_CHANGE) == (runs + 1, errors)


async def test_task_handler_errors_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    called = asyncio.Event()
    loop = asyncio.get_running_loop()

    def broken(namespace: str, name: str) -> None:
        loop.call_soon_threadsafe(called.set)
        raise RuntimeError("API down")

    monkeypatch.setattr(evaltask_fleet, "reconcile", broken)
    monkeypatch.setattr(evaltask_fleet, "ACTIVE", ActiveTasks())
    evaltask_fleet.ACTIVE.update("ns", "t", active=True)
    runs, errors = handler_samples(c.EVAL_TASK_KIND, evaltask_fleet.HANDLER_RESYNC)
    sweep = asyncio.create_task(evaltask_fleet.sweep_forever(interval=0, rate=100))
    await called.wait()
    await asyncio.sleep(0.05)  # the sweep records the failed run
    sweep.cancel()
    now_runs, now_errors = handler_samples(c.EVAL_TASK_KIND, evaltask_fleet.HANDLER_RESYNC)
    assert now_runs > runs and now_errors - errors == now_runs - runs  # every run failed


def test_group_observation_handlers_are_timed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kube, "get_custom", lambda plural, ns, n: None)
    runs, errors = handler_samples(c.SERVICE_GROUP_KIND, servicegroup_status.HANDLER_TIMER)
    servicegroup_status.poll(name="g", namespace=unique("ns"))
    assert handler_samples(c.SERVICE_GROUP_KIND, servicegroup_status.HANDLER_TIMER) == (
        runs + 1,
        errors,
    )


# --- runner requests ----------------------------------------------------------------------


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner serves its metrics (as with MODELEVAL_METRICS_PORT set)."""
    monkeypatch.setattr(telemetry, "_enabled", True)


def run_config(url: str, results: Path, model: str) -> RunConfig:
    client = ClientSettings(parallel=2, max_retries=1, backoff_base_s=0.01)
    return RunConfig(
        task_name="t",
        namespace=None,
        models=(ModelRun(name=model, url=url, model="mock", client=client),),
        dataset=None,
        settings=RunSettings(results_dir=results, max_error_ratio=0.5),
    )


async def test_runner_records_requests_latency_tokens_items_and_errors(
    tmp_path: Path, served: None
) -> None:
    model = unique("model")
    faults = FaultSettings(
        by_item={"q1": [FaultKind.RATE_LIMIT] * 3, "q2": [FaultKind.SERVER_ERROR] * 3},
        retry_after_s=0.01,
    )
    items = [Item(id=f"q{i}", input=f"question {i}", target=None) for i in range(5)]
    server = await MockModelServer(faults=faults).start()
    try:
        summary = await run_inference(
            run_config(server.url, tmp_path, model), items, sink=None, stop=asyncio.Event()
        )
    finally:
        await server.stop()
    assert (summary.succeeded, summary.failed) == (3, 2)
    assert value("modeleval_runner_requests_total", model=model, outcome="ok") == 3
    assert value("modeleval_runner_requests_total", model=model, outcome="rate_limited") == 1
    assert value("modeleval_runner_requests_total", model=model, outcome="error") == 1
    assert value("modeleval_runner_request_latency_seconds_count", model=model) == 5
    assert value("modeleval_runner_request_latency_seconds_sum", model=model) > 0
    # "question N" is two tokens each way (the mock echoes the prompt)
    assert value("modeleval_runner_tokens_total", model=model, direction="input") == 6
    assert value("modeleval_runner_tokens_total", model=model, direction="output") == 6
    assert value("modeleval_runner_items_done_total", model=model) == 5
    assert value("modeleval_runner_errors_total", model=model, kind="http_429") == 1
    assert value("modeleval_runner_errors_total", model=model, kind="http_5xx") == 1


async def test_unreachable_endpoint_counts_connection_errors(tmp_path: Path, served: None) -> None:
    model = unique("model")
    items = [Item(id="q0", input="x", target=None)]
    await run_inference(
        run_config("http://127.0.0.1:9/v1", tmp_path, model), items, sink=None, stop=asyncio.Event()
    )
    assert value("modeleval_runner_requests_total", model=model, outcome="error") == 1
    assert value("modeleval_runner_errors_total", model=model, kind="connection") == 1
    assert value("modeleval_runner_items_done_total", model=model) == 1


async def test_performance_requests_are_recorded(tmp_path: Path, served: None) -> None:
    model = unique("perf")
    server = await MockModelServer(ttft_s=0.001, output_tokens=3).start()
    faults = MockModelServer(faults=FaultSettings(rate=1.0, kinds=(FaultKind.SERVER_ERROR,)))
    await faults.start()
    try:
        good = ModelRun(name=model, url=server.url, model="mock")
        bad = ModelRun(name=model + "-bad", url=faults.url, model="mock")
        config = RunConfig(
            task_name="p",
            namespace=None,
            models=(good, bad),
            dataset=None,
            settings=RunSettings(results_dir=tmp_path),
            performance=PerfSettings(levels=(2,), requests_per_level=4),
        )
        await run_performance(config, [Item(id="0", input="hi")], sink=None, stop=asyncio.Event())
    finally:
        await server.stop()
        await faults.stop()
    assert value("modeleval_runner_requests_total", model=model, outcome="ok") == 4
    assert value("modeleval_runner_tokens_total", model=model, direction="output") == 12
    assert value("modeleval_runner_request_latency_seconds_count", model=model) == 4
    assert value("modeleval_runner_requests_total", model=model + "-bad", outcome="error") == 4
    assert value("modeleval_runner_errors_total", model=model + "-bad", kind="http_5xx") == 4


async def test_a_bad_dataset_counts_a_dataset_error(tmp_path: Path, served: None) -> None:
    from modeleval.runner.phases import PhaseError, run_phase

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input": "ok"}\nnot json\n')
    task = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": "t", "namespace": "ns"},
        "spec": {
            "models": [{"name": "m", "endpoint": {"url": "http://127.0.0.1:9/v1"}}],
            "dataset": {"url": "http://unused.example/d.jsonl"},
        },
    }
    task_file = tmp_path / "task.json"
    task_file.write_text(json.dumps(task))
    before = value("modeleval_runner_errors_total", model="", kind="dataset")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELEVAL_DATASET_FILE", str(bad))
        with pytest.raises(PhaseError, match=r"bad.jsonl:2: invalid JSON"):
            await run_phase("infer", str(task_file), str(tmp_path / "r"), asyncio.Event)
    assert value("modeleval_runner_errors_total", model="", kind="dataset") == before + 1


def test_request_outcome_names() -> None:
    assert metrics.request_outcome(None) == "ok"
    assert metrics.request_outcome("timeout") == "timeout"
    assert metrics.request_outcome("http_429") == "rate_limited"
    assert metrics.request_outcome("http_5xx") == "error"


# --- the runner's endpoint ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_runner_serves_metrics_only_when_a_port_is_set() -> None:
    assert serve_metrics(None) is None
    assert serve_metrics("") is None
    assert serve_metrics("0") is None
    assert serve_metrics("not-a-port") is None
    port = free_port()
    server = serve_metrics(str(port))
    assert server is not None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        assert "modeleval_runner_requests_total" in text
    finally:
        server.shutdown()
        server.server_close()
