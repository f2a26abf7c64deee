"""Validating admission webhooks in the API emulator: matched by rules and selectors, called
over HTTPS with the request's userInfo, their answer decides; failurePolicy when unreachable."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from modeleval_testkit.apiserver import ThreadedApiServer, run_in_thread
from modeleval_testkit.apiserver.tls import self_signed
from modeleval_testkit.cluster import free_port

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


class Webhook:
    """An HTTPS webhook in a thread: records every review, denies names starting with no-."""

    def __init__(self, folder: Path) -> None:
        self.reviews: list[dict[str, Any]] = []
        self.port = free_port()
        cert, key = self_signed()
        (folder / "tls.crt").write_bytes(cert)
        (folder / "tls.key").write_bytes(key)
        self.ca = base64.b64encode(cert).decode()
        self.folder = folder
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()

    async def handle(self, request: web.Request) -> web.Response:
        review = await request.json()
        self.reviews.append(review)
        req = review["request"]
        name = (req.get("object") or req.get("oldObject") or {}).get("metadata", {}).get("name", "")
        allowed = not name.startswith("no-")
        response: dict[str, Any] = {"uid": req["uid"], "allowed": allowed}
        if not allowed:
            response["status"] = {"code": 403, "message": f"{name} is not welcome"}
        return web.json_response({**review, "response": response})

    def run(self) -> None:
        import ssl

        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.folder / "tls.crt", self.folder / "tls.key")
        site = web.TCPSite(runner, "127.0.0.1", self.port, ssl_context=context)
        self.loop.run_until_complete(site.start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())
        self.loop.close()


@pytest.fixture(scope="module")
def webhook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webhook]:
    hook = Webhook(tmp_path_factory.mktemp("webhook"))
    thread = threading.Thread(target=hook.run, daemon=True)
    thread.start()
    hook.ready.wait(10)
    yield hook
    hook.loop.call_soon_threadsafe(hook.loop.stop)
    thread.join(10)


@pytest.fixture
def server() -> Iterator[ThreadedApiServer]:
    with run_in_thread() as running:
        yield running


def config(client: dict[str, Any], **hook: Any) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "test"},
        "webhooks": [
            {
                "name": "configmaps.example.com",
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "timeoutSeconds": 2,
                "clientConfig": client,
                "rules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["configmaps"],
                    }
                ],
                **hook,
            }
        ],
    }


def client_for(server: ThreadedApiServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {token}"},
        verify=server.client_ssl_context(),
    )


def cm(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}}, "data": {"k": "v"}}


def test_a_denial_fails_the_write_as_the_api_server_says_it(
    server: ThreadedApiServer, webhook: Webhook
) -> None:
    server.create_object(
        config({"url": f"https://127.0.0.1:{webhook.port}/cm", "caBundle": webhook.ca})
    )
    groups = ["devs", "system:masters"]
    token = server.issue_token("alice", groups, uid="u-1", extra={"scopes": ["a", "b"]})
    with client_for(server, token) as http:
        denied = http.post(CONFIGMAPS, json=cm("no-thanks"))
        assert denied.status_code == 403
        assert denied.json()["message"] == (
            'admission webhook "configmaps.example.com" denied the request: '
            "no-thanks is not welcome"
        )
        assert server.get_object("v1", "ConfigMap", "no-thanks", "default") is None
    review = webhook.reviews[-1]["request"]
    assert review["operation"] == "CREATE"
    assert review["userInfo"] == {
        "username": "alice",
        "uid": "u-1",
        "groups": ["devs", "system:masters", "system:authenticated"],
        "extra": {"scopes": ["a", "b"]},
    }
    assert review["object"]["data"] == {"k": "v"} and review["oldObject"] is None
    assert review["resource"] == {"group": "", "version": "v1", "resource": "configmaps"}


def test_an_update_carries_the_old_object_and_an_allowed_write_is_stored(
    server: ThreadedApiServer, webhook: Webhook
) -> None:
    server.create_object(
        config({"url": f"https://127.0.0.1:{webhook.port}/cm", "caBundle": webhook.ca})
    )
    with client_for(server, server.admin_token) as http:
        assert http.post(CONFIGMAPS, json=cm("welcome")).status_code == 201
        patch = http.patch(
            f"{CONFIGMAPS}/welcome",
            content=json.dumps({"data": {"k": "w"}}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert patch.status_code == 200
    review = webhook.reviews[-1]["request"]
    assert review["operation"] == "UPDATE"
    assert (review["oldObject"]["data"], review["object"]["data"]) == ({"k": "v"}, {"k": "w"})


def test_an_unreachable_webhook_fails_closed_unless_ignored(server: ThreadedApiServer) -> None:
    dead = {"url": f"https://127.0.0.1:{free_port()}/cm"}
    server.create_object(config(dead))
    with client_for(server, server.admin_token) as http:
        failed = http.post(CONFIGMAPS, json=cm("a"))
        assert failed.status_code == 500
        assert 'failed calling webhook "configmaps.example.com"' in failed.json()["message"]
        server.apply_object(config(dead, failurePolicy="Ignore"))
        assert http.post(CONFIGMAPS, json=cm("a")).status_code == 201


def test_selectors_and_services_choose_what_is_called(
    server: ThreadedApiServer, webhook: Webhook
) -> None:
    service = {"service": {"namespace": "default", "name": "hook", "path": "/cm", "port": 443}}
    server.server.service_resolver = lambda ns, name, port: (
        f"127.0.0.1:{webhook.port}" if (ns, name) == ("default", "hook") else None
    )
    selector = {"matchLabels": {"checked": "yes"}}
    server.create_object(config({**service, "caBundle": webhook.ca}, objectSelector=selector))
    with client_for(server, server.admin_token) as http:
        before = len(webhook.reviews)
        assert http.post(CONFIGMAPS, json=cm("no-but-unchecked")).status_code == 201
        assert len(webhook.reviews) == before  # the selector did not match
        assert http.post(CONFIGMAPS, json=cm("no-checked", {"checked": "yes"})).status_code == 403
