"""Status sinks: kubeconfig parsing and the aiohttp merge patch."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from modeleval.runner.kubestatus import (
    HttpStatusSink,
    KubeClientStatusSink,
    KubeConnection,
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


async def test_http_sink_sends_a_merge_patch_with_the_token(tmp_path: Path) -> None:
    seen: list[tuple[str, str, str, Any]] = []

    async def patch(request: web.Request) -> web.Response:
        seen.append(
            (
                request.path,
                request.content_type,
                request.headers.get("Authorization", ""),
                await request.json(),
            )
        )
        status = 200 if request.match_info["name"] == "t" else 404
        return web.json_response({}, status=status)

    app = web.Application()
    app.router.add_patch("/apis/modeleval.io/v1alpha1/namespaces/ns/evaltasks/{name}/status", patch)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    token_file = tmp_path / "token"
    token_file.write_text("rotating\n")
    try:
        sink = HttpStatusSink(
            KubeConnection(server=base, token_file=str(token_file)), name="t", namespace="ns"
        )
        await sink.patch_status({"percentage": 5})
        missing = HttpStatusSink(KubeConnection(server=base), name="gone", namespace="ns")
        with pytest.raises(RuntimeError, match="HTTP 404"):
            await missing.patch_status({"percentage": 1})
        await sink.close()
        await missing.close()
    finally:
        await runner.cleanup()
    assert seen[0] == (
        "/apis/modeleval.io/v1alpha1/namespaces/ns/evaltasks/t/status",
        "application/merge-patch+json",
        "Bearer rotating",
        {"status": {"percentage": 5}},
    )
