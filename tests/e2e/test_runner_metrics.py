"""A runner pod serves Prometheus metrics where the operator setting says, and is scraped."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

import pytest

from modeleval_testkit.cluster import LocalCluster
from modeleval_testkit.mockserver import MockModelServer
from tests.support.paths import MANIFESTS, REPO
from tests.support.written import WrittenObjects

from .evaltask_helpers import apply, items, task_manifest, wait_status

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.needs_executor]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            return response.read().decode()
    except OSError:
        return None


def test_a_runner_pod_is_scraped_while_it_runs(
    tmp_path: Path, written_objects: WrittenObjects
) -> None:
    from modeleval_testkit.bundle import rbac_manifests

    port = free_port()
    env = {"MODELEVAL_RUNNER_METRICS_PORT": str(port)}
    with (
        MockModelServer(latency_s=0.2).running() as mock,
        LocalCluster(
            work_dir=tmp_path / "cluster",
            crds=[REPO / "crds"],
            rbac_manifests=rbac_manifests(MANIFESTS / "rbac"),
            operator_env=env,
            record_writes=True,
        ) as cluster,
    ):
        apply(cluster, task_manifest("scraped", "default", mock.url, {"inline": items(40)}))

        def requests_counted() -> str | None:
            text = scrape(port)
            ok = 'modeleval_runner_requests_total{model="mock",outcome="ok"}'
            return text if text and ok in text else None

        text = cluster.wait_for(requests_counted, timeout=60, interval=0.2, what="/metrics")
        assert "modeleval_runner_request_latency_seconds_bucket" in text
        assert 'modeleval_runner_items_done_total{model="mock"}' in text
        st = wait_status(cluster, "default", "scraped", lambda s: s.get("state") == "Succeeded")
        assert st["progress"]["processed"] == 40
        written_objects.collect(cluster)
