"""RBAC in the API emulator: tokens, roles and bindings decide; the request log shows use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from modeleval_testkit.apiserver import (
    Grant,
    ThreadedApiServer,
    compare_permissions,
    compare_with_manifests,
    rules_from_manifests,
    run_in_thread,
    service_account_user,
)

RBAC = "rbac.authorization.k8s.io/v1"
SA_USER = "system:serviceaccount:team:bot"
ROLE_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["batch"], "resources": ["jobs/status"], "verbs": ["patch"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["open"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
]
MANIFESTS: list[dict[str, Any]] = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}},
    {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "bot", "namespace": "team"},
    },
    {
        "apiVersion": RBAC,
        "kind": "Role",
        "metadata": {"name": "bot", "namespace": "team"},
        "rules": ROLE_RULES,
    },
    {
        "apiVersion": RBAC,
        "kind": "RoleBinding",
        "metadata": {"name": "bot", "namespace": "team"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "bot"},
        "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "team"}],
    },
    {
        "apiVersion": RBAC,
        "kind": "ClusterRole",
        "metadata": {"name": "ns-reader"},
        "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list"]}],
    },
    {
        "apiVersion": RBAC,
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "readers"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "ns-reader",
        },
        "subjects": [{"kind": "Group", "name": "readers", "apiGroup": "rbac.authorization.k8s.io"}],
    },
]


@pytest.fixture
def server() -> Iterator[ThreadedApiServer]:
    with run_in_thread() as running:
        running.load_manifests(MANIFESTS)
        yield running


def client(server: ThreadedApiServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {token}"},
        verify=server.client_ssl_context(),
    )


def test_service_account_gets_only_what_its_role_grants(server: ThreadedApiServer) -> None:
    with client(server, server.issue_service_account_token("team", "bot")) as bot:
        assert bot.get("/api/v1/namespaces/team/configmaps").status_code == 200
        denied = bot.get("/api/v1/namespaces/default/configmaps")
        assert denied.status_code == 403
        assert denied.json()["message"] == (
            f'configmaps is forbidden: User "{SA_USER}" cannot list resource "configmaps" in API'
            ' group "" in the namespace "default"'
        )
        create = bot.post(
            "/api/v1/namespaces/team/configmaps",
            json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
        )
        assert create.status_code == 403
        patch = {"Content-Type": "application/merge-patch+json"}
        assert (
            bot.patch(
                "/apis/batch/v1/namespaces/team/jobs/j/status", json={}, headers=patch
            ).status_code
            == 404
        )  # allowed, just not there
        main = bot.patch("/apis/batch/v1/namespaces/team/jobs/j", json={}, headers=patch)
        assert main.status_code == 403
        assert 'cannot patch resource "jobs" in API group "batch"' in main.json()["message"]


def test_resource_names_restrict_named_requests_only(server: ThreadedApiServer) -> None:
    with client(server, server.issue_service_account_token("team", "bot")) as bot:
        assert bot.get("/api/v1/namespaces/team/secrets/open").status_code == 404
        assert bot.get("/api/v1/namespaces/team/secrets/closed").status_code == 403
        assert bot.get("/api/v1/namespaces/team/secrets").status_code == 403


def test_group_binding_and_superuser(server: ThreadedApiServer) -> None:
    with client(server, server.issue_token("carol", groups=["readers"])) as carol:
        assert carol.get("/api/v1/namespaces").status_code == 200
        assert carol.get("/api/v1/namespaces/team").status_code == 403
    with client(server, server.issue_token("dave")) as dave:
        assert dave.get("/api/v1/namespaces").status_code == 403
        assert dave.get("/apis").status_code == 200  # discovery is open to authenticated users
    with client(server, server.admin_token) as admin:
        assert admin.get("/api/v1/namespaces/team/secrets").status_code == 200


def test_rbac_changes_apply_at_once(server: ThreadedApiServer) -> None:
    with client(server, server.issue_service_account_token("team", "bot")) as bot:
        assert bot.get("/api/v1/namespaces/team/configmaps").status_code == 200
        server.delete_object(RBAC, "RoleBinding", "bot", "team")
        assert bot.get("/api/v1/namespaces/team/configmaps").status_code == 403


def test_token_request_mints_a_service_account_token(server: ThreadedApiServer) -> None:
    with client(server, server.admin_token) as admin:
        answer = admin.post(
            "/api/v1/namespaces/team/serviceaccounts/bot/token",
            json={"spec": {"expirationSeconds": 600}},
        )
        assert answer.status_code == 201
        token = answer.json()["status"]["token"]
        assert (
            admin.post("/api/v1/namespaces/team/serviceaccounts/ghost/token", json={}).status_code
            == 404
        )
    with client(server, token) as bot:
        assert bot.get("/api/v1/namespaces/team/configmaps").status_code == 200


def test_request_log_and_used_versus_granted(server: ThreadedApiServer) -> None:
    with client(server, server.issue_service_account_token("team", "bot")) as bot:
        bot.get("/api/v1/namespaces/team/configmaps")
        bot.get("/api/v1/namespaces/team/configmaps", params={"watch": "1", "timeoutSeconds": "0"})
        bot.get("/api/v1/namespaces/team/configmaps/missing")
        bot.delete("/api/v1/namespaces/team/configmaps/missing")
    records = server.request_log.by_user(SA_USER)
    assert [(r.verb, r.resource, r.code) for r in records] == [
        ("list", "configmaps", 200),
        ("watch", "configmaps", 200),
        ("get", "configmaps", 404),
        ("delete", "configmaps", 403),
    ]
    assert records[2].name == "missing" and records[2].namespace == "team"
    rules = rules_from_manifests(MANIFESTS, service_account_user("team", "bot"), "team")
    assert rules == ROLE_RULES
    not_granted, unused = compare_permissions(server.request_log, rules, user=SA_USER)
    assert [(r.verb, r.resource) for r in not_granted] == [("delete", "configmaps")]
    assert unused == [
        Grant("batch", "jobs/status", "patch"),
        Grant("", "secrets", "get"),
        Grant("", "events", "create"),
    ]


def test_debug_endpoint_serves_the_log_to_superusers(server: ThreadedApiServer) -> None:
    with client(server, server.admin_token) as admin:
        admin.get("/api/v1/namespaces")
        log = admin.get("/debug/requests").json()
        assert {"user": "admin", "verb": "list", "resource": "namespaces"}.items() <= log[
            -1
        ].items()
    with client(server, server.issue_service_account_token("team", "bot")) as bot:
        assert bot.get("/debug/requests").status_code == 403


def test_compare_with_manifests_checks_each_namespace(server: ThreadedApiServer) -> None:
    extra = [
        {
            "apiVersion": RBAC,
            "kind": "Role",
            "metadata": {"name": "pods", "namespace": "default"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
        },
        {
            "apiVersion": RBAC,
            "kind": "RoleBinding",
            "metadata": {"name": "bot-pods", "namespace": "default"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pods"},
            "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "team"}],
        },
    ]
    server.load_manifests(extra)
    with client(server, server.issue_service_account_token("team", "bot")) as bot:
        assert bot.get("/api/v1/namespaces/default/pods").status_code == 200
        assert bot.get("/api/v1/namespaces/team/pods").status_code == 403  # bound in default only
        assert bot.get("/api/v1/namespaces/team/configmaps").status_code == 200
    not_granted, unused = compare_with_manifests(
        server.request_log, MANIFESTS + extra, service_account_user("team", "bot")
    )
    assert [(r.verb, r.resource, r.namespace) for r in not_granted] == [("list", "pods", "team")]
    assert Grant("", "pods", "list") not in unused
    assert Grant("", "configmaps", "list") not in unused
    assert Grant("", "events", "create") in unused


def test_open_watches_are_logged_when_they_start(server: ThreadedApiServer) -> None:
    with client(server, server.issue_service_account_token("team", "bot")) as bot:
        params = {"watch": "true", "timeoutSeconds": "30"}
        with bot.stream("GET", "/api/v1/namespaces/team/configmaps", params=params) as stream:
            assert stream.status_code == 200
            watches = [r for r in server.request_log.by_user(SA_USER) if r.verb == "watch"]
            assert [(r.resource, r.namespace, r.code) for r in watches] == [
                ("configmaps", "team", 200)
            ]
    assert len([r for r in server.request_log.by_user(SA_USER) if r.verb == "watch"]) == 1
