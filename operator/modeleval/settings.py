"""Operator settings: read once from the environment, applied to Kopf at start-up.

Every setting is an environment variable so the Helm chart, kustomize and the local demo
configure the operator the same way.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import kopf

from modeleval import constants as c


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


@dataclass(frozen=True)
class OperatorSettings:
    """What the operator needs to know about its environment."""

    runner_image: str = field(
        default_factory=lambda: os.environ.get("MODELEVAL_RUNNER_IMAGE", c.DEFAULT_RUNNER_IMAGE)
    )
    """Image of the inference / scoring Jobs (``MODELEVAL_RUNNER_IMAGE``)."""

    runner_cpu: str = field(default_factory=lambda: os.environ.get("MODELEVAL_RUNNER_CPU", "1"))
    """Default CPU of runner pods (``MODELEVAL_RUNNER_CPU``)."""

    runner_memory: str = field(
        default_factory=lambda: os.environ.get("MODELEVAL_RUNNER_MEMORY", "1Gi")
    )
    """Default memory of runner pods (``MODELEVAL_RUNNER_MEMORY``)."""

    runner_cpu_limit: str | None = field(
        default_factory=lambda: os.environ.get("MODELEVAL_RUNNER_CPU_LIMIT") or None
    )
    """CPU limit of runner pods; unset = no limit (``MODELEVAL_RUNNER_CPU_LIMIT``)."""

    runner_memory_limit: str | None = field(
        default_factory=lambda: os.environ.get("MODELEVAL_RUNNER_MEMORY_LIMIT") or None
    )
    """Memory limit of runner pods; unset = the request (``MODELEVAL_RUNNER_MEMORY_LIMIT``)."""

    runner_image_pull_policy: str | None = field(
        default_factory=lambda: os.environ.get("MODELEVAL_RUNNER_IMAGE_PULL_POLICY") or None
    )
    """Pull policy of the runner image (``MODELEVAL_RUNNER_IMAGE_PULL_POLICY``)."""

    runner_image_pull_secrets: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            name.strip()
            for name in os.environ.get("MODELEVAL_RUNNER_IMAGE_PULL_SECRETS", "").split(",")
            if name.strip()
        )
    )
    """Pull secrets of runner pods, comma-separated (``MODELEVAL_RUNNER_IMAGE_PULL_SECRETS``)."""

    results_storage_class: str | None = field(
        default_factory=lambda: os.environ.get("MODELEVAL_RESULTS_STORAGE_CLASS") or None
    )
    """Storage class of the per-task results PVC (``MODELEVAL_RESULTS_STORAGE_CLASS``)."""

    results_size: str = field(
        default_factory=lambda: os.environ.get("MODELEVAL_RESULTS_SIZE", "1Gi")
    )
    """Size of the per-task results PVC (``MODELEVAL_RESULTS_SIZE``)."""

    poll_seconds: float = field(default_factory=lambda: _env_float("MODELEVAL_POLL_SECONDS", 5.0))
    """How often timers look at children (``MODELEVAL_POLL_SECONDS``)."""

    daemon_cancellation_seconds: float = field(
        default_factory=lambda: _env_float("MODELEVAL_DAEMON_CANCELLATION_SECONDS", 2.0)
    )
    """How often Kopf checks again whether a deleted resource's timers have stopped, when one
    was still running (``MODELEVAL_DAEMON_CANCELLATION_SECONDS``). Kopf's own default, 60 s,
    held such a deletion (finalizer removal) up for a minute."""

    timer_exit_wait_seconds: float = field(
        default_factory=lambda: _env_float("MODELEVAL_TIMER_EXIT_WAIT_SECONDS", 0.5)
    )
    """How long Kopf waits for a deleted resource's running timer to finish before it falls
    back to checking every ``daemon_cancellation_seconds``
    (``MODELEVAL_TIMER_EXIT_WAIT_SECONDS``)."""

    metrics_port: int = field(default_factory=lambda: _env_int("MODELEVAL_METRICS_PORT", 9090))
    """Port of the Prometheus ``/metrics`` endpoint; 0 turns it off (``MODELEVAL_METRICS_PORT``)."""


SETTINGS = OperatorSettings()
"""The settings of this process."""


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    """Apply our choices to Kopf: state in annotations, events, fast shutdown in tests."""
    settings.persistence.finalizer = f"{c.GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=c.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=c.GROUP, key="last-handled-configuration"
    )
    # Our handlers post their own Events with reasons; only Kopf's warnings and errors become
    # Events besides them (1,000 tasks must not mean thousands of "handler succeeded" Events).
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.request_timeout = 30
    settings.process.ultimate_exiting_timeout = 10
    settings.scanning.disabled = False
    settings.batching.error_delays = (1, 2, 5, 10, 30, 60)
    # A deleted resource keeps Kopf's finalizer until its timers have stopped. Our timers are
    # synchronous (a thread Kopf cannot interrupt): one that is mid-run at deletion is waited
    # for briefly, then checked again every daemon_cancellation_seconds. Kopf's defaults (ten
    # event-loop cycles, then 60 s) made such deletions take a minute: the finished timer
    # writes nothing, so no watch event wakes Kopf up before that.
    settings.background.instant_exit_timeout = SETTINGS.timer_exit_wait_seconds
    settings.background.cancellation_polling = SETTINGS.daemon_cancellation_seconds
    if SETTINGS.metrics_port:
        from modeleval.metrics import start_metrics_server

        start_metrics_server(SETTINGS.metrics_port)
