"""Every operator setting is read from its ``MODELEVAL_*`` variable (what each one changes is
tested where it acts: tests/effects/settings.yaml names those tests)."""

from __future__ import annotations

import pytest

from modeleval.settings import OperatorSettings

EVERY_VARIABLE = {
    "MODELEVAL_RUNNER_IMAGE": "registry.example/runner:2",
    "MODELEVAL_RUNNER_CPU": "750m",
    "MODELEVAL_RUNNER_MEMORY": "3Gi",
    "MODELEVAL_RUNNER_CPU_LIMIT": "4",
    "MODELEVAL_RUNNER_MEMORY_LIMIT": "6Gi",
    "MODELEVAL_RUNNER_IMAGE_PULL_POLICY": "Always",
    "MODELEVAL_RUNNER_IMAGE_PULL_SECRETS": "regcred, mirror",
    "MODELEVAL_RESULTS_STORAGE_CLASS": "fast",
    "MODELEVAL_RESULTS_SIZE": "20Gi",
    "MODELEVAL_POLL_SECONDS": "0.5",
    "MODELEVAL_WORKER_LIMIT": "64",
    "MODELEVAL_DAEMON_CANCELLATION_SECONDS": "3",
    "MODELEVAL_TIMER_EXIT_WAIT_SECONDS": "0.25",
    "MODELEVAL_RUNNER_METRICS_PORT": "9400",
    "MODELEVAL_METRICS_PORT": "9091",
    "MODELEVAL_WEBHOOK_PORT": "9443",
    "MODELEVAL_WEBHOOK_CERT_DIR": "/certs",
    "MODELEVAL_OPERATOR_USERNAME": "system:serviceaccount:ops:modeleval",
    "MODELEVAL_REQUIRE_USABLE_LABEL": "true",
    "MODELEVAL_ALLOWED_RUNNER_IMAGES": "registry.example/runner:*",
    "MODELEVAL_ALLOWED_MODEL_IMAGES": "a/*, b/*",
    "MODELEVAL_ALLOWED_DATASET_URLS": "https://data.example/*",
    "MODELEVAL_ALLOW_CONTROL_PLANE": "yes",
    "MODELEVAL_CONSOLE_URL": "http://console.ops.svc:8000/",
    "MODELEVAL_CONSOLE_AUDIENCE": "team-console",
}


def test_every_operator_setting_is_read_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in EVERY_VARIABLE.items():
        monkeypatch.setenv(name, value)
    s = OperatorSettings()
    assert (s.runner_image, s.runner_cpu, s.runner_memory) == (
        "registry.example/runner:2", "750m", "3Gi")  # fmt: skip
    assert (s.runner_cpu_limit, s.runner_memory_limit) == ("4", "6Gi")
    assert s.runner_image_pull_policy == "Always"
    assert s.runner_image_pull_secrets == ("regcred", "mirror")
    assert (s.results_storage_class, s.results_size) == ("fast", "20Gi")
    assert (s.poll_seconds, s.daemon_cancellation_seconds) == (0.5, 3.0)
    assert s.worker_limit == 64
    assert s.timer_exit_wait_seconds == 0.25
    assert (s.runner_metrics_port, s.metrics_port) == (9400, 9091)
    assert (s.webhook_port, s.webhook_cert_dir) == (9443, "/certs")
    assert s.operator_username == "system:serviceaccount:ops:modeleval"
    assert s.require_usable_label is True
    assert s.allowed_runner_images == ("registry.example/runner:*",)
    assert s.allowed_model_images == ("a/*", "b/*")
    assert s.allowed_dataset_urls == ("https://data.example/*",)
    assert s.allow_control_plane is True
    assert s.console_url == "http://console.ops.svc:8000"
    assert s.console_audience == "team-console"


def test_the_usable_label_is_required_by_default_only_without_a_webhook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MODELEVAL_REQUIRE_USABLE_LABEL defaults to on unless MODELEVAL_WEBHOOK_PORT serves a
    webhook (then the authors' own permissions are checked instead)."""
    for name in ("MODELEVAL_REQUIRE_USABLE_LABEL", "MODELEVAL_WEBHOOK_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert OperatorSettings().require_usable_label is True
    monkeypatch.setenv("MODELEVAL_WEBHOOK_PORT", "9443")
    assert OperatorSettings().require_usable_label is False
    monkeypatch.setenv("MODELEVAL_REQUIRE_USABLE_LABEL", "true")
    assert OperatorSettings().require_usable_label is True
    monkeypatch.setenv("MODELEVAL_REQUIRE_USABLE_LABEL", "maybe")
    with pytest.raises(ValueError, match="MODELEVAL_REQUIRE_USABLE_LABEL='maybe'"):
        OperatorSettings()
