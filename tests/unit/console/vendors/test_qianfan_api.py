"""``POST /v2/eval``: the Qianfan actions over EvalTasks, their errors, and who may do what.

Kubernetes is `FakeCluster` (see conftest): what the facade writes is checked there, and every
write is checked to have been made as the caller."""

from __future__ import annotations

import copy
import time
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from modeleval import constants as c
from modeleval.console.vendors import bce_auth, vendor_routers
from modeleval.console.web.app import create_app
from tests.support.vendor_app import NS, Vendors
from tests.support.vendors import configmap, group_manifest

TASKS = c.EVAL_TASK_PLURAL
CREATE: dict[str, Any] = {
    "taskName": "自动评估_停止测试0910",
    "description": "rules and a judge",
    "evalObjectType": "model",
    "evalObjectConfig": {
        "evalModelConfig": {
            "versionId": "demo-qa-dataset",
            "storageType": "BOS",
            "storagePath": "bos:/aip-static/123",
            "evalModelConfigList": [
                {
                    "modelId": "amv-qwen",
                    "promptTemplate": "请回答：{input}",
                    "params": {"temperature": 0.5, "top_p": 0.9, "penalty_score": 1.1, "top_k": 3},
                }
            ],
        }
    },
    "evalConfig": {
        "evalMode": "rule,model",
        "autoRuleEvalConfig": {"scoreModes": ["accuracy"], "stopWordList": ["的"]},
        "autoModelEvalConfig": {
            "apiName": "ERNIE-Bot",
            "promptParam": {"metric": "correctness", "steps": "compare", "maxScore": 10},
        },
    },
    "ak": "leaked-ak",  # the SDK puts per-call credentials into the body: ignored
}


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"requestId", "result"}
    return body["result"]


def refused(response: Any, status: int, code: str, *words: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"requestId", "code", "message"}, body
    assert body["code"] == code and response.headers["x-bce-error-code"] == code
    for word in words:
        assert word in body["message"], body["message"]
    assert "Traceback" not in response.text
    return str(body["message"])


def stored(vendors: Vendors, task_id: str) -> dict[str, Any]:
    [task] = [t for t in vendors.cluster.of(TASKS) if t["metadata"]["uid"] == task_id]
    return task


def test_create_makes_the_evaltask_qianfan_describes(vendors: Vendors) -> None:
    task_id = ok(vendors.qianfan("CreateEvalTask", CREATE))
    task = stored(vendors, task_id)
    assert task["metadata"]["namespace"] == NS
    assert task["metadata"]["labels"] == {"modeleval.io/vendor-api": "qianfan"}
    spec = task["spec"]
    assert spec["displayName"] == CREATE["taskName"]
    assert spec["models"] == [
        {
            "name": "amv-qwen",
            "serviceGroupRef": {"name": "qwen-7b"},  # the group whose spec.modelId it is
            "promptTemplate": "请回答：{input}",
            "params": {"temperature": 0.5, "topP": 0.9, "penaltyScore": 1.1, "topK": 3},
        }
    ]
    assert spec["dataset"] == {
        "name": "demo-qa-dataset",
        "configMap": {"name": "demo-qa-dataset", "key": "qa.jsonl"},
    }
    assert spec["results"] == {"type": "S3", "s3": {"url": "s3://aip-static/123"}}
    assert spec["scoring"]["modes"] == ["rule", "model"]
    assert spec["scoring"]["judge"]["serviceGroupRef"] == {"name": "ernie"}
    assert "leaked-ak" not in str(task)
    # written as alice, never as the console
    assert [u for u, m, _ in vendors.cluster.calls if m == "POST"] == ["alice"]

    result = ok(vendors.qianfan("DescribeEvalTask", {"taskId": task_id}))
    assert result["taskId"] == task_id and result["state"] == "Queued"
    model_config = result["evalObjectConfig"]["evalModelConfig"]
    assert model_config["storagePath"] == "bos:/aip-static/123"
    assert model_config["evalModelConfigList"][0]["params"] == {
        "temperature": 0.5,
        "top_p": 0.9,
        "penalty_score": 1.1,
        "top_k": 3,
    }
    assert result["evalConfig"]["autoModelEvalConfig"]["promptParam"]["maxScore"] == 10


def test_gsb_manual_and_existing_results_requests(vendors: Vendors) -> None:
    gsb = copy.deepcopy(CREATE)
    gsb["evalObjectConfig"]["evalModelConfig"]["evalModelConfigList"] = [
        {"modelId": "amv-qwen"},
        {"modelId": "qwen-7b", "isBaseline": True},
    ]
    gsb["evalConfig"] = {"evalMode": "model"}
    spec = stored(vendors, ok(vendors.qianfan("CreateEvalTask", gsb)))["spec"]
    assert spec["scoring"]["pairwise"] == {"enabled": True}
    assert spec["scoring"]["judge"]["apiName"] == "ERNIE-Bot"  # Qianfan's default judge

    manual = copy.deepcopy(CREATE)
    manual["evalConfig"] = {
        "evalMode": "manual",
        "manualEvalConfig": {"evalDimension": [{"dimension": "fluency", "description": "reads"}]},
    }
    task_id = ok(vendors.qianfan("CreateEvalTask", manual))
    assert ok(vendors.qianfan("DescribeEvalTask", {"taskId": task_id}))["evalType"] == "manual"

    vendors.cluster.put("configmaps", configmap("run-2024-09", NS, **{"out.jsonl": "{}"}))
    existing = {
        "taskName": "rescore",
        "evalObjectType": "inferDataset",
        "evalObjectConfig": {
            "evalInferDatasetConfig": {
                "evalInferDatasetConfigList": [
                    {"inferDatasetId": "run-2024-09"},
                    {"inferDatasetId": "pvc:archive/runs/old.jsonl"},
                ]
            }
        },
        "evalConfig": {"evalMode": "rule"},
    }
    spec = stored(vendors, ok(vendors.qianfan("CreateEvalTask", existing)))["spec"]
    assert spec["existingResults"] == [
        {
            "name": "run-2024-09",
            "source": {
                "configMap": {"name": "run-2024-09", "key": "out.jsonl"},
            },
        },
        {
            "name": "pvc:archive/runs/old.jsonl",
            "source": {
                "pvc": {"claimName": "archive", "path": "runs/old.jsonl"},
            },
        },
    ]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda b: b.pop("taskName"), "taskName", "Field required"),
        (lambda b: b.update(taskName=7), "taskName", "valid string"),
        (lambda b: b.update(evalObjectType="service"), "evalObjectType", "'model'"),
        (
            lambda b: b["evalConfig"].update(evalMode="rule,judge"),
            "evalConfig.evalMode",
            "rule, model, manual",
        ),
        (
            lambda b: b["evalObjectConfig"]["evalModelConfig"]["evalModelConfigList"][0][
                "params"
            ].update(temperature=3),
            "evalObjectConfig.evalModelConfig.evalModelConfigList[0].params.temperature",
            "less than or equal to 1",
        ),
        (
            lambda b: b["evalObjectConfig"]["evalModelConfig"]["evalModelConfigList"][0].update(
                promptTemplate="no placeholder"
            ),
            "evalModelConfigList[0].promptTemplate",
            "{input}",
        ),
        (
            lambda b: b["evalObjectConfig"]["evalModelConfig"]["evalModelConfigList"][0].update(
                modelId="amv-unknown"
            ),
            "evalModelConfigList[0].modelId",
            "no ModelEvalServiceGroup",
        ),
        (
            lambda b: b["evalObjectConfig"]["evalModelConfig"].update(versionId="ds-missing"),
            "evalObjectConfig.evalModelConfig.versionId",
            "no ConfigMap ds-missing",
        ),
        (
            lambda b: b["evalObjectConfig"]["evalModelConfig"].pop("storagePath"),
            "evalObjectConfig.evalModelConfig.storagePath",
            "required when storageType is BOS",
        ),
        (
            lambda b: b["evalObjectConfig"]["evalModelConfig"]["evalModelConfigList"][0].update(
                isBaseline=True
            ),
            "evalObjectConfig.evalModelConfig.evalModelConfigList",
            "exactly two objects",
        ),
        (lambda b: b.update(evalObjectType="inferDataset"), "evalInferDatasetConfig", "required"),
        (lambda b: b.update(namespace="Team_A"), "namespace", "not a namespace name"),
    ],
)
def test_bad_requests_name_the_field_and_change_nothing(
    vendors: Vendors, change: Any, field: str, message: str
) -> None:
    body = copy.deepcopy(CREATE)
    change(body)
    before = copy.deepcopy(vendors.cluster.objects)
    response = vendors.qianfan("CreateEvalTask", body)
    refused(response, 400, "InappropriateJSON", field, message)
    assert vendors.cluster.objects == before


def test_malformed_oversized_and_unknown_requests(vendors: Vendors) -> None:
    client = vendors.client()
    refused(
        client.post("/v2/eval?Action=DescribeEvalTask", content=b"{not json"),
        400,
        "MalformedJSON",
        "not well-formed",
    )
    refused(
        client.post("/v2/eval?Action=DescribeEvalTask", content=b"[1, 2]"), 400, "MalformedJSON"
    )
    deep = b"[" * 100_000 + b"]" * 100_000
    refused(
        client.post("/v2/eval?Action=DescribeEvalTask", content=deep),
        400,
        "MalformedJSON",
        "nested too deeply",
    )
    big = {"taskId": "x" * 2_000_000}
    refused(vendors.qianfan("DescribeEvalTask", big), 413, "EntityTooLarge", "bytes")
    refused(vendors.qianfan("DescribeEvalTask", {}), 400, "InappropriateJSON", "taskId")
    refused(
        vendors.qianfan("DescribeEvalTask", {"taskId": "0000"}),
        404,
        "NoSuchKey",
        "no eval task 0000",
    )
    refused(vendors.qianfan("ExplodeEvalTask", {}), 400, "InvalidURI", "CreateEvalTask")
    refused(
        vendors.qianfan("DescribeEvalTasks", {"evalType": "auto", "marker": "nope"}),
        400,
        "InvalidMarker",
    )


def test_list_filters_pages_and_orders(vendors: Vendors) -> None:
    ids = []
    for index in range(5):
        body = copy.deepcopy(CREATE)
        body["taskName"] = f"run-{index}"
        ids.append(ok(vendors.qianfan("CreateEvalTask", body)))
    for index, task in enumerate(vendors.cluster.of(TASKS)):  # distinct creation times
        task["metadata"]["creationTimestamp"] = f"2026-01-0{index + 1}T00:00:00Z"
    newest_first = [
        t["metadata"]["uid"]
        for t in sorted(vendors.cluster.of(TASKS), key=lambda t: t["metadata"]["creationTimestamp"])
    ][::-1]
    page = ok(vendors.qianfan("DescribeEvalTasks", {"evalType": "auto", "maxKeys": 2}))
    assert [t["taskId"] for t in page["evalTaskList"]] == newest_first[:2]
    assert page["pageInfo"] == {
        "marker": "",
        "maxKeys": 2,
        "isTruncated": True,
        "nextMarker": newest_first[2],
    }
    rest = ok(
        vendors.qianfan(
            "DescribeEvalTasks",
            {"evalType": "auto", "maxKeys": 500, "marker": page["pageInfo"]["nextMarker"]},
        )
    )
    assert [t["taskId"] for t in rest["evalTaskList"]] == newest_first[2:]
    assert rest["pageInfo"]["maxKeys"] == 100 and rest["pageInfo"]["isTruncated"] is False
    reverse = ok(vendors.qianfan("DescribeEvalTasks", {"evalType": "auto", "pageReverse": True}))
    assert [t["taskId"] for t in reverse["evalTaskList"]] == newest_first[::-1]
    named = ok(vendors.qianfan("DescribeEvalTasks", {"evalType": "auto", "keyFilter": "RUN-3"}))
    assert [t["taskName"] for t in named["evalTaskList"]] == ["run-3"]
    by_model = ok(
        vendors.qianfan("DescribeEvalTasks", {"evalType": "auto", "keyFilter": "amv-qwen"})
    )
    assert len(by_model["evalTaskList"]) == 5
    assert ok(vendors.qianfan("DescribeEvalTasks", {"evalType": "manual"}))["evalTaskList"] == []
    # another namespace the viewer may not list stays out of its list
    other = copy.deepcopy(vendors.cluster.of(TASKS)[0])
    other["metadata"].update(namespace="team-b", uid="other-uid", name="other")
    vendors.cluster.put(TASKS, other)
    listed = ok(vendors.qianfan("DescribeEvalTasks", {"evalType": "auto"}, token="viewer"))
    assert {t["taskId"] for t in listed["evalTaskList"]} == set(newest_first)


def test_stop_suspends_once_and_delete_removes(vendors: Vendors) -> None:
    task_id = ok(vendors.qianfan("CreateEvalTask", CREATE))
    assert ok(vendors.qianfan("StopEvalTask", {"taskId": task_id})) == {}
    task = stored(vendors, task_id)
    assert task["spec"]["suspend"] is True
    patches = [call for call in vendors.cluster.calls if call[1] == "PATCH"]
    assert patches and patches[0][0] == "alice"
    assert ok(vendors.qianfan("StopEvalTask", {"taskId": task_id})) == {}
    assert len([call for call in vendors.cluster.calls if call[1] == "PATCH"]) == 1
    task["status"] = {"state": "Succeeded"}
    finished = ok(vendors.qianfan("CreateEvalTask", CREATE))
    stored(vendors, finished)["status"] = {"state": "Succeeded"}
    assert ok(vendors.qianfan("StopEvalTask", {"taskId": finished})) == {}
    assert "suspend" not in stored(vendors, finished)["spec"]  # an ended task is left alone
    assert ok(vendors.qianfan("DeleteEvalTask", {"taskId": task_id})) == {}
    assert all(t["metadata"]["uid"] != task_id for t in vendors.cluster.of(TASKS))
    refused(vendors.qianfan("DescribeEvalTask", {"taskId": task_id}), 404, "NoSuchKey")


def test_refusals_are_qianfans_and_change_nothing(vendors: Vendors) -> None:
    task_id = ok(vendors.qianfan("CreateEvalTask", CREATE))
    before = copy.deepcopy(vendors.cluster.objects)
    calls = len(vendors.cluster.calls)
    refused(vendors.qianfan("CreateEvalTask", CREATE, token=None), 401, "AccessDenied", "signed")
    refused(vendors.qianfan("CreateEvalTask", CREATE, token="forged"), 401, "AccessDenied")
    refused(
        vendors.qianfan("CreateEvalTask", CREATE, token="nobody"),
        403,
        "AccessDenied",
        "nobody may not create evaltasks",
    )
    refused(
        vendors.qianfan("StopEvalTask", {"taskId": task_id}, token="viewer"),
        403,
        "AccessDenied",
        "patch",
    )
    refused(
        vendors.qianfan("DeleteEvalTask", {"taskId": task_id}, token="viewer"), 403, "AccessDenied"
    )
    refused(
        vendors.qianfan("DescribeEvalTask", {"taskId": task_id}, Authorization="Basic eDp5"),
        400,
        "InvalidHTTPAuthHeader",
    )
    assert vendors.cluster.objects == before
    assert len(vendors.cluster.calls) == calls  # refused before any call as the caller
    assert ok(vendors.qianfan("DescribeEvalTask", {"taskId": task_id}, token="viewer"))


# -- access keys -----------------------------------------------------------------------------


def signed_headers(
    action: str, secret: str = "SKTEST", *, access_key: str = "AKTEST", age: float = 0
) -> dict[str, str]:
    """What the qianfan SDK sends, for TestClient's host (signed ``age`` seconds ago)."""
    date = time.strftime(bce_auth.TIME_FORMAT, time.gmtime(time.time() - age))
    headers = {
        "Content-Type": "application/json",
        "Host": "testserver",
        "request-source": "qianfan_py_sdk_v0.4.12.3",
        "x-bce-date": date,
    }
    names = ("content-type", "host", "request-source", "x-bce-date")
    prefix = f"bce-auth-v1/{access_key}/{date}/300"
    request = bce_auth.canonical_request("POST", "/v2/eval", [("Action", action)], headers, names)
    headers["Authorization"] = (
        f"{prefix}/{';'.join(names)}/{bce_auth.sign(secret, prefix, request)}"
    )
    return headers


def test_an_access_key_acts_as_its_service_account(vendors: Vendors) -> None:
    client = vendors.client(None)
    created = client.post(
        "/v2/eval?Action=CreateEvalTask", json=CREATE, headers=signed_headers("CreateEvalTask")
    )
    task_id = ok(created)
    account = f"system:serviceaccount:{NS}:evaluator"
    assert [u for u, m, _ in vendors.cluster.calls if m == "POST"] == [account]
    assert vendors.cluster.minted == [(NS, "evaluator")]
    assert (account, "create") in {(u, check.verb) for u, check in vendors.cluster.reviews}
    described = client.post(
        "/v2/eval?Action=DescribeEvalTask",
        json={"taskId": task_id},
        headers=signed_headers("DescribeEvalTask"),
    )
    assert ok(described)["taskId"] == task_id
    assert vendors.cluster.minted == [(NS, "evaluator")]  # the minted token is reused

    before = copy.deepcopy(vendors.cluster.objects)
    wrong = client.post(
        "/v2/eval?Action=DescribeEvalTask",
        json={"taskId": task_id},
        headers=signed_headers("DescribeEvalTask", "SK-wrong"),
    )
    refused(wrong, 400, "SignatureDoesNotMatch")
    replayed = signed_headers("DescribeEvalTask")
    refused(
        client.post("/v2/eval?Action=DeleteEvalTask", json={"taskId": task_id}, headers=replayed),
        400,
        "SignatureDoesNotMatch",
    )
    stale = signed_headers("DescribeEvalTask", age=301)  # the SDK signs for 300 s
    refused(
        client.post("/v2/eval?Action=DescribeEvalTask", json={"taskId": task_id}, headers=stale),
        400,
        "RequestExpired",
    )
    unsigned_host = signed_headers("DescribeEvalTask")
    unsigned_host["Authorization"] = unsigned_host["Authorization"].replace(
        "content-type;host;", "content-type;"
    )
    refused(
        client.post(
            "/v2/eval?Action=DescribeEvalTask", json={"taskId": task_id}, headers=unsigned_host
        ),
        400,
        "InvalidHTTPAuthHeader",
        "host",
    )
    unknown = signed_headers("DescribeEvalTask", access_key="AKNONE")
    refused(
        client.post("/v2/eval?Action=DescribeEvalTask", json={"taskId": task_id}, headers=unknown),
        403,
        "InvalidAccessKeyId",
    )
    assert vendors.cluster.objects == before


def test_an_access_key_cannot_do_more_than_its_account(vendors: Vendors) -> None:
    vendors.cluster.add_service_account(NS, "reader", ("get", TASKS, NS))
    vendors.cluster.add_access_key("AKREAD", "SKREAD", f"{NS}/reader", name="reader-key")
    client = vendors.client(None)
    headers = signed_headers("CreateEvalTask", "SKREAD", access_key="AKREAD")
    response = client.post("/v2/eval?Action=CreateEvalTask", json=CREATE, headers=headers)
    refused(response, 403, "AccessDenied", f"system:serviceaccount:{NS}:reader may not create")
    assert vendors.cluster.of(TASKS) == [] and vendors.cluster.minted == []


def test_the_vendor_apis_can_be_turned_off(vendors: Vendors) -> None:
    """MODELEVAL_CONSOLE_VENDOR_APIS (vendor_apis): none serves no vendor route, zstack only
    ZStack's, an unknown name fails."""
    settings = vendors.services.settings
    assert vendor_routers(replace(settings, vendor_apis=()), vendors.cluster) == []
    [only] = vendor_routers(replace(settings, vendor_apis=("zstack",)), vendors.cluster)
    assert all(route.path.startswith("/zstack/") for route in only.routes)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="unknown aws"):
        vendor_routers(replace(settings, vendor_apis=("aws",)), vendors.cluster)


# -- the console settings of the vendor APIs -------------------------------------------------


def served(vendors: Vendors, token: str | None = "alice", **changes: Any) -> TestClient:
    """The same console and cluster, its vendor APIs built with these settings changed."""
    settings = replace(vendors.services.settings, **changes)
    app = create_app(vendors.services, routers=vendor_routers(settings, vendors.cluster))
    return TestClient(app, headers={"Authorization": f"Bearer {token}"} if token else {})


def test_a_task_created_by_a_bearer_token_goes_to_the_vendor_namespace(vendors: Vendors) -> None:
    """MODELEVAL_CONSOLE_VENDOR_NAMESPACE (vendor_namespace): the request names no namespace,
    the token is no ServiceAccount's: the task is created there."""
    other = "team-b"
    vendors.cluster.grant("alice", ("*", TASKS, other), ("*", c.SERVICE_GROUP_PLURAL, other))
    vendors.cluster.grant("alice", ("get", "configmaps", other))
    for group, model_id in (("qwen-7b", "amv-qwen"), ("ernie", "ERNIE-Bot")):
        vendors.cluster.put(c.SERVICE_GROUP_PLURAL, group_manifest(group, other, modelId=model_id))
    vendors.cluster.put("configmaps", configmap("demo-qa-dataset", other))
    here = ok(vendors.qianfan("CreateEvalTask", CREATE))
    assert stored(vendors, here)["metadata"]["namespace"] == NS
    client = served(vendors, vendor_namespace=other)
    there = ok(client.post("/v2/eval?Action=CreateEvalTask", json=CREATE))
    assert stored(vendors, there)["metadata"]["namespace"] == other


def test_the_vendor_body_limit_is_the_setting(vendors: Vendors) -> None:
    """MODELEVAL_CONSOLE_VENDOR_MAX_BODY_BYTES (vendor_max_body_bytes): a body over it is
    refused before it is read, in each vendor's error shape."""
    body = {"taskId": "0" * 200}
    refused(vendors.qianfan("DescribeEvalTask", body), 404, "NoSuchKey")  # 1 MiB by default
    small = served(vendors, vendor_max_body_bytes=100)
    refused(small.post("/v2/eval?Action=DescribeEvalTask", json=body), 413, "EntityTooLarge", "100")
    zstack = served(vendors, None, vendor_max_body_bytes=100)
    put = zstack.put(
        "/zstack/v1/ai/model-services/eval/u-1",
        json={"name": "x" * 200},
        headers={"Authorization": "OAuth alice"},
    )
    assert put.status_code == 413, put.text


def signed_describe(client: TestClient, *, age: float = 0) -> Any:
    """DescribeEvalTask of a task that does not exist, signed by AKTEST ``age`` seconds ago:
    404 once the signature is accepted."""
    headers = signed_headers("DescribeEvalTask", age=age)
    return client.post("/v2/eval?Action=DescribeEvalTask", json={"taskId": "0000"}, headers=headers)


def test_the_signature_max_age_caps_a_signatures_own_expiry(vendors: Vendors) -> None:
    """MODELEVAL_CONSOLE_SIGNATURE_MAX_AGE_SECONDS (signature_max_age_seconds): a request the
    SDK signed for 300 s, two minutes ago, passes at 3600 (the default) and expired at 60."""
    refused(signed_describe(served(vendors, None), age=120), 404, "NoSuchKey")
    strict = served(vendors, None, signature_max_age_seconds=60)
    refused(signed_describe(strict, age=120), 400, "RequestExpired")
    refused(signed_describe(strict, age=30), 404, "NoSuchKey")


def test_without_an_access_key_namespace_signatures_are_refused(vendors: Vendors) -> None:
    """MODELEVAL_CONSOLE_ACCESS_KEY_NAMESPACE (access_key_namespace): the namespace of the
    access-key Secrets; unset, AK/SK signatures are refused and bearer tokens still work."""
    keyless = served(vendors, None, access_key_namespace=None)
    message = refused(signed_describe(keyless), 403, "InvalidAccessKeyId", "not enabled")
    assert "MODELEVAL_CONSOLE_ACCESS_KEY_NAMESPACE" in message
    bearer = served(vendors, access_key_namespace=None)
    refused(
        bearer.post("/v2/eval?Action=DescribeEvalTask", json={"taskId": "0000"}), 404, "NoSuchKey"
    )
    # the fixture's key is a Secret in modeleval-system: found there, not in team-b
    refused(signed_describe(served(vendors, None)), 404, "NoSuchKey")
    elsewhere = served(vendors, None, access_key_namespace="team-b")
    refused(signed_describe(elsewhere), 403, "InvalidAccessKeyId")
