"""The vendor APIs' pure parts: identifiers, dataset ids, access-key Secrets, ZStack queries."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from modeleval.console.vendors import ids
from modeleval.console.vendors.access_keys import (
    ACCESS_KEY_TYPE,
    AccessKey,
    AccessKeyBook,
    parse_secret,
    service_account_of,
)
from modeleval.console.vendors.errors import VendorError
from modeleval.console.vendors.zstack.query import parse_query, run_query
from tests.support.vendors import FakeCluster


def test_task_and_group_ids_come_from_the_objects() -> None:
    task = {"metadata": {"uid": "8E1F3A52-6f0e-4f55-9d55-3f3c0f6f0001"}}
    assert ids.qianfan_task_id(task) == "8E1F3A52-6f0e-4f55-9d55-3f3c0f6f0001"
    assert ids.zstack_task_uuid(task) == "8e1f3a526f0e4f559d553f3c0f6f0001"
    assert ids.has_id(task, "8e1f3a526f0e4f559d553f3c0f6f0001")
    assert ids.has_id(task, "8e1f3a52-6f0e-4f55-9d55-3f3c0f6f0001")
    assert not ids.has_id(task, "") and not ids.has_id(task, "8e1f3a52")
    group = {"metadata": {"uid": "aa-bb", "labels": {ids.ZSTACK_UUID_LABEL: "Zs-1"}}}
    assert ids.zstack_group_uuid(group) == "Zs-1"
    assert ids.has_id(group, "zs1", group=True) and ids.has_id(group, "aabb", group=True)
    assert not ids.has_id(group, "zs1")  # tasks are never found by a group label
    named = {"metadata": {"name": "qwen", "uid": "u-1"}, "spec": {"modelId": "amv-1"}}
    assert [ids.group_matches(named, ref) for ref in ("qwen", "amv-1", "u1", "x")] == [3, 2, 1, 0]


@pytest.mark.parametrize(
    ("value", "source", "configmap"),
    [
        ("s3://bucket/path/a.jsonl", {"s3": {"url": "s3://bucket/path/a.jsonl"}}, None),
        ("bos:/aip-static/123", {"s3": {"url": "s3://aip-static/123"}}, None),
        ("bos://aip-static/123", {"s3": {"url": "s3://aip-static/123"}}, None),
        ("https://data.example.com/qa.jsonl", {"url": "https://data.example.com/qa.jsonl"}, None),
        (
            "pvc:archive/runs/a.jsonl",
            {"pvc": {"claimName": "archive", "path": "runs/a.jsonl"}},
            None,
        ),
        ("sets/qa.jsonl", {"configMap": {"name": "sets", "key": "qa.jsonl"}}, None),
        ("ds-mwmk3mwk", None, "ds-mwmk3mwk"),
    ],
)
def test_dataset_ids(value: str, source: dict[str, Any] | None, configmap: str | None) -> None:
    assert ids.dataset_source(value) == (source, configmap)
    if source is not None:
        spec = ids.dataset_spec(value, source)
        assert ids.dataset_id(spec) == value  # named by the id: read back the same
        assert ids.dataset_id(source) in (value, source.get("s3", {}).get("url"))


@pytest.mark.parametrize(
    "value", ["s3://bucket", "bos:/", "pvc:Bad_Claim/x", "pvc:claim", "UPPER", "a/b/c", "sp ace"]
)
def test_bad_dataset_ids_say_what_an_id_may_be(value: str) -> None:
    with pytest.raises(ValueError):
        ids.dataset_source(value)


def test_a_configmaps_dataset_key() -> None:
    one = {"metadata": {"name": "a"}, "data": {"qa.jsonl": ""}}
    assert ids.configmap_key(one) == "qa.jsonl"
    two: dict[str, Any] = {"metadata": {"name": "b"}, "data": {"x": "", "y": ""}}
    with pytest.raises(ValueError, match="2 keys"):
        ids.configmap_key(two)
    two["metadata"]["annotations"] = {ids.DATASET_KEY_ANNOTATION: "y"}
    assert ids.configmap_key(two) == "y"
    two["metadata"]["annotations"] = {ids.DATASET_KEY_ANNOTATION: "z"}
    with pytest.raises(ValueError, match="does not hold"):
        ids.configmap_key(two)


def secret(**changes: Any) -> dict[str, Any]:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    base: dict[str, Any] = {
        "metadata": {"name": "k", "annotations": {"modeleval.io/service-account": "team/sa"}},
        "type": ACCESS_KEY_TYPE,
        "data": {"accessKey": b64("AK1"), "secretKey": b64("SK1")},
    }
    base.update(changes)
    return base


def test_access_key_secrets() -> None:
    assert parse_secret(secret()) == AccessKey("AK1", "SK1", "team", "sa", "k")
    assert "type" in str(parse_secret(secret(type="Opaque")))
    assert "accessKey" in str(parse_secret(secret(data={"accessKey": "!!"})))
    assert "annotation" in str(parse_secret(secret(metadata={"name": "k"})))
    assert service_account_of("system:serviceaccount:ns:sa") == ("ns", "sa")
    assert service_account_of("ns/sa") == ("ns", "sa")
    assert service_account_of("sa") is None and service_account_of("a/b/c") is None


def test_the_key_book_rereads_for_unknown_keys_at_most_once_a_second() -> None:
    cluster = FakeCluster()
    cluster.add_access_key("AK1", "SK1", "team/sa")
    now = [0.0]
    book = AccessKeyBook(cluster, "modeleval-system", clock=lambda: now[0])
    assert book.find("AK1") is not None
    cluster.add_access_key("AK2", "SK2", "team/sa", name="second")
    assert book.find("AK2") is None  # read 0 s ago
    now[0] = 1.5
    assert book.find("AK2") is not None  # unknown: read again
    cluster.secrets.clear()
    now[0] = 5.0
    assert book.find("AK1") is not None  # known and fresh
    now[0] = 20.0
    assert book.find("AK1") is None  # deleted Secret: revoked once stale
    assert AccessKeyBook(cluster, None).find("AK1") is None


INVENTORIES = [
    {"uuid": "a", "name": "alpha", "status": "Running", "limits": 10, "totalScore": None},
    {"uuid": "b", "name": "beta", "status": "Queued", "limits": 2, "totalScore": 81.5},
    {"uuid": "c", "name": "gamma", "status": "Succeeded", "limits": 30, "totalScore": 90.0},
]
KNOWN = frozenset(INVENTORIES[0])


def run(*q: str, **params: str) -> Any:
    return run_query(INVENTORIES, parse_query(list(q), params, KNOWN))


def names(reply: Any) -> list[str]:
    return [i["name"] for i in reply["inventories"]]


def test_zstack_query_operators() -> None:
    assert names(run("status=Queued")) == ["beta"]
    assert names(run("status!=Queued")) == ["alpha", "gamma"]
    assert names(run("limits>5")) == ["alpha", "gamma"]  # numbers compare as numbers
    assert names(run("limits<=10", "status?=Running,Queued")) == ["alpha", "beta"]
    assert names(run("status!?=Running,Queued")) == ["gamma"]
    assert names(run("name~=%a%a")) == ["alpha", "gamma"]
    assert names(run("name!~=_eta")) == ["alpha", "gamma"]
    assert names(run("totalScore is null")) == ["alpha"]
    assert names(run("totalScore not null", sort="-totalScore")) == ["gamma", "beta"]
    assert run(count="true") == {"total": 3}
    assert run(limit="1", start="1", sort="+name", replyWithCount="true") == {
        "inventories": [INVENTORIES[1]],
        "total": 3,
    }


@pytest.mark.parametrize(
    ("q", "params", "field"),
    [
        (["nothing"], {}, "q"),
        (["size=3"], {}, "q"),
        ([], {"sort": "name"}, "sort"),
        ([], {"limit": "ten"}, "limit"),
        ([], {"limit": "\u00b2"}, "limit"),  # a digit to str.isdigit, not to int() (fuzzing)
        ([], {"start": "\u0663"}, "start"),  # an Arabic-Indic three: not a query's number
        ([], {"fields": "uuid,colour"}, "fields"),
    ],
)
def test_bad_queries_name_the_parameter(q: list[str], params: dict[str, str], field: str) -> None:
    with pytest.raises(VendorError) as caught:
        parse_query(q, params, KNOWN)
    assert caught.value.field == field
