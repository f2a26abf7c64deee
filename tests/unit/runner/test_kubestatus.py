"""Status sinks: kubeconfig parsing and the aiohttp merge patch."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from modeleval.runner.kubestatus import (
    HttpStatusSink,
    KubeClientStatusSink,
    UnsupportedKubeconfig,
    connection_from_kubeconfig,
    sink_from_env,
)


def kubeconfig(tmp_path: Path, server: str, user: dict[str, Any]) -> Path:
    path = tmp_path / "config"
    path.write_text(
        json.dumps(
            {
                "clusters": [
                    {"name": "c", "cluster": {"server": server, "certificate-authority": "ca.pem"}}
                ],
                "users": [{"name": "u", "user": user}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    return path


def test_kubeconfig_token_and_cert_data(tmp_path: Path) -> None:
    cert = base64.b64encode(b"CERT").decode()
    path = kubeconfig(tmp_path, "https://k:6443", {"token": "t0", "client-certificate-data": cert})
    conn = connection_from_kubeconfig(path)
    assert (conn.server, conn.token, conn.bearer()) == ("https://k:6443", "t0", "t0")
    assert conn.ca_file == str(tmp_path / "ca.pem")
    assert conn.cert_file is not None
    assert Path(conn.cert_file).read_bytes() == b"CERT"


def test_plugin_kubeconfig_falls_back_to_the_official_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = kubeconfig(tmp_path, "https://k", {"exec": {"command": "aws"}})
    with pytest.raises(UnsupportedKubeconfig):
        connection_from_kubeconfig(path)
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert isinstance(sink_from_env("t", "ns"), KubeClientStatusSink)
    assert sink_from_env(None, "ns") is None


def test_in_cluster_sink_reads_service_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    sink = sink_from_env("t", "ns")
    assert isinstance(sink, HttpStatusSink)
    assert (
        sink.url
        == "https://10.0.0.1:443/apis/modeleval.io/v1alpha1/namespaces/ns/evaltasks/t/status"
    )
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    assert sink_from_env("t", "ns") is None
