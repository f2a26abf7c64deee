"""The runner's status sink against a real local HTTP server: a merge patch with the token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from modeleval.runner.kubestatus import HttpStatusSink, KubeConnection


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
