"""Patch formats of the API emulator, as pure functions: merge, JSON and strategic merge."""

from __future__ import annotations

import pytest

from modeleval_testkit.apiserver.errors import ApiError
from modeleval_testkit.apiserver.patches import json_patch, merge_patch, strategic_merge


def test_merge_patch_merges_objects_and_deletes_nulls() -> None:
    target = {"a": {"b": 1, "c": 2}, "d": [1, 2], "e": 1}
    assert merge_patch(target, {"a": {"b": None, "x": 3}, "d": [3], "e": None}) == {
        "a": {"c": 2, "x": 3},
        "d": [3],
    }
    assert target == {"a": {"b": 1, "c": 2}, "d": [1, 2], "e": 1}


def test_json_patch_operations() -> None:
    doc = {"a": [1, 2], "b": {"c": "x"}, "k/e~y": 1}
    result = json_patch(
        doc,
        [
            {"op": "add", "path": "/a/-", "value": 3},
            {"op": "add", "path": "/a/0", "value": 0},
            {"op": "replace", "path": "/b/c", "value": "y"},
            {"op": "remove", "path": "/k~1e~0y"},
            {"op": "copy", "from": "/b", "path": "/c"},
            {"op": "move", "from": "/c/c", "path": "/d"},
            {"op": "test", "path": "/d", "value": "y"},
        ],
    )
    assert result == {"a": [0, 1, 2, 3], "b": {"c": "y"}, "c": {}, "d": "y"}
    assert doc["a"] == [1, 2]


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "test", "path": "/a", "value": 2}],
        [{"op": "remove", "path": "/missing"}],
        [{"op": "replace", "path": "/missing", "value": 1}],
        [{"op": "add", "path": "/x/y", "value": 1}],
    ],
)
def test_json_patch_failures_are_422(ops: list[dict[str, object]]) -> None:
    with pytest.raises(ApiError) as caught:
        json_patch({"a": 1}, ops)
    assert caught.value.code == 422


def test_strategic_merge_directives() -> None:
    target = {
        "metadata": {"finalizers": ["a"], "labels": {"x": "1"}},
        "spec": {
            "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}]}],
            "tolerations": [{"key": "k"}],
        },
    }
    patch = {
        "metadata": {"finalizers": ["b"], "labels": {"$patch": "replace", "y": "2"}},
        "spec": {
            "$setElementOrder/containers": [{"name": "c"}],
            "containers": [{"name": "c", "ports": [{"containerPort": 81}]}],
            "tolerations": [{"key": "other"}],
        },
    }
    result = strategic_merge(target, patch)
    assert result["metadata"] == {"finalizers": ["a", "b"], "labels": {"y": "2"}}
    assert result["spec"]["containers"] == [
        {"name": "c", "image": "i", "ports": [{"containerPort": 80}, {"containerPort": 81}]}
    ]
    assert result["spec"]["tolerations"] == [{"key": "other"}]  # no merge key: replaced
    removed = strategic_merge(result["metadata"], {"$deleteFromPrimitiveList/finalizers": ["a"]})
    assert removed["finalizers"] == ["b"]
