"""Kopf 1.45 and the official kubernetes client against the API emulator.

A tiny operator (written to a temp file) handles Widget creation by patching its status and
posting an event; its delete handler makes Kopf add a finalizer with a JSON patch that
``test``s the resourceVersion first. The operator runs as in production:
``python -m kopf run --standalone -A`` in a subprocess with ``KUBECONFIG`` set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from modeleval_testkit.apiserver import ThreadedApiServer, run_in_thread
from modeleval_testkit.apiserver.testcrd import GROUP, PLURAL, VERSION, widget, widget_crd

OPERATOR = textwrap.dedent("""
    import kopf

    @kopf.on.startup()
    def configure(settings, **_):
        settings.watching.server_timeout = 30

    @kopf.on.create("example.test", "v1", "widgets")
    def created(body, spec, patch, **_):
        # Kopf 1.45 no longer posts handler log lines as events (settings.posting.loggers
        # is False by default): events are posted explicitly.
        kopf.info(body, reason="Ready", message=f"widget of size {spec['size']} is ready")
        patch.status["phase"] = "Ready"

    @kopf.on.delete("example.test", "v1", "widgets")
    def deleted(logger, **_):
        logger.info("widget deleted")
""")


def wait_until(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


@pytest.fixture
def server() -> Iterator[ThreadedApiServer]:
    with run_in_thread(crds=[widget_crd()]) as running:
        yield running


@pytest.fixture
def operator(server: ThreadedApiServer, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
    module = tmp_path / "widget_operator.py"
    module.write_text(OPERATOR)
    log = (tmp_path / "operator.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "kopf", "run", "--standalone", "-A", str(module)],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
    log.close()


@pytest.mark.slow
def test_kopf_operator_handles_a_widget(
    server: ThreadedApiServer, operator: subprocess.Popen[str], tmp_path: Path
) -> None:
    client = kubernetes.config.new_client_from_config(str(tmp_path / "kubeconfig"))
    api = kubernetes.client.CustomObjectsApi(client)
    created = api.create_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, widget("kopfed", size=3)
    )
    assert created["metadata"]["uid"]  # POST answers 201 with the object

    def get() -> dict[str, Any]:
        return api.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "kopfed")

    ready = wait_until(lambda: get().get("status", {}).get("phase") == "Ready" and get())
    assert ready["metadata"]["finalizers"] == ["kopf.zalando.org/KopfFinalizerMarker"]
    core = kubernetes.client.CoreV1Api(client)
    events = wait_until(
        lambda: (
            core.list_namespaced_event("default", field_selector="involvedObject.name=kopfed").items
        )
    )
    assert any("size 3 is ready" in (e.message or "") for e in events)

    api.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "kopfed")
    wait_until(
        lambda: server.get_object(f"{GROUP}/{VERSION}", "Widget", "kopfed", "default") is None
    )
    assert operator.poll() is None
    assert not server.errors
    assert not [r for r in server.request_log if r.code >= 500]
    finalizer_patches = [
        r
        for r in server.request_log
        if r.verb == "patch" and r.resource == PLURAL and not r.subresource
    ]
    assert finalizer_patches and all(r.code == 200 for r in finalizer_patches)


SLOW_TIMER_OPERATOR = textwrap.dedent("""
    import time

    import kopf

    from modeleval.handlers.startup import configure  # our Kopf settings (a startup handler)

    @kopf.timer("example.test", "v1", "widgets", interval=0.1)
    def slow(logger, **_):
        logger.info("timer run starts")
        time.sleep(1.5)  # a synchronous timer: its thread cannot be interrupted
""")


@pytest.mark.slow
def test_deletion_while_a_sync_timer_runs_takes_seconds_not_a_minute(
    server: ThreadedApiServer, tmp_path: Path
) -> None:
    """Kopf keeps the finalizer until the resource's timers stopped; with its defaults a timer
    caught mid-run was checked again only after 60 s (cancellation_polling), and nothing else
    woke it up: the service group deletions that sometimes took a minute."""
    kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
    module = tmp_path / "slow_timer_operator.py"
    module.write_text(SLOW_TIMER_OPERATOR)
    log_path = tmp_path / "operator.log"
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "MODELEVAL_METRICS_PORT": "0",
        "MODELEVAL_DAEMON_CANCELLATION_SECONDS": "",  # the shipped defaults
        "MODELEVAL_TIMER_EXIT_WAIT_SECONDS": "",
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "kopf", "run", "--standalone", "-A", str(module)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        client = kubernetes.config.new_client_from_config(str(kubeconfig))
        api = kubernetes.client.CustomObjectsApi(client)
        api.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("timed"))
        wait_until(lambda: log_path.read_text().count("timer run starts") >= 2)
        api.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "timed")
        started = time.monotonic()
        wait_until(
            lambda: server.get_object(f"{GROUP}/{VERSION}", "Widget", "timed", "default") is None,
            timeout=70,
        )
        took = time.monotonic() - started
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert took < 6, f"deletion took {took:.1f}s\n{log_path.read_text()[-3000:]}"
