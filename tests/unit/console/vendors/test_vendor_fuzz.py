"""Fuzzing the vendor APIs' request bodies: whatever arrives — any JSON, valid requests with a
field dropped or replaced by anything, bytes that are not JSON, any query string — the answer
is the vendor's own envelope with a 4xx status or a success, never a 500 and never a
traceback."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.vendor_app import Vendors
from tests.unit.console.vendors.test_qianfan_api import CREATE
from tests.unit.console.vendors.test_zstack_api import UUID, curl_body

GSB = {
    **CREATE,
    "evalObjectConfig": {
        "evalModelConfig": {
            "versionId": "demo-qa-dataset/qa.jsonl",
            "evalModelConfigList": [
                {"modelId": "amv-qwen"},
                {"modelId": "qwen-7b", "isBaseline": True},
            ],
        }
    },
    "evalConfig": {"evalMode": "model", "autoModelEvalConfig": {"promptParam": {"maxScore": 5}}},
}
EXISTING = {
    "taskName": "rescore",
    "evalObjectType": "inferDataset",
    "evalObjectConfig": {
        "evalInferDatasetConfig": {
            "evalInferDatasetConfigList": [
                {"inferDatasetId": "s3://bucket/a.jsonl", "isBaseline": False},
                {"inferDatasetId": "demo-qa-dataset", "isBaseline": True},
            ]
        }
    },
    "evalConfig": {"evalMode": "rule,model,manual", "manualEvalConfig": {"evalDimension": []}},
}
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ACTIONS = [
    "CreateEvalTask",
    "DescribeEvalTasks",
    "DescribeEvalTask",
    "StopEvalTask",
    "DeleteEvalTask",
    "Nonsense",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document, as a key path."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


replacements = st.sampled_from([{}, [], None, "", 0, -1, True]) | json_values


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> Any:
    """A valid request with one to three places dropped or replaced by any JSON value."""
    body = copy.deepcopy(valid)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        places = paths(body)
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent: Any = body
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(replacements)
    return body


def vendor_shaped(response: Any, *, qianfan: bool) -> None:
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    body = response.json()
    if response.status_code == 200:
        assert ("result" in body) if qianfan else ("error" not in body or body["error"] is None)
    elif qianfan:
        assert set(body) == {"requestId", "code", "message"}, body
    else:
        assert body["success"] is False and {"code", "description", "details"} <= set(body["error"])


@settings(SETTINGS, max_examples=120)
@given(body=json_values | mutated(CREATE) | mutated(CREATE) | mutated(GSB) | mutated(EXISTING))
def test_qianfan_create_bodies(vendors: Vendors, body: Any) -> None:
    vendor_shaped(vendors.qianfan("CreateEvalTask", body), qianfan=True)


@SETTINGS
@given(
    action=st.sampled_from(ACTIONS),
    body=json_values
    | mutated({"evalType": "auto", "maxKeys": 3, "marker": "x", "keyFilter": "q"})
    | mutated({"taskId": "0", "pageReverse": False}),
)
def test_qianfan_other_bodies(vendors: Vendors, action: str, body: Any) -> None:
    vendor_shaped(vendors.qianfan(action, body), qianfan=True)


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_qianfan_raw_bytes(vendors: Vendors, raw: bytes) -> None:
    client = vendors.client()
    vendor_shaped(client.post("/v2/eval?Action=CreateEvalTask", content=raw), qianfan=True)


@SETTINGS
@given(body=json_values | mutated(curl_body()) | mutated({"params": curl_body()}))
def test_zstack_bodies(vendors: Vendors, body: Any) -> None:
    vendor_shaped(vendors.zstack_put(UUID, body), qianfan=False)


@SETTINGS
@given(
    params=st.lists(
        st.tuples(
            st.sampled_from(["q", "limit", "start", "sort", "fields", "count", "replyWithCount"]),
            st.text(max_size=20),
        ),
        max_size=4,
    ),
    path=st.sampled_from(
        [
            "model-evaluation-tasks",
            "ai/model-eval-services/instances/groups",
            f"model-evaluation-tasks/{UUID}",
        ]
    ),
)
def test_zstack_queries(vendors: Vendors, params: list[tuple[str, str]], path: str) -> None:
    client = vendors.client(None, Authorization="OAuth alice")
    vendor_shaped(client.get(f"/zstack/v1/{path}", params=params), qianfan=False)


def test_the_fuzzed_requests_reach_the_actions(vendors: Vendors) -> None:
    """The valid bodies the mutations start from succeed, so mutations test more than auth."""
    for body in (CREATE, GSB, EXISTING):
        assert vendors.qianfan("CreateEvalTask", body).status_code == 200
    assert vendors.zstack_put(UUID, curl_body()).status_code == 200
    assert json.dumps(CREATE) and paths(CREATE)


@pytest.mark.parametrize("value", [None, [], "x", 1.5, {"a": {}}])
def test_every_top_level_type_is_refused_in_shape(vendors: Vendors, value: Any) -> None:
    vendor_shaped(vendors.qianfan("DescribeEvalTask", value), qianfan=True)
    vendor_shaped(vendors.zstack_put(UUID, value), qianfan=False)
