"""The webhook's decision, with the SubjectAccessReviews answered by a table instead of an
API server: who is asked about what, and when nobody is asked at all."""

from __future__ import annotations

import dataclasses
from typing import Any

import kopf
import pytest

from modeleval.handlers import admission
from modeleval.reconcile.access import Access
from modeleval.settings import OperatorSettings

OPERATOR = "system:serviceaccount:modeleval-system:modeleval-operator"
ALICE = {"username": "alice", "uid": "u1", "groups": ["devs"], "extra": {"scopes": ["x"]}}


def task(**endpoint: Any) -> dict[str, Any]:
    return {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": "t", "namespace": "team"},
        "spec": {
            "models": [{"name": "m", "endpoint": {"url": "http://x/v1", **endpoint}}],
            "dataset": {"inline": [{"input": "q"}]},
        },
    }


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """Every review the webhook makes; alice may use everything but Secret prod-db."""
    calls: list[tuple[str, str, str]] = []

    def may(user: Any, namespace: str, access: Access) -> bool:
        calls.append((user["username"], namespace, f"{access.verb} {access.kind} {access.name}"))
        return access.name != "prod-db"

    settings = dataclasses.replace(OperatorSettings(), operator_username=OPERATOR)
    monkeypatch.setattr(admission, "may", may)
    monkeypatch.setattr(admission, "SETTINGS", settings)
    return calls


def test_a_create_asks_about_every_object_once_and_names_the_refused(
    asked: list[tuple[str, str, str]],
) -> None:
    body = task(
        apiKeySecretRef={"name": "prod-db", "key": "k"},
        requestHeadersFrom=[{"name": "X", "secretKeyRef": {"name": "prod-db", "key": "j"}}],
    )
    with pytest.raises(kopf.AdmissionError) as refused:
        admission.review("EvalTask", body, None, ALICE, "CREATE")
    assert refused.value.code == 403
    assert str(refused.value) == (
        "EvalTask t is refused: spec.models[0].endpoint.requestHeadersFrom[0].secretKeyRef: "
        "user alice may not get Secret prod-db, so neither may this object"
    )
    assert asked == [("alice", "team", "get Secret prod-db")]  # one review per object


def test_updates_that_change_only_suspend_or_metadata_ask_nothing(
    asked: list[tuple[str, str, str]],
) -> None:
    old = task(apiKeySecretRef={"name": "prod-db", "key": "k"})
    new = {**old, "spec": {**old["spec"], "suspend": True}, "metadata": {"name": "t", "labels": {}}}
    admission.review("EvalTask", new, old, ALICE, "UPDATE")
    assert asked == []
    moved = task(url="https://evil.example/v1", apiKeySecretRef={"name": "prod-db", "key": "k"})
    with pytest.raises(kopf.AdmissionError):
        admission.review("EvalTask", moved, old, ALICE, "UPDATE")


def test_the_operator_is_not_asked_about_but_still_bound_by_the_policy(
    asked: list[tuple[str, str, str]],
) -> None:
    operator = {"username": OPERATOR, "groups": ["system:serviceaccounts"]}
    admission.review(
        "EvalTask", task(apiKeySecretRef={"name": "prod-db", "key": "k"}), None, operator, "CREATE"
    )
    assert asked == []
    body = task()
    body["spec"]["runner"] = {"image": "evil/runner:1"}
    with pytest.raises(kopf.AdmissionError, match=r"spec\.runner\.image: image evil/runner:1"):
        admission.review("EvalTask", body, None, operator, "CREATE")


def test_an_invalid_spec_is_left_to_the_operator(asked: list[tuple[str, str, str]]) -> None:
    body = task(apiKeySecretRef={"name": "prod-db", "key": "k"})
    body["spec"]["inference"] = {"client": {"parallel": 0}}
    admission.review("EvalTask", body, None, ALICE, "CREATE")  # reported as InvalidSpec, never run
    assert asked == []


def test_the_review_carries_the_users_uid_groups_and_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[Any] = []

    class Api:
        def create_subject_access_review(self, body: Any) -> Any:
            sent.append(body)
            return {"status": {"allowed": True}}

    monkeypatch.setattr(admission.kube, "authorization", Api)
    monkeypatch.setattr(admission.kube, "to_dict", lambda obj: obj)
    assert admission.may(ALICE, "team", Access("secrets", "s", "spec.x")) is True
    assert sent[0]["spec"] == {
        "user": "alice",
        "groups": ["devs"],
        "uid": "u1",
        "extra": {"scopes": ["x"]},
        "resourceAttributes": {
            "namespace": "team",
            "verb": "get",
            "group": "",
            "resource": "secrets",
            "name": "s",
        },
    }
