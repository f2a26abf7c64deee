"""The operator's settings reach Kopf: timers, deletion waits, the webhook, metrics."""

from __future__ import annotations

import dataclasses
from typing import Any

import kopf
import pytest

import modeleval.main  # noqa: F401  (registers every handler)
from modeleval.handlers import evaltask_fleet, startup
from modeleval.settings import SETTINGS


def test_kopf_is_configured_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """MODELEVAL_TIMER_EXIT_WAIT_SECONDS, MODELEVAL_DAEMON_CANCELLATION_SECONDS,
    MODELEVAL_WEBHOOK_PORT with MODELEVAL_WEBHOOK_CERT_DIR, MODELEVAL_METRICS_PORT,
    MODELEVAL_WORKER_LIMIT (0: Kopf's own, no limit)."""
    started: list[int] = []
    monkeypatch.setattr("modeleval.metrics.start_metrics_server", started.append)
    chosen = dataclasses.replace(
        SETTINGS,
        timer_exit_wait_seconds=0.7,
        daemon_cancellation_seconds=3.0,
        webhook_port=9443,
        webhook_cert_dir="/certs",
        metrics_port=9091,
        worker_limit=64,
    )
    monkeypatch.setattr(startup, "SETTINGS", chosen)
    settings = kopf.OperatorSettings()
    startup.configure(settings=settings)
    assert settings.background.instant_exit_timeout == 0.7
    assert settings.background.cancellation_polling == 3.0
    assert settings.queueing.worker_limit == 64
    server = settings.admission.server
    assert isinstance(server, kopf.WebhookServer)
    assert (server.port, server.certfile, server.pkeyfile) == (
        9443, "/certs/tls.crt", "/certs/tls.key")  # fmt: skip
    assert started == [9091]
    off = dataclasses.replace(chosen, webhook_port=0, metrics_port=0, worker_limit=0)
    monkeypatch.setattr(startup, "SETTINGS", off)
    plain = kopf.OperatorSettings()
    startup.configure(settings=plain)
    assert plain.admission.server is None and started == [9091]
    assert plain.queueing.worker_limit is None


def test_timers_run_every_poll_seconds() -> None:
    """MODELEVAL_POLL_SECONDS: how often the group timer looks at a group's children, and the
    period of the EvalTask sweep (SWEEP_FACTOR times that; EvalTasks have no timer each)."""
    timers: dict[str, Any] = {
        str(h.id): h for h in kopf.get_default_registry()._spawning.get_all_handlers()
    }
    group = timers["servicegroup-poll"]
    assert (group.interval, group.initial_delay) == (SETTINGS.poll_seconds, SETTINGS.poll_seconds)
    assert not [name for name in timers if name.startswith("evaltask")]
    assert evaltask_fleet.sweep_interval() == SETTINGS.poll_seconds * evaltask_fleet.SWEEP_FACTOR
