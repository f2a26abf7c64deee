"""Prometheus metrics: documented names, helpers, and the /metrics endpoint."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from modeleval import metrics
from modeleval.runner import telemetry
from tests.support.paths import REPO

DOCUMENTED = {
    "modeleval_resources": ("gauge", ["kind", "state"]),
    "modeleval_reconcile_duration_seconds": ("histogram", ["kind", "handler"]),
    "modeleval_reconcile_errors_total": ("counter", ["kind", "handler"]),
    "modeleval_runner_requests_total": ("counter", ["model", "outcome"]),
    "modeleval_runner_request_latency_seconds": ("histogram", ["model"]),
    "modeleval_runner_tokens_total": ("counter", ["model", "direction"]),
    "modeleval_runner_items_done_total": ("counter", ["model"]),
    "modeleval_runner_errors_total": ("counter", ["model", "kind"]),
}
METRICS = [
    metrics.RESOURCES,
    metrics.RECONCILE_DURATION,
    metrics.RECONCILE_ERRORS,
    metrics.RUNNER_REQUESTS,
    metrics.RUNNER_REQUEST_LATENCY,
    metrics.RUNNER_TOKENS,
    metrics.RUNNER_ITEMS_DONE,
    metrics.RUNNER_ERRORS,
]


def value(name: str, **labels: str) -> float:
    sample = REGISTRY.get_sample_value(name, labels)
    return 0.0 if sample is None else sample


def exposed_name(metric: object) -> str:
    [family] = metric.describe()  # type: ignore[attr-defined]
    suffix = "_total" if family.type == "counter" else ""
    return f"{family.name}{suffix}"


def test_names_types_and_labels_are_as_documented() -> None:
    found = {}
    for metric in METRICS:
        [family] = metric.describe()  # type: ignore[attr-defined]
        found[exposed_name(metric)] = (family.type, list(metric._labelnames))
    assert found == DOCUMENTED


def test_docs_list_every_metric_with_its_labels() -> None:
    doc = (REPO / "docs" / "metrics.md").read_text(encoding="utf-8")
    for name, (kind, labels) in DOCUMENTED.items():
        row = re.search(rf"^\| `{name}` \| {kind} \| (.*?) \|", doc, re.M)
        assert row, f"docs/metrics.md has no table row for {name}"
        assert re.findall(r"`(\w+)`", row[1]) == labels


class Waiting(Exception):
    pass


def test_time_reconcile_times_runs_and_counts_only_real_errors() -> None:
    kind, handler = "EvalTask", "test-time-reconcile"
    count = "modeleval_reconcile_duration_seconds_count"
    errors = "modeleval_reconcile_errors_total"
    with metrics.time_reconcile(kind=kind, handler=handler):
        pass
    with (
        pytest.raises(Waiting),
        metrics.time_reconcile(kind=kind, handler=handler, ignore=(Waiting,)),
    ):
        raise Waiting
    with pytest.raises(RuntimeError), metrics.time_reconcile(kind=kind, handler=handler):
        raise RuntimeError("boom")
    assert value(count, kind=kind, handler=handler) == 3
    assert value(errors, kind=kind, handler=handler) == 1


def test_resource_counts_reset_states_that_disappear() -> None:
    kind = "TestKind"
    metrics.set_resource_counts(kind, {"Running": 2, "Queued": 1})
    assert value("modeleval_resources", kind=kind, state="Running") == 2
    metrics.set_resource_counts(kind, {"Succeeded": 3})
    assert value("modeleval_resources", kind=kind, state="Running") == 0
    assert value("modeleval_resources", kind=kind, state="Queued") == 0
    assert value("modeleval_resources", kind=kind, state="Succeeded") == 3


def test_runner_recorder_counts_outcome_latency_tokens_and_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = "test-record-request"
    monkeypatch.setattr(telemetry, "_enabled", True)
    recorder = telemetry.for_model(model)
    recorder.request(None, latency_s=0.3, input_tokens=7, output_tokens=11)
    recorder.request("timeout", latency_s=30.0)
    assert value("modeleval_runner_errors_total", model=model, kind="timeout") == 1
    assert value("modeleval_runner_requests_total", model=model, outcome="ok") == 1
    assert value("modeleval_runner_requests_total", model=model, outcome="timeout") == 1
    assert value("modeleval_runner_tokens_total", model=model, direction="input") == 7
    assert value("modeleval_runner_tokens_total", model=model, direction="output") == 11
    latency = "modeleval_runner_request_latency_seconds"
    assert value(f"{latency}_count", model=model) == 2
    assert value(f"{latency}_bucket", model=model, le="0.5") == 1
    assert value(f"{latency}_sum", model=model) == pytest.approx(30.3)


@pytest.fixture
def server_port() -> Iterator[int]:
    server, thread = metrics.start_metrics_server(0, addr="127.0.0.1")
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_metrics_endpoint_serves_the_metrics(server_port: int) -> None:
    metrics.RUNNER_ITEMS_DONE.labels(model="test-endpoint").inc(5)
    url = f"http://127.0.0.1:{server_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        body = response.read().decode()
    assert 'modeleval_runner_items_done_total{model="test-endpoint"} 5.0' in body
    assert "# TYPE modeleval_reconcile_duration_seconds histogram" in body


def test_runner_records_nothing_unless_metrics_are_served(monkeypatch: pytest.MonkeyPatch) -> None:
    model = "test-not-served"
    monkeypatch.setattr(telemetry, "_enabled", False)
    recorder = telemetry.for_model(model)
    recorder.request(None, latency_s=0.3, input_tokens=7, output_tokens=11)
    recorder.item_done()
    telemetry.task_error("dataset")
    assert value("modeleval_runner_requests_total", model=model, outcome="ok") == 0
    assert value("modeleval_runner_items_done_total", model=model) == 0
