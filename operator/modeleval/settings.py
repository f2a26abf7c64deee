"""Operator settings: read once from the environment.

Every setting is an environment variable so the Helm chart, kustomize and the local demo
configure the operator the same way. Kopf is configured from them in
:mod:`modeleval.handlers.startup`; builders read them as plain values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from modeleval import constants as c


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _env_list(name: str, default: str = "") -> tuple[str, ...]:
    """A comma-separated setting as a tuple of non-empty, stripped items."""
    raw = os.environ.get(name, default)
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _env_bool(name: str, default: bool) -> bool:
    raw = (os.environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={raw!r}: expected true or false")


USABLE_LABEL = f"{c.GROUP}/usable-by-modeleval"
"""Label (value ``"true"``) that lets tasks and groups use a Secret, ServiceAccount or PVC when
no admission webhook checks their authors' own permissions (see ``require_usable_label``)."""


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

    worker_limit: int = field(default_factory=lambda: _env_int("MODELEVAL_WORKER_LIMIT", 500))
    """Kopf workers (objects being processed) at once per resource kind; 0: no limit
    (``MODELEVAL_WORKER_LIMIT``). Bounds the operator's memory when thousands of objects
    change at once (docs/benchmarks.md, operator reconcile)."""

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

    runner_metrics_port: int = field(
        default_factory=lambda: _env_int("MODELEVAL_RUNNER_METRICS_PORT", 0)
    )
    """Port on which runner pods serve Prometheus ``/metrics`` (a ``metrics`` container port,
    ``prometheus.io/*`` annotations); 0: runner pods serve none
    (``MODELEVAL_RUNNER_METRICS_PORT``; the chart and kustomize set 9090)."""

    metrics_port: int = field(default_factory=lambda: _env_int("MODELEVAL_METRICS_PORT", 9090))
    """Port of the Prometheus ``/metrics`` endpoint; 0 turns it off (``MODELEVAL_METRICS_PORT``)."""

    # -- security (docs/install.md, "Threat model") ---------------------------------------------

    webhook_port: int = field(default_factory=lambda: _env_int("MODELEVAL_WEBHOOK_PORT", 0))
    """Port of the validating admission webhook (HTTPS); 0 serves none
    (``MODELEVAL_WEBHOOK_PORT``). The webhook checks, as the requesting user
    (SubjectAccessReview), every Secret, ServiceAccount, PVC and ConfigMap an EvalTask or a
    ModelEvalServiceGroup names, and the policies below."""

    webhook_cert_dir: str = field(
        default_factory=lambda: os.environ.get(
            "MODELEVAL_WEBHOOK_CERT_DIR", "/etc/modeleval/webhook-certs"
        )
    )
    """Folder with ``tls.crt`` and ``tls.key`` of the webhook's server certificate (a
    ``kubernetes.io/tls`` Secret mounted there); re-read when the files change
    (``MODELEVAL_WEBHOOK_CERT_DIR``)."""

    operator_username: str | None = field(
        default_factory=lambda: os.environ.get("MODELEVAL_OPERATOR_USERNAME") or None
    )
    """The operator's own user name as the API server authenticates it
    (``system:serviceaccount:<namespace>:<name>``; ``MODELEVAL_OPERATOR_USERNAME``). The
    webhook lets this user write tasks without permission checks: it creates only the tasks
    of service groups the webhook already checked."""

    require_usable_label: bool = field(
        default_factory=lambda: _env_bool(
            "MODELEVAL_REQUIRE_USABLE_LABEL", not _env_int("MODELEVAL_WEBHOOK_PORT", 0)
        )
    )
    """Use only Secrets, ServiceAccounts and PVCs labelled ``modeleval.io/usable-by-modeleval:
    "true"`` (``MODELEVAL_REQUIRE_USABLE_LABEL``). Default: on when no webhook is served (then
    nothing else stops a task from naming any Secret in its namespace), off with one."""

    allowed_runner_images: tuple[str, ...] = field(
        default_factory=lambda: _env_list("MODELEVAL_ALLOWED_RUNNER_IMAGES")
    )
    """Images (glob patterns, comma-separated) an EvalTask may name in ``spec.runner.image``
    besides ``runner_image`` (``MODELEVAL_ALLOWED_RUNNER_IMAGES``). Default: none: the runner
    pod receives the task's Secrets and its results volume, so only images the administrator
    lists may run there."""

    allowed_model_images: tuple[str, ...] = field(
        default_factory=lambda: _env_list("MODELEVAL_ALLOWED_MODEL_IMAGES")
    )
    """Images (glob patterns, comma-separated) a ModelEvalServiceGroup may deploy in
    ``spec.image`` (``MODELEVAL_ALLOWED_MODEL_IMAGES``). Default: none (the Helm chart lists
    common model servers); ``*`` allows every image."""

    allowed_dataset_urls: tuple[str, ...] = field(
        default_factory=lambda: _env_list("MODELEVAL_ALLOWED_DATASET_URLS", "https://*")
    )
    """URLs (glob patterns, comma-separated) a dataset's ``url`` may point at
    (``MODELEVAL_ALLOWED_DATASET_URLS``; default ``https://*``: no plain HTTP, so no cloud
    metadata endpoint and no in-cluster HTTP service is fetched into prompts). Empty: no URL."""

    allow_control_plane: bool = field(
        default_factory=lambda: _env_bool("MODELEVAL_ALLOW_CONTROL_PLANE", False)
    )
    """Let runner and model pods tolerate control-plane taints and select control-plane nodes
    (``MODELEVAL_ALLOW_CONTROL_PLANE``; default off)."""

    console_url: str | None = field(
        default_factory=lambda: os.environ.get("MODELEVAL_CONSOLE_URL", "").rstrip("/") or None
    )
    """Base URL of the console (``MODELEVAL_CONSOLE_URL``, e.g.
    ``http://modeleval-console.modeleval-system.svc:8000``). When set, runner Jobs send their
    results there (with an audience-bound ServiceAccount token) and manual-mode tasks are scored
    from the console's annotations by a ``manual`` phase Job. Unset: no console, nothing sent."""

    console_audience: str = field(
        default_factory=lambda: os.environ.get("MODELEVAL_CONSOLE_AUDIENCE", c.CONSOLE_AUDIENCE)
    )
    """Audience of the runner's projected token for the console (``MODELEVAL_CONSOLE_AUDIENCE``);
    the console accepts only tokens bound to it (besides the API server's own)."""


SETTINGS = OperatorSettings()
"""The settings of this process."""
