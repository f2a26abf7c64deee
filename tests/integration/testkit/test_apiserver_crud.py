"""Object semantics of the API emulator over HTTP: CRUD, conflicts, patches, status, deletion."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from modeleval_testkit.apiserver import ThreadedApiServer, run_in_thread
from modeleval_testkit.apiserver.testcrd import widget, widget_crd

WIDGETS = "/apis/example.test/v1/namespaces/default/widgets"
CMS = "/api/v1/namespaces/default/configmaps"
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
MERGE = {"Content-Type": "application/merge-patch+json"}
STRATEGIC = {"Content-Type": "application/strategic-merge-patch+json"}


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedApiServer]:
    with run_in_thread(crds=[widget_crd()]) as running:
        yield running


@pytest.fixture
def api(server: ThreadedApiServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    with httpx.Client(
        base_url=server.url, headers=headers, verify=server.client_ssl_context()
    ) as client:
        yield client


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def test_create_get_list_delete(api: httpx.Client) -> None:
    created = api.post(WIDGETS, json=widget("crud-a", size=2))
    assert created.status_code == 201
    meta = created.json()["metadata"]
    assert meta["uid"] and meta["creationTimestamp"] and meta["generation"] == 1
    assert int(meta["resourceVersion"]) > 0
    got = api.get(f"{WIDGETS}/crud-a").json()
    assert got == created.json()
    listing = api.get(WIDGETS).json()
    assert listing["kind"] == "WidgetList"
    assert int(listing["metadata"]["resourceVersion"]) >= int(meta["resourceVersion"])
    assert "crud-a" in [i["metadata"]["name"] for i in listing["items"]]
    assert api.post(WIDGETS, json=widget("crud-a", size=2)).json()["reason"] == "AlreadyExists"
    assert api.delete(f"{WIDGETS}/crud-a").status_code == 200
    missing = api.get(f"{WIDGETS}/crud-a")
    assert missing.status_code == 404
    assert missing.json()["message"] == 'widgets.example.test "crud-a" not found'


def test_resource_versions_grow_globally(api: httpx.Client) -> None:
    first = api.post(CMS, json=cm("rv-1")).json()["metadata"]["resourceVersion"]
    second = api.post(WIDGETS, json=widget("rv-2")).json()["metadata"]["resourceVersion"]
    assert int(second) > int(first)


def test_put_with_stale_resource_version_conflicts(api: httpx.Client) -> None:
    obj = api.post(CMS, json=cm("put-1", a="1")).json()
    obj["data"] = {"a": "2"}
    updated = api.put(f"{CMS}/put-1", json=obj)
    assert updated.status_code == 200
    assert updated.json()["data"] == {"a": "2"}
    obj["data"] = {"a": "3"}  # still carries the old resourceVersion
    stale = api.put(f"{CMS}/put-1", json=obj)
    assert stale.status_code == 409
    assert stale.json()["reason"] == "Conflict"
    assert "the object has been modified" in stale.json()["message"]


def test_json_patch_failed_test_is_422(api: httpx.Client) -> None:
    obj = api.post(WIDGETS, json=widget("jp-1")).json()
    rv = obj["metadata"]["resourceVersion"]
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "add", "path": "/metadata/finalizers", "value": ["example.test/f"]},
    ]
    ok = api.patch(f"{WIDGETS}/jp-1", json=ops, headers=JSON_PATCH)
    assert ok.status_code == 200
    assert ok.json()["metadata"]["finalizers"] == ["example.test/f"]
    again = api.patch(f"{WIDGETS}/jp-1", json=ops, headers=JSON_PATCH)  # rv is stale now
    assert again.status_code == 422
    remove = [{"op": "remove", "path": "/metadata/finalizers"}]
    assert api.patch(f"{WIDGETS}/jp-1", json=remove, headers=JSON_PATCH).status_code == 200


def test_merge_patch_with_stale_resource_version_conflicts(api: httpx.Client) -> None:
    api.post(CMS, json=cm("mp-1", a="1"))
    patch = {"metadata": {"resourceVersion": "1"}, "data": {"b": "2"}}
    assert api.patch(f"{CMS}/mp-1", json=patch, headers=MERGE).status_code == 409
    merged = api.patch(f"{CMS}/mp-1", json={"data": {"b": "2", "a": None}}, headers=MERGE)
    assert merged.json()["data"] == {"b": "2"}


def test_strategic_merge_merges_named_lists(api: httpx.Client) -> None:
    containers = [
        {"name": "a", "image": "x", "env": [{"name": "E1", "value": "1"}]},
        {"name": "b", "image": "y"},
    ]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "smp-1"},
        "spec": {
            "selector": {"matchLabels": {"app": "smp"}},
            "template": {
                "metadata": {"labels": {"app": "smp"}},
                "spec": {"containers": containers},
            },
        },
    }
    url = "/apis/apps/v1/namespaces/default/deployments"
    assert api.post(url, json=deployment).status_code == 201
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "a", "env": [{"name": "E2", "value": "2"}]},
                        {"name": "b", "$patch": "delete"},
                        {"name": "c", "image": "z"},
                    ]
                }
            }
        }
    }
    result = api.patch(f"{url}/smp-1", json=patch, headers=STRATEGIC).json()
    merged = result["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in merged] == ["a", "c"]
    assert merged[0]["image"] == "x"
    assert merged[0]["env"] == [{"name": "E1", "value": "1"}, {"name": "E2", "value": "2"}]
    assert result["metadata"]["generation"] == 2


def test_status_is_a_separate_subresource(api: httpx.Client) -> None:
    created = api.post(WIDGETS, json={**widget("st-1", size=1), "status": {"phase": "Fake"}})
    assert "status" not in created.json()  # status is ignored on create
    status = api.patch(
        f"{WIDGETS}/st-1/status",
        json={"status": {"phase": "Ready"}, "spec": {"size": 50}},
        headers=MERGE,
    )
    assert status.json()["status"] == {"phase": "Ready"}
    assert status.json()["spec"]["size"] == 1  # spec is ignored on status writes
    assert status.json()["metadata"]["generation"] == 1
    main = api.patch(
        f"{WIDGETS}/st-1", json={"status": {"phase": "X"}, "spec": {"size": 2}}, headers=MERGE
    )
    assert main.json()["status"] == {"phase": "Ready"}  # status is ignored on main writes
    assert main.json()["spec"]["size"] == 2
    assert main.json()["metadata"]["generation"] == 2


def test_put_status_keeps_the_rest(api: httpx.Client) -> None:
    obj = api.post(WIDGETS, json=widget("put-st", size=1)).json()
    obj["status"] = {"phase": "Done"}
    obj["spec"]["size"] = 99
    obj["metadata"]["labels"] = {"ignored": "yes"}
    written = api.put(f"{WIDGETS}/put-st/status", json=obj)
    assert written.status_code == 200
    assert written.json()["status"] == {"phase": "Done"}
    assert written.json()["spec"]["size"] == 1
    assert "labels" not in written.json()["metadata"]


def test_delete_collection_with_selector(api: httpx.Client) -> None:
    for name, group in (("dc-a", "x"), ("dc-b", "x"), ("dc-c", "y")):
        body = cm(name)
        body["metadata"]["labels"] = {"dc": group}
        api.post(CMS, json=body)
    deleted = api.delete(CMS, params={"labelSelector": "dc=x"})
    assert [i["metadata"]["name"] for i in deleted.json()["items"]] == ["dc-a", "dc-b"]
    left = api.get(CMS, params={"labelSelector": "dc"}).json()["items"]
    assert [i["metadata"]["name"] for i in left] == ["dc-c"]


def test_generation_ignores_metadata_and_status(api: httpx.Client) -> None:
    api.post(WIDGETS, json=widget("gen-1"))
    labelled = api.patch(
        f"{WIDGETS}/gen-1", json={"metadata": {"labels": {"a": "b"}}}, headers=MERGE
    ).json()
    assert labelled["metadata"]["generation"] == 1
    spec = api.patch(f"{WIDGETS}/gen-1", json={"spec": {"size": 3}}, headers=MERGE).json()
    assert spec["metadata"]["generation"] == 2


def test_no_op_write_keeps_resource_version(api: httpx.Client) -> None:
    obj = api.post(CMS, json=cm("noop-1", a="1")).json()
    same = api.patch(f"{CMS}/noop-1", json={"data": {"a": "1"}}, headers=MERGE).json()
    assert same["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


def test_finalizers_delay_deletion(api: httpx.Client) -> None:
    body = widget("fin-1")
    body["metadata"]["finalizers"] = ["example.test/keep"]
    api.post(WIDGETS, json=body)
    deleted = api.delete(f"{WIDGETS}/fin-1")
    assert deleted.status_code == 200
    marked = api.get(f"{WIDGETS}/fin-1").json()
    assert marked["metadata"]["deletionTimestamp"]
    adding = {"metadata": {"finalizers": ["example.test/keep", "example.test/new"]}}
    assert api.patch(f"{WIDGETS}/fin-1", json=adding, headers=MERGE).status_code == 422
    api.patch(f"{WIDGETS}/fin-1", json={"metadata": {"finalizers": None}}, headers=MERGE)
    assert api.get(f"{WIDGETS}/fin-1").status_code == 404


def test_owner_deletion_cascades(api: httpx.Client) -> None:
    owner = api.post(WIDGETS, json=widget("gc-owner")).json()
    ref = {
        "apiVersion": "example.test/v1",
        "kind": "Widget",
        "name": "gc-owner",
        "uid": owner["metadata"]["uid"],
        "controller": True,
    }
    child = cm("gc-child")
    child["metadata"]["ownerReferences"] = [ref]
    child_obj = api.post(CMS, json=child).json()
    grandchild = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "gc-grandchild",
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "name": "gc-child",
                    "uid": child_obj["metadata"]["uid"],
                }
            ],
        },
    }
    api.post("/api/v1/namespaces/default/secrets", json=grandchild)
    other = cm("gc-unrelated")
    api.post(CMS, json=other)
    api.delete(f"{WIDGETS}/gc-owner")
    assert api.get(f"{CMS}/gc-child").status_code == 404
    assert api.get("/api/v1/namespaces/default/secrets/gc-grandchild").status_code == 404
    assert api.get(f"{CMS}/gc-unrelated").status_code == 200


def test_orphan_propagation_keeps_dependents(api: httpx.Client) -> None:
    owner = api.post(WIDGETS, json=widget("orphan-owner")).json()
    child = cm("orphan-child")
    child["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "example.test/v1",
            "kind": "Widget",
            "name": "orphan-owner",
            "uid": owner["metadata"]["uid"],
        }
    ]
    api.post(CMS, json=child)
    api.delete(f"{WIDGETS}/orphan-owner", params={"propagationPolicy": "Orphan"})
    kept = api.get(f"{CMS}/orphan-child").json()
    assert "ownerReferences" not in kept["metadata"]


def test_namespace_must_exist(api: httpx.Client) -> None:
    missing = api.post("/api/v1/namespaces/nowhere/configmaps", json=cm("x"))
    assert missing.status_code == 404
    assert missing.json()["message"] == 'namespaces "nowhere" not found'


def test_namespace_deletion_removes_contents(api: httpx.Client) -> None:
    api.post(
        "/api/v1/namespaces",
        json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}},
    )
    api.post("/api/v1/namespaces/doomed/configmaps", json=cm("inside"))
    api.delete("/api/v1/namespaces/doomed")
    assert api.get("/api/v1/namespaces/doomed/configmaps/inside").status_code == 404
    assert api.get("/api/v1/namespaces/doomed").status_code == 404


def test_generate_name(api: httpx.Client) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}}
    name = api.post(CMS, json=body).json()["metadata"]["name"]
    assert name.startswith("gen-") and len(name) == len("gen-") + 5


@pytest.mark.parametrize("name", ["Upper", "under_score", "-lead", "a" * 254])
def test_invalid_names_are_422(api: httpx.Client, name: str) -> None:
    answer = api.post(CMS, json=cm(name))
    assert answer.status_code == 422
    assert answer.json()["details"]["causes"][0]["field"] == "metadata.name"


def test_schema_errors_are_422_with_causes(api: httpx.Client) -> None:
    answer = api.post(WIDGETS, json=widget("bad-1", size=0, replicas=0))
    assert answer.status_code == 422
    body = answer.json()
    assert body["reason"] == "Invalid"
    assert body["message"] == (
        'Widget.example.test "bad-1" is invalid: spec.size: Invalid value: 0: spec.size in body'
        " should be greater than or equal to 1"
    )
    assert [c["field"] for c in body["details"]["causes"]] == ["spec.size"]


def test_strict_field_validation_rejects_unknown_fields(api: httpx.Client) -> None:
    body = widget("strict-1", size=1, bogus=True)
    strict = api.post(WIDGETS, json=body, params={"fieldValidation": "Strict"})
    assert strict.status_code == 400
    assert 'strict decoding error: unknown field "spec.bogus"' in strict.json()["message"]
    pruned = api.post(WIDGETS, json=body)
    assert pruned.status_code == 201
    assert "bogus" not in pruned.json()["spec"]


def test_cel_transition_rule_on_update(api: httpx.Client) -> None:
    api.post(WIDGETS, json=widget("cel-1", size=1, mode="slow"))
    answer = api.patch(f"{WIDGETS}/cel-1", json={"spec": {"mode": "fast"}}, headers=MERGE)
    assert answer.status_code == 422
    assert answer.json()["details"]["causes"][0]["message"] == (
        'spec.mode: Invalid value: "fast": mode is immutable'
    )


def test_label_and_field_selectors(api: httpx.Client) -> None:
    for name, labels in (
        ("sel-a", {"tier": "web", "env": "prod"}),
        ("sel-b", {"tier": "db", "env": "prod"}),
        ("sel-c", {"tier": "web"}),
    ):
        body = cm(name)
        body["metadata"]["labels"] = labels
        api.post(CMS, json=body)

    def names(**params: str) -> list[str]:
        items = api.get(CMS, params=params).json()["items"]
        return [i["metadata"]["name"] for i in items if i["metadata"]["name"].startswith("sel-")]

    assert names(labelSelector="tier=web") == ["sel-a", "sel-c"]
    assert names(labelSelector="tier!=web") == ["sel-b"]
    assert names(labelSelector="tier in (db, cache),env") == ["sel-b"]
    assert names(labelSelector="tier notin (db)") == ["sel-a", "sel-c"]
    assert names(labelSelector="!env") == ["sel-c"]
    assert names(labelSelector="env==prod,tier=web") == ["sel-a"]
    assert names(fieldSelector="metadata.name=sel-b") == ["sel-b"]
    assert names(fieldSelector="metadata.name!=sel-b,metadata.namespace=default") == [
        "sel-a",
        "sel-c",
    ]


def test_events_in_both_apis(api: httpx.Client) -> None:
    core = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "ev-1"},
        "involvedObject": {"kind": "Widget", "name": "w", "namespace": "default"},
        "reason": "Test",
        "message": "hello",
        "type": "Normal",
    }
    assert api.post("/api/v1/namespaces/default/events", json=core).status_code == 201
    new = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "ev-2"},
        "regarding": {"kind": "Widget", "name": "w"},
        "reason": "Test",
        "note": "hi",
        "type": "Normal",
        "action": "Did",
        "reportingController": "t",
        "reportingInstance": "t",
        "eventTime": "2026-01-01T00:00:00.000000Z",
    }
    assert api.post("/apis/events.k8s.io/v1/namespaces/default/events", json=new).status_code == 201
    found = api.get(
        "/api/v1/namespaces/default/events",
        params={"fieldSelector": "involvedObject.kind=Widget,involvedObject.name=w"},
    )
    assert [e["metadata"]["name"] for e in found.json()["items"]] == ["ev-1"]


def test_job_gets_selector_and_defaults(api: httpx.Client) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "job-1"},
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "c", "image": "i"}], "restartPolicy": "Never"}
            }
        },
    }
    created = api.post("/apis/batch/v1/namespaces/default/jobs", json=job).json()
    assert created["spec"]["backoffLimit"] == 6
    assert created["spec"]["template"]["metadata"]["labels"]["job-name"] == "job-1"
    assert created["status"] == {}


def test_discovery_lists_kinds_and_subresources(api: httpx.Client) -> None:
    core = {r["name"]: r for r in api.get("/api/v1").json()["resources"]}
    assert core["pods"]["kind"] == "Pod" and core["pods"]["shortNames"] == ["po"]
    assert core["pods/status"]["verbs"] == ["get", "patch", "update"]
    assert core["namespaces"]["namespaced"] is False
    groups = {g["name"] for g in api.get("/apis").json()["groups"]}
    assert {"apps", "batch", "example.test", "rbac.authorization.k8s.io"} <= groups
    widgets = api.get("/apis/example.test/v1").json()["resources"]
    assert widgets[0]["shortNames"] == ["wd"] and widgets[1]["name"] == "widgets/status"


def test_crd_deletion_unserves_the_kind(server: ThreadedApiServer, api: httpx.Client) -> None:
    crd = widget_crd()
    crd["metadata"]["name"] = "gadgets.example.test"
    crd["spec"]["names"] = {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"}
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    created = api.post(crds, json=crd).json()
    conditions = {c["type"]: c["status"] for c in created["status"]["conditions"]}
    assert conditions["Established"] == "True"
    gadgets = "/apis/example.test/v1/namespaces/default/gadgets"
    body = {
        "apiVersion": "example.test/v1",
        "kind": "Gadget",
        "metadata": {"name": "g"},
        "spec": {"size": 1},
    }
    assert api.post(gadgets, json=body).status_code == 201
    api.delete(f"{crds}/gadgets.example.test")
    assert api.get(gadgets).status_code == 404


def test_unauthenticated_requests_are_401(server: ThreadedApiServer) -> None:
    with httpx.Client(base_url=server.url, verify=server.client_ssl_context()) as client:
        assert client.get("/api/v1/namespaces").status_code == 401
        assert client.get("/healthz").status_code == 200


def test_methods_that_do_not_fit_the_path_are_405(api: httpx.Client) -> None:
    assert api.put(CMS, json=cm("x")).status_code == 405
    assert api.post(f"{CMS}/x", json=cm("x")).status_code == 405
    assert api.get("/api/v1/namespaces/default/nosuchthings").status_code == 404


def test_dry_run_validates_and_stores_nothing(api: httpx.Client) -> None:
    dry = {"dryRun": "All"}
    created = api.post(WIDGETS, json=widget("dry-1", size=2), params=dry)
    assert created.status_code == 201
    assert created.json()["spec"]["mode"] == "fast"
    assert api.get(f"{WIDGETS}/dry-1").status_code == 404
    assert api.post(WIDGETS, json=widget("dry-1", size=0), params=dry).status_code == 422
    real = api.post(WIDGETS, json=widget("dry-1", size=2)).json()
    patched = api.patch(f"{WIDGETS}/dry-1", json={"spec": {"size": 3}}, headers=MERGE, params=dry)
    assert patched.json()["spec"]["size"] == 3
    assert patched.json()["metadata"]["generation"] == 2
    assert api.get(f"{WIDGETS}/dry-1").json() == real
    assert api.delete(f"{WIDGETS}/dry-1", params=dry).status_code == 200
    assert api.get(f"{WIDGETS}/dry-1").json() == real


def test_immutable_fields_of_builtin_kinds(api: httpx.Client) -> None:
    jobs = "/apis/batch/v1/namespaces/default/jobs"
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "imm-job"},
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "c", "image": "a"}], "restartPolicy": "Never"}
            }
        },
    }
    api.post(jobs, json=job)
    image = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "b"}]}}}}
    refused = api.patch(f"{jobs}/imm-job", json=image, headers=STRATEGIC)
    assert refused.status_code == 422
    assert refused.json()["details"]["causes"][0]["field"] == "spec.template"
    assert "field is immutable" in refused.json()["message"]
    allowed = api.patch(f"{jobs}/imm-job", json={"spec": {"parallelism": 2}}, headers=MERGE)
    assert allowed.status_code == 200
    pods = "/api/v1/namespaces/default/pods"
    api.post(
        pods,
        json={
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "imm-pod"},
            "spec": {"containers": [{"name": "c", "image": "a"}]},
        },
    )
    new_image = {"spec": {"containers": [{"name": "c", "image": "b"}]}}
    assert api.patch(f"{pods}/imm-pod", json=new_image, headers=STRATEGIC).status_code == 200
    bind = {"spec": {"nodeName": "node-1"}}
    assert api.patch(f"{pods}/imm-pod", json=bind, headers=MERGE).status_code == 200
    move = {"spec": {"nodeName": "node-2"}}
    assert api.patch(f"{pods}/imm-pod", json=move, headers=MERGE).status_code == 422
    new_env = {"spec": {"containers": [{"name": "c", "env": [{"name": "X", "value": "1"}]}]}}
    assert api.patch(f"{pods}/imm-pod", json=new_env, headers=STRATEGIC).status_code == 422
    sealed = cm("imm-cm", a="1")
    sealed["immutable"] = True
    api.post(CMS, json=sealed)
    assert api.patch(f"{CMS}/imm-cm", json={"data": {"a": "2"}}, headers=MERGE).status_code == 422


def test_builtin_defaults_apply_on_every_write(api: httpx.Client) -> None:
    url = "/apis/apps/v1/namespaces/default/deployments"
    spec = {
        "selector": {"matchLabels": {"app": "d"}},
        "template": {
            "metadata": {"labels": {"app": "d"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        },
    }
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "dflt"},
        "spec": spec,
    }
    created = api.post(url, json=body).json()
    assert created["spec"]["strategy"]["type"] == "RollingUpdate"
    replace = [{"op": "replace", "path": "/spec", "value": spec}]  # without the defaults
    same = api.patch(f"{url}/dflt", json=replace, headers=JSON_PATCH).json()
    assert same["spec"] == created["spec"]
    assert same["metadata"]["generation"] == 1
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_recorded_writes_keep_what_each_client_wrote_once() -> None:
    """``record_writes=True``: the bodies of creates, the results of patches (status only when
    the status subresource was patched), each distinct object once; off by default."""
    with run_in_thread(crds=[widget_crd()], record_writes=True) as recording:
        headers = {"Authorization": f"Bearer {recording.admin_token}"}
        with httpx.Client(
            base_url=recording.url, headers=headers, verify=recording.client_ssl_context()
        ) as client:
            assert client.post(CMS, json=cm("w-1", a="1")).status_code == 201
            for _ in range(2):  # the same result twice: kept once
                client.patch(f"{CMS}/w-1", json={"data": {"b": "2"}}, headers=MERGE)
            client.post(f"{CMS}?dryRun=All", json=cm("w-dry"))
        writes = list(recording.writes)
    assert [(w.user, w.verb) for w in writes] == [("admin", "create"), ("admin", "patch")]
    created, patched = (w.object for w in writes)
    assert created == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w-1"},
                       "data": {"a": "1"}}  # fmt: skip
    assert patched["data"] == {"a": "1", "b": "2"}
    assert "resourceVersion" not in patched["metadata"] and "uid" not in patched["metadata"]
    with run_in_thread() as plain:
        assert plain.writes is None


def test_secret_string_data_is_folded_into_data(api: httpx.Client) -> None:
    """As the real API server: stringData is write-only, base64 in data, over data's keys."""
    secrets = "/api/v1/namespaces/default/secrets"
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "folded"},
        "data": {"a": "b2xk", "b": "a2VwdA=="},
        "stringData": {"a": "new", "c": "ç"},
    }
    created = api.post(secrets, json=body).json()
    assert "stringData" not in created
    assert created["data"] == {"a": "bmV3", "b": "a2VwdA==", "c": "w6c="}
    patched = api.patch(f"{secrets}/folded", json={"stringData": {"b": "x"}}, headers=MERGE)
    assert patched.json()["data"]["b"] == "eA==" and "stringData" not in patched.json()
