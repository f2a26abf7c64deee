"""The Table format: printer-column JSONPaths, cell types and ages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from modeleval_testkit.apiserver.resources import Registry, from_crd
from modeleval_testkit.apiserver.tables import human_age, jsonpath, table
from modeleval_testkit.apiserver.testcrd import widget, widget_crd


def stamp(seconds_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_jsonpath_subset() -> None:
    obj = {"a": {"b": [{"c": 1}, {"c": 2}], "d.e": "x"}}
    assert jsonpath(obj, ".a.b[1].c") == 2
    assert jsonpath(obj, "{.a.b[0].c}") == 1
    assert jsonpath(obj, ".a['d.e']") == "x"
    assert jsonpath(obj, ".a.b[5].c") is None
    assert jsonpath(obj, ".missing.x") is None


def test_human_age() -> None:
    assert human_age(stamp(5)) in ("5s", "6s")
    assert human_age(stamp(300)) == "5m"
    assert human_age(stamp(3 * 3600)) == "3h"
    assert human_age(stamp(3 * 86400)) == "3d"


def test_crd_printer_columns() -> None:
    info = from_crd(widget_crd())[0]
    obj = widget("t", size=4, parts=[{"name": "p1"}])
    obj["metadata"]["creationTimestamp"] = stamp(30)
    obj["status"] = {"phase": "Ready"}
    result = table(info, [obj], "7")
    assert [c["name"] for c in result["columnDefinitions"]] == [
        "Name",
        "Size",
        "Phase",
        "First",
        "Age",
    ]
    assert result["columnDefinitions"][3]["priority"] == 1
    assert result["rows"][0]["cells"][:4] == ["t", 4, "Ready", "p1"]
    assert result["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    assert "object" not in table(info, [obj], "7", include="None")["rows"][0]


def test_builtin_columns() -> None:
    info = Registry().lookup("", "v1", "pods")
    assert info is not None
    pod = {"metadata": {"name": "p", "creationTimestamp": stamp(1)}, "status": {"phase": "Running"}}
    result = table(info, [pod], "1")
    assert [c["name"] for c in result["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert result["rows"][0]["cells"][:2] == ["p", "Running"]
