"""Prometheus metrics of the operator and the runner (names listed in docs/metrics.md).

The metric objects live in the default ``prometheus_client`` registry, so
:func:`start_metrics_server` serves them together with the client's process
and platform collectors. Label values must stay few: kinds, handler ids,
states, model names — never object names or item ids.

Operator side::

    with time_reconcile(kind="EvalTask", handler="evaltask-create",
                        ignore=(kopf.TemporaryError,)):
        ...
    set_resource_counts("EvalTask", {"Running": 2, "Queued": 1})
    # or, per object (the counts are kept here): observe_state / forget
    observe_state("EvalTask", "default", "t1", "Running")
    forget("EvalTask", "default", "t1")

Runner side: ``modeleval.runner.telemetry`` records the ``RUNNER_*`` metrics, and only while
the runner serves them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter as Tally
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Gauge, Histogram, start_http_server

DEFAULT_METRICS_PORT = 9090

# --- operator -------------------------------------------------------------------------------

RESOURCES = Gauge(
    "modeleval_resources",
    "Custom resources the operator sees, by kind and state (EvalTask state / group phase).",
    ["kind", "state"],
)
RECONCILE_DURATION = Histogram(
    "modeleval_reconcile_duration_seconds",
    "Wall time of one run of an operator handler.",
    ["kind", "handler"],
)
RECONCILE_ERRORS = Counter(
    "modeleval_reconcile_errors_total",
    "Operator handler runs that raised an error (retried or permanent).",
    ["kind", "handler"],
)

# --- runner ---------------------------------------------------------------------------------

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
"""Buckets of the request latency histogram: model calls take 50 ms to minutes."""

RUNNER_REQUESTS = Counter(
    "modeleval_runner_requests_total",
    "Requests the runner sent to a model endpoint, by final outcome "
    "(ok, error, timeout, rate_limited).",
    ["model", "outcome"],
)
RUNNER_REQUEST_LATENCY = Histogram(
    "modeleval_runner_request_latency_seconds",
    "End-to-end latency of one model request, retries included.",
    ["model"],
    buckets=LATENCY_BUCKETS,
)
RUNNER_TOKENS = Counter(
    "modeleval_runner_tokens_total",
    "Tokens exchanged with a model endpoint (direction: input or output).",
    ["model", "direction"],
)
RUNNER_ITEMS_DONE = Counter(
    "modeleval_runner_items_done_total",
    "Dataset items finished (answered or recorded as errors) and checkpointed.",
    ["model"],
)
RUNNER_ERRORS = Counter(
    "modeleval_runner_errors_total",
    "Runner errors by kind (http_5xx, http_429, timeout, connection, dataset, scoring, ...).",
    ["model", "kind"],
)


_resource_states: dict[str, set[str]] = {}
_resource_states_lock = threading.Lock()
_objects: dict[str, dict[tuple[str, str], str]] = {}
"""Last observed state of every object, by kind then (namespace, name)."""
_objects_lock = threading.Lock()


@contextmanager
def time_reconcile(
    *, kind: str, handler: str, ignore: tuple[type[BaseException], ...] = ()
) -> Iterator[None]:
    """Observe the duration of a handler run; count it as an error if it raises.

    Exceptions of the ``ignore`` types (e.g. ``kopf.TemporaryError`` used for
    waiting) are timed but not counted as errors. The exception always propagates.
    """
    started = time.perf_counter()
    try:
        yield
    except ignore:
        raise
    except BaseException:
        RECONCILE_ERRORS.labels(kind=kind, handler=handler).inc()
        raise
    finally:
        RECONCILE_DURATION.labels(kind=kind, handler=handler).observe(time.perf_counter() - started)


def set_resource_counts(kind: str, counts: Mapping[str, int]) -> None:
    """Set ``modeleval_resources{kind}`` to ``counts``; states no longer present go to 0."""
    with _resource_states_lock:
        seen = _resource_states.setdefault(kind, set())
        seen.update(counts)
        for state in seen:
            RESOURCES.labels(kind=kind, state=state).set(counts.get(state, 0))


def observe_state(kind: str, namespace: str, name: str, state: str | None) -> None:
    """Remember one object's state and refresh ``modeleval_resources{kind}``; None forgets it.

    Cheap when nothing changed; a change recounts the objects of that kind.
    """
    key = (namespace, name)
    with _objects_lock:
        objects = _objects.setdefault(kind, {})
        if state is None:
            if objects.pop(key, None) is None:
                return
        elif objects.get(key) == state:
            return
        else:
            objects[key] = state
        set_resource_counts(kind, Tally(objects.values()))


def forget(kind: str, namespace: str, name: str) -> None:
    """The object is gone: it no longer counts in ``modeleval_resources``."""
    observe_state(kind, namespace, name, None)


def request_outcome(error_kind: str | None) -> str:
    """The ``outcome`` label of a finished request from its error kind (None: answered)."""
    if error_kind is None:
        return "ok"
    return {"timeout": "timeout", "http_429": "rate_limited"}.get(error_kind, "error")


def start_metrics_server(
    port: int = DEFAULT_METRICS_PORT, *, addr: str = "0.0.0.0"
) -> tuple[WSGIServer, threading.Thread]:
    """Serve ``/metrics`` on ``addr:port`` from a daemon thread.

    Returns the server and its thread; ``server.shutdown()`` stops it. Port 0
    picks a free port (``server.server_port``).
    """
    server, thread = start_http_server(port, addr=addr)
    return server, thread
