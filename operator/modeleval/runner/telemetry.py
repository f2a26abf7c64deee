"""The runner's Prometheus metrics, recorded only while they are served.

Runner pods serve ``/metrics`` only when ``MODELEVAL_METRICS_PORT`` is set (see
``__main__.serve_metrics``, which calls :func:`enable`). Otherwise nothing could ever read the
values, so the runner neither imports ``prometheus_client`` nor spends time per request on it:
:func:`for_model` hands out a recorder that does nothing.

    recorder = for_model("qwen")
    recorder.request(None, latency_s=0.4, input_tokens=12, output_tokens=80)  # answered
    recorder.request("http_429", latency_s=2.0)  # failed for good: counted as an error too
    recorder.item_done()
    task_error("dataset")  # a failure that belongs to no model
"""

from __future__ import annotations

from typing import Any

_enabled = False


def enable() -> None:
    """Record from now on (the metrics endpoint is up)."""
    global _enabled
    _enabled = True


def disable() -> None:
    global _enabled
    _enabled = False


def enabled() -> bool:
    return _enabled


class ModelRecorder:
    """Does nothing: metrics are not served."""

    __slots__ = ()

    def request(
        self,
        error_kind: str | None,
        latency_s: float,
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> None:
        """One request finished for good: answered (``error_kind`` None) or failed."""

    def item_done(self) -> None:
        """One dataset item finished and was checkpointed."""


class _PrometheusRecorder(ModelRecorder):
    """Records into the default registry; label children are looked up once."""

    __slots__ = (
        "_errors",
        "_input",
        "_items",
        "_latency",
        "_metrics",
        "_model",
        "_outcomes",
        "_output",
    )

    def __init__(self, model: str) -> None:
        from modeleval import metrics

        self._metrics = metrics
        self._model = model
        self._latency = metrics.RUNNER_REQUEST_LATENCY.labels(model=model)
        self._input = metrics.RUNNER_TOKENS.labels(model=model, direction="input")
        self._output = metrics.RUNNER_TOKENS.labels(model=model, direction="output")
        self._items = metrics.RUNNER_ITEMS_DONE.labels(model=model)
        self._outcomes: dict[str, Any] = {}
        self._errors: dict[str, Any] = {}

    def request(
        self,
        error_kind: str | None,
        latency_s: float,
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> None:
        m = self._metrics
        outcome = m.request_outcome(error_kind)
        counter = self._outcomes.get(outcome)
        if counter is None:
            counter = self._outcomes[outcome] = m.RUNNER_REQUESTS.labels(
                model=self._model, outcome=outcome
            )
        counter.inc()
        self._latency.observe(latency_s)
        if input_tokens:
            self._input.inc(input_tokens)
        if output_tokens:
            self._output.inc(output_tokens)
        if error_kind is not None:
            errors = self._errors.get(error_kind)
            if errors is None:
                errors = self._errors[error_kind] = m.RUNNER_ERRORS.labels(
                    model=self._model, kind=error_kind
                )
            errors.inc()

    def item_done(self) -> None:
        self._items.inc()


_OFF = ModelRecorder()


def for_model(model: str) -> ModelRecorder:
    """The recorder for one model's requests (a no-op unless metrics are served)."""
    return _PrometheusRecorder(model) if _enabled else _OFF


def task_error(kind: str) -> None:
    """Count a failure that belongs to no model (``dataset``, ``scoring``, ...)."""
    if _enabled:
        from modeleval import metrics

        metrics.RUNNER_ERRORS.labels(model="", kind=kind).inc()
