"""The operator's start-up: Kopf configured from :mod:`modeleval.settings`, metrics served."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import kopf

from modeleval import constants as c
from modeleval.settings import SETTINGS


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
    settings.queueing.error_delays = (1, 2, 5, 10, 30, 60)
    # Kopf runs a worker per object with pending events; each holds its event, handler state
    # and coroutines (~60 KB). A burst of 10,000 new tasks would hold them all at once (peak
    # RSS grew linearly with the fleet); with a limit, an object waiting for a worker costs
    # only its queued event. Our handlers never sleep long in a worker (waits are short
    # retries while runner pods exit; groups are waited for through their own events).
    settings.queueing.worker_limit = SETTINGS.worker_limit or None
    # A deleted resource keeps Kopf's finalizer until its timers have stopped. Our timers are
    # synchronous (a thread Kopf cannot interrupt): one that is mid-run at deletion is waited
    # for briefly, then checked again every daemon_cancellation_seconds. Kopf's defaults (ten
    # event-loop cycles, then 60 s) made such deletions take a minute: the finished timer
    # writes nothing, so no watch event wakes Kopf up before that.
    settings.background.instant_exit_timeout = SETTINGS.timer_exit_wait_seconds
    settings.background.cancellation_polling = SETTINGS.daemon_cancellation_seconds
    if SETTINGS.webhook_port:
        configure_webhook(settings)
    if SETTINGS.metrics_port:
        from modeleval.metrics import start_metrics_server

        start_metrics_server(SETTINGS.metrics_port)


def configure_webhook(settings: kopf.OperatorSettings) -> None:
    """Serve the validating webhook (:mod:`modeleval.handlers.admission`) over HTTPS.

    The certificate comes from ``MODELEVAL_WEBHOOK_CERT_DIR`` (``tls.crt``, ``tls.key``: the
    chart's or cert-manager's Secret); Kopf restarts the listener when the files change. The
    ValidatingWebhookConfiguration is the chart's or kustomize's, not managed by Kopf: a
    managed one is removed when the operator stops, which would let every object through.
    """
    folder = Path(SETTINGS.webhook_cert_dir)
    settings.admission.server = kopf.WebhookServer(
        addr="0.0.0.0",
        port=SETTINGS.webhook_port,
        certfile=str(folder / "tls.crt"),
        pkeyfile=str(folder / "tls.key"),
    )
