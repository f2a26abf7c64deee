"""TokenReview in the API emulator, and tokens bound to another audience than the API's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from modeleval_testkit.apiserver import ThreadedApiServer, run_in_thread
from modeleval_testkit.apiserver.auth import API_AUDIENCE

REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
SA_PATH = "/api/v1/namespaces/team/serviceaccounts/bot"
RBAC = "rbac.authorization.k8s.io/v1"


@pytest.fixture
def server() -> Iterator[ThreadedApiServer]:
    with run_in_thread(tls=False) as api:
        api.load_manifests(
            [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}},
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": "bot", "namespace": "team"},
                },
                {
                    "apiVersion": RBAC,
                    "kind": "ClusterRole",
                    "metadata": {"name": "reviewer"},
                    "rules": [
                        {
                            "apiGroups": ["authentication.k8s.io"],
                            "resources": ["tokenreviews"],
                            "verbs": ["create"],
                        }
                    ],
                },
                {
                    "apiVersion": RBAC,
                    "kind": "ClusterRoleBinding",
                    "metadata": {"name": "reviewer"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": "reviewer",
                    },
                    "subjects": [{"kind": "User", "name": "console"}],
                },
            ]
        )
        yield api


def call(
    server: ThreadedApiServer, token: str, method: str, path: str, body: Any = None
) -> httpx.Response:
    return httpx.request(
        method, server.url + path, json=body, headers={"Authorization": f"Bearer {token}"}
    )


def review(
    server: ThreadedApiServer, reviewer: str, token: str, audiences: list[str] | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {"token": token}
    if audiences:
        spec["audiences"] = audiences
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec}
    response = call(server, reviewer, "POST", REVIEWS, body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()["status"]
    return result


def test_a_review_names_the_user_its_groups_and_audiences(server: ThreadedApiServer) -> None:
    reviewer = server.issue_token("console")
    user = server.issue_token("alice", ["team-a"])
    status = review(server, reviewer, user)
    assert status["authenticated"] is True
    assert status["user"]["username"] == "alice"
    assert status["user"]["groups"] == ["team-a", "system:authenticated"]
    assert status["user"]["uid"]
    assert status["audiences"] == [API_AUDIENCE]
    assert review(server, reviewer, "forged")["authenticated"] is False


def test_reviewing_needs_rbac(server: ThreadedApiServer) -> None:
    someone = server.issue_token("mallory")
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": {"token": someone},
    }
    assert call(server, someone, "POST", REVIEWS, body).status_code == 403


def test_an_audience_bound_token_works_only_for_its_audience(server: ThreadedApiServer) -> None:
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"audiences": ["modeleval-console"], "expirationSeconds": 600},
    }
    minted = call(server, server.admin_token, "POST", f"{SA_PATH}/token", request)
    assert minted.status_code == 201
    token = minted.json()["status"]["token"]
    assert minted.json()["spec"]["audiences"] == ["modeleval-console"]
    assert call(server, token, "GET", "/api/v1/namespaces/team/configmaps").status_code == 401
    reviewer = server.issue_token("console")
    accepted = review(server, reviewer, token, ["modeleval-console"])
    assert accepted["authenticated"] is True
    assert accepted["user"]["username"] == "system:serviceaccount:team:bot"
    assert accepted["audiences"] == ["modeleval-console"]
    assert review(server, reviewer, token)["authenticated"] is False  # not for the API server
    assert review(server, reviewer, token, ["someone-else"])["authenticated"] is False


def test_discovery_lists_tokenreviews(server: ThreadedApiServer) -> None:
    found = call(server, server.admin_token, "GET", "/apis/authentication.k8s.io/v1").json()
    assert "tokenreviews" in [r["name"] for r in found["resources"]]
