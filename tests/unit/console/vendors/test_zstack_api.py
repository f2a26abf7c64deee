"""``/zstack/v1``: DeployModelEvalService with the source document's own curl body, the
queries that read groups and tasks back, and ZStack's error envelope."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from modeleval import constants as c
from tests.support.vendor_app import NS, Vendors
from tests.support.vendors import configmap, zstack_curl_body

UUID = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
GROUPS, TASKS = c.SERVICE_GROUP_PLURAL, c.EVAL_TASK_PLURAL
PLACEHOLDERS = {
    "description": "Qwen 7B served and evaluated",
    "modelUuid": "amv-qwen",
    "zoneUuid": "zone-a",
    "vmImageUuid": "image-7f3e",
    "primaryStorageUuid": "fast-ssd",
    "datasetUuids": "demo-qa-dataset",
    "modelServiceGroupUuids": "qwen-7b",
    "dockerImage": "vllm/vllm-openai:v0.6.3",
    "name": "qwen-eval",
    "type": "LLM",
    "l3NetworkUuids": "eval-net",
    "systemTags": "team::eval",
    "userTags": "owner::anna",
    "taskType": "Quality",
    "prompt": "Answer briefly: {input}",
    "model": "qwen-7b",
    "url": "http://qwen-7b.team-a.svc:8000/v1",
    "api": "openai-chat",
    "clusterUuid": "gpu-pool-1",
    "rootDiskOfferingUuid": "offering-100g",
    "resourceUuid": "res-0001",
    "tagUuids": "tag-0001",
    "serviceLivez": "/health",
    "serviceReadyz": "/v1/models",
    "projectUuid": NS,
}
"""A valid value for each ``<placeholder>`` of the document's curl body (every key and every
number of the body is kept as printed)."""
INVENTORY_FIELDS = {
    "uuid", "modelServiceUuid", "modelUuid", "instances", "datasetRefInventories", "status",
    "modelServiceType", "type", "name", "description", "yaml", "supportMetrics", "exportPath",
    "createDate", "lastOpDate", "limits", "temperature", "topK", "topP", "maxLength",
    "maxNewTokens", "repetitionPenalty",
}  # fmt: skip
TASK_FIELDS = {
    "uuid", "name", "type", "description", "percentage", "opaque", "status",
    "modelServiceGroupUuid", "evaluatedServiceGroupUuid", "datasetUuid", "limits",
    "maxNewTokens", "topK", "temperature", "topP", "prompt", "repetitionPenalty", "maxLength",
    "model", "url", "parallel", "logEveryQuery", "api", "requestHeaders", "connectTimeout",
    "readTimeout", "totalScore", "endTime", "createDate", "lastOpDate",
}  # fmt: skip
"""The inventories' fields, as the source document lists them."""


def fill(value: Any, key: str) -> Any:
    if isinstance(value, list):
        return [fill(v, key) for v in value]
    if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
        assert value == f"<{key}>", value
        return PLACEHOLDERS[key]
    return value


def curl_body() -> dict[str, Any]:
    raw = zstack_curl_body()
    body = {key: fill(value, key) for key, value in raw.items()}
    assert set(body) == set(raw) and "<" not in json.dumps(body)
    return body


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def refused(response: Any, status: int, code: str, *words: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code, body
    for word in words:
        assert word in body["error"]["details"], body
    assert "Traceback" not in response.text
    return str(body["error"]["details"])


def query(vendors: Vendors, path: str, token: str = "alice", **params: Any) -> Any:
    client = vendors.client(None, Authorization=f"OAuth {token}")
    return client.get(f"/zstack/v1/{path}", params=params)


def test_the_documents_curl_body_deploys_a_group_and_its_tasks(vendors: Vendors) -> None:
    body = curl_body()
    answer = ok(vendors.zstack_put(UUID, body))
    assert answer["success"] is True and answer["error"] is None
    inventory, tasks = answer["inventory"], answer["tasks"]
    assert set(inventory) == INVENTORY_FIELDS
    assert inventory["uuid"] == UUID and inventory["name"] == "qwen-eval"
    assert inventory["limits"] == 1 and inventory["temperature"] == 1
    assert inventory["datasetRefInventories"][0]["datasetUuid"] == "demo-qa-dataset"
    assert inventory["createDate"].endswith(("AM", "PM"))
    assert [set(t) for t in tasks] == [TASK_FIELDS]
    [task] = tasks
    assert task["status"] == "Queued" and task["datasetUuid"] == "demo-qa-dataset"
    assert task["modelServiceGroupUuid"] == UUID
    qwen = vendors.cluster.get(GROUPS, NS, "qwen-7b")
    assert qwen is not None
    assert task["evaluatedServiceGroupUuid"] == qwen["metadata"]["uid"].replace("-", "")
    assert (task["limits"], task["prompt"], task["connectTimeout"]) == (1, body["prompt"], 1)

    group = vendors.cluster.get(GROUPS, NS, "qwen-eval")
    assert group is not None
    spec = group["spec"]
    assert group["metadata"]["labels"]["modeleval.io/zstack-uuid"] == UUID
    assert spec["image"] == "vllm/vllm-openai:v0.6.3" and spec["modelId"] == "amv-qwen"
    assert spec["resources"] == {
        "limits": {"cpu": 1, "memory": 1, "ephemeralStorage": 1},
        "requests": {"cpu": 1, "memory": 1},
    }
    assert spec["health"] == {
        "livenessPath": "/health",
        "readinessPath": "/v1/models",
        "bootTimeSeconds": 10,  # 1 s raised to the shortest boot time a probe allows
    }
    assert spec["placement"] == {
        "zone": "zone-a",
        "nodeSelector": {"modeleval.io/cluster": "gpu-pool-1"},
        "networks": ["eval-net"],
    }
    assert spec["modelCache"] == {"storageClassName": "fast-ssd"}
    assert spec["podLabels"] == {"team": "eval", "owner": "anna"}
    assert spec["serving"] == {"servedModelName": "qwen-7b", "api": "openai-chat"}
    evaluation = spec["evaluation"]
    assert evaluation["targets"] == ["qwen-7b"] and evaluation["taskType"] == "Quality"
    assert evaluation["client"] == {
        "parallel": 1,
        "logEveryQuery": 1,
        "connectTimeoutSeconds": 1,
        "readTimeoutSeconds": 1,
    }
    kept = json.loads(group["metadata"]["annotations"]["modeleval.io/zstack-fields"])
    assert kept == {
        "vmImageUuid": "image-7f3e",
        "rootDiskOfferingUuid": "offering-100g",
        "resourceUuid": "res-0001",
        "projectUuid": NS,
    }
    [stored_task] = vendors.cluster.of(TASKS)
    assert stored_task["metadata"]["ownerReferences"][0]["uid"] == group["metadata"]["uid"]
    writers = {user for user, method, _ in vendors.cluster.calls if method in ("POST", "PUT")}
    assert writers == {"alice"}


def test_two_datasets_make_two_tasks_read_back_by_the_queries(vendors: Vendors) -> None:
    vendors.cluster.put("configmaps", configmap("second-set", NS, **{"b.jsonl": "{}"}))
    body = {**curl_body(), "datasetUuids": ["demo-qa-dataset", "second-set"]}
    answer = ok(vendors.zstack_put(UUID, {"params": body}))  # the SDKs' wrapped form
    uuids = sorted(t["uuid"] for t in answer["tasks"])
    assert len(uuids) == 2

    groups = ok(query(vendors, f"ai/model-eval-services/instances/groups/{UUID}"))
    assert [g["uuid"] for g in groups["inventories"]] == [UUID]
    listed = ok(
        query(
            vendors,
            "model-evaluation-tasks",
            q=f"modelServiceGroupUuid={UUID}",
            replyWithCount="true",
        )
    )
    assert listed["total"] == 2 and sorted(t["uuid"] for t in listed["inventories"]) == uuids
    one = ok(query(vendors, f"model-evaluation-tasks/{uuids[0]}"))
    assert [t["uuid"] for t in one["inventories"]] == [uuids[0]]
    by_dataset = ok(query(vendors, "model-evaluation-tasks", q="datasetUuid=second-set"))
    assert [t["datasetUuid"] for t in by_dataset["inventories"]] == ["second-set"]
    assert ok(query(vendors, "model-evaluation-tasks", q="datasetUuid~=sec%", count="true")) == {
        "total": 1
    }
    page = ok(query(vendors, "model-evaluation-tasks", limit=1, start=1, sort="+name"))
    names = sorted(t["metadata"]["name"] for t in vendors.cluster.of(TASKS))
    assert [t["name"] for t in page["inventories"]] == names[1:2]
    fields = ok(query(vendors, "model-evaluation-tasks", fields="uuid,status"))
    assert all(set(t) == {"uuid", "status"} for t in fields["inventories"])
    assert ok(query(vendors, "model-evaluation-tasks/ffff")) == {"inventories": []}
    # someone with no rights in the namespace sees nothing (ZStack: an empty query)
    assert ok(query(vendors, "model-evaluation-tasks", token="nobody")) == {"inventories": []}


def test_putting_the_same_uuid_again_updates_the_group(vendors: Vendors) -> None:
    body = curl_body()
    first = ok(vendors.zstack_put(UUID, body))
    vendors.cluster.put("configmaps", configmap("second-set", NS, **{"b.jsonl": "{}"}))
    body.update(datasetUuids=["demo-qa-dataset", "second-set"], limits=50, name="renamed")
    second = ok(vendors.zstack_put(UUID, body))
    assert second["inventory"]["uuid"] == UUID
    assert second["inventory"]["limits"] == 50 and second["inventory"]["name"] == "renamed"
    assert len(second["tasks"]) == 2
    assert first["tasks"][0]["uuid"] in {t["uuid"] for t in second["tasks"]}
    assert len(vendors.cluster.of(GROUPS)) == 3  # qwen-7b, ernie and this one: no second
    group = vendors.cluster.get(GROUPS, NS, "qwen-eval")
    assert group is not None and group["spec"]["evaluation"]["limits"] == 50
    annotations = group["metadata"]["annotations"]
    assert annotations["modeleval.io/display-name"] == "renamed"  # the name cannot change
    assert [m for _, m, p in vendors.cluster.calls if p.endswith("/qwen-eval")].count("PUT") == 1
    refused(
        vendors.zstack_put(UUID, {**body, "projectUuid": "elsewhere"}),
        400,
        "SYS.1007",
        "projectUuid",
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda b: b.pop("limits"), ("limits", "Field required")),
        (lambda b: b.update(limits="1"), ("limits", "valid integer")),
        (lambda b: b.update(temperature=True), ("temperature",)),
        (lambda b: b.update(prompt="no placeholder"), ("prompt", "{input}")),
        (lambda b: b.update(datasetUuids=["demo-qa-dataset", "missing-set"]), ("datasetUuids[1]",)),
        (lambda b: b.update(modelServiceGroupUuids=["ghost"]), ("modelServiceGroupUuids[0]",)),
        (lambda b: b.update(api="grpc"), ("api", "openai-chat")),
        (lambda b: b.update(taskType="Speed"), ("taskType",)),
        (lambda b: b.update(dockerImage=None, vmImageUuid=None), ("dockerImage", "required")),
        (lambda b: b.update(projectUuid="Not A Namespace"), ("projectUuid",)),
        (lambda b: b.update(requestHeaders={"X": 1}), ("requestHeaders.X",)),
        (lambda b: b.update(params=[1]), ("params",)),
    ],
)
def test_bad_bodies_name_the_field_and_change_nothing(
    vendors: Vendors, change: Any, words: tuple[str, ...]
) -> None:
    body = curl_body()
    change(body)
    before = copy.deepcopy(vendors.cluster.objects)
    refused(vendors.zstack_put(UUID, body), 400, "SYS.1007", *words)
    assert vendors.cluster.objects == before


def test_refusals_are_zstacks_and_change_nothing(vendors: Vendors) -> None:
    before = copy.deepcopy(vendors.cluster.objects)
    client = vendors.client(None)
    put = f"/zstack/v1/ai/model-services/eval/{UUID}"
    refused(client.put(put, json=curl_body()), 401, "ID.1001", "missing header 'Authorization'")
    refused(
        client.put(put, json=curl_body(), headers={"Authorization": "ZStack ak:sig"}),
        401,
        "ID.1001",
        "OAuth",
    )
    refused(vendors.zstack_put(UUID, curl_body(), token="forged"), 401, "ID.1001")
    refused(
        vendors.zstack_put(UUID, curl_body(), token="viewer"),
        403,
        "ID.1002",
        "vera may not create modelevalservicegroups",
    )
    refused(vendors.zstack_put("bad uuid!", curl_body()), 400, "SYS.1007", "uuid")
    refused(
        client.put(put, content=b"{oops", headers={"Authorization": "OAuth alice"}),
        400,
        "SYS.1007",
        "not well-formed",
    )
    big = {"limits": 1, "description": "x" * 2_000_000}
    refused(vendors.zstack_put(UUID, big), 413, "SYS.1007")
    refused(query(vendors, "model-evaluation-tasks", q="colour=red"), 400, "SYS.1007", "colour")
    refused(query(vendors, "model-evaluation-tasks", q="status"), 400, "SYS.1007", "q")
    refused(query(vendors, "model-evaluation-tasks", limit="-1"), 400, "SYS.1007", "limit")
    assert vendors.cluster.objects == before


def test_a_name_taken_by_another_group_is_a_conflict(vendors: Vendors) -> None:
    body = {**curl_body(), "name": "qwen-7b"}  # an existing group without this uuid
    before = copy.deepcopy(vendors.cluster.objects)
    refused(vendors.zstack_put(UUID, body), 409, "SYS.1006", "already exists")
    assert vendors.cluster.objects == before
