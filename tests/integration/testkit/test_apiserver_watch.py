"""Watch streams of the API emulator: replay, live events, 410, timeouts, selectors, bookmarks."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from modeleval_testkit.apiserver import ThreadedApiServer, run_in_thread

CMS = "/api/v1/namespaces/default/configmaps"
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedApiServer]:
    with run_in_thread(history=50, bookmark_interval=0.2) as running:
        yield running


@pytest.fixture
def api(server: ThreadedApiServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    with httpx.Client(
        base_url=server.url, headers=headers, verify=server.client_ssl_context(), timeout=10
    ) as client:
        yield client


def cm(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": {"v": "0"},
    }


def watch(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    """Run a watch to its end (its timeoutSeconds) and return the events."""
    params = {"watch": "true", "timeoutSeconds": "1", **params}
    with api.stream("GET", CMS, params=params) as response:
        assert response.status_code == 200
        return [json.loads(line) for line in response.iter_lines() if line]


def wait_for_watcher(server: ThreadedApiServer) -> None:
    deadline = time.monotonic() + 10
    while not server.objects.store.watchers.get(("", "configmaps")):
        assert time.monotonic() < deadline, "the watch never started"
        time.sleep(0.02)


def summary(events: list[dict[str, Any]], prefix: str) -> list[tuple[str, str]]:
    return [
        (e["type"], e["object"]["metadata"]["name"])
        for e in events
        if e["type"] != "BOOKMARK" and e["object"]["metadata"]["name"].startswith(prefix)
    ]


def test_watch_from_resource_version_replays_newer_events(api: httpx.Client) -> None:
    rv = api.post(CMS, json=cm("rp-a")).json()["metadata"]["resourceVersion"]
    api.patch(f"{CMS}/rp-a", json={"data": {"v": "1"}}, headers=MERGE)
    api.post(CMS, json=cm("rp-b"))
    api.delete(f"{CMS}/rp-a")
    events = watch(api, resourceVersion=rv)
    assert summary(events, "rp-") == [("MODIFIED", "rp-a"), ("ADDED", "rp-b"), ("DELETED", "rp-a")]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)


def test_watch_without_resource_version_starts_with_current_state(api: httpx.Client) -> None:
    api.post(CMS, json=cm("st-a"))
    api.post(CMS, json=cm("st-b"))
    assert summary(watch(api), "st-") == [("ADDED", "st-a"), ("ADDED", "st-b")]


def test_live_events_reach_the_watcher(api: httpx.Client, server: ThreadedApiServer) -> None:
    start = api.get(CMS).json()["metadata"]["resourceVersion"]
    collected: list[dict[str, Any]] = []
    thread = threading.Thread(
        target=lambda: collected.extend(watch(api, resourceVersion=start, timeoutSeconds="2"))
    )
    thread.start()
    wait_for_watcher(server)
    server.create_object({**cm("live-a"), "metadata": {"name": "live-a", "namespace": "default"}})
    api.patch(f"{CMS}/live-a", json={"data": {"v": "2"}}, headers=MERGE)
    thread.join()
    assert summary(collected, "live-") == [("ADDED", "live-a"), ("MODIFIED", "live-a")]


def test_too_old_resource_version_is_410(api: httpx.Client) -> None:
    rv = api.post(CMS, json=cm("old-a")).json()["metadata"]["resourceVersion"]
    for i in range(60):  # the fixture keeps 50 events per kind
        api.patch(f"{CMS}/old-a", json={"data": {"v": str(i)}}, headers=MERGE)
    events = watch(api, resourceVersion=rv)
    assert len(events) == 1
    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410
    assert events[0]["object"]["reason"] == "Expired"


def test_timeout_ends_the_stream(api: httpx.Client) -> None:
    started = time.monotonic()
    watch(
        api, timeoutSeconds="1", resourceVersion=api.get(CMS).json()["metadata"]["resourceVersion"]
    )
    assert 0.9 <= time.monotonic() - started < 3


def test_label_selector_turns_relabels_into_added_and_deleted(
    api: httpx.Client, server: ThreadedApiServer
) -> None:
    rv = api.post(CMS, json=cm("lb-a", {"app": "x"})).json()["metadata"]["resourceVersion"]
    api.post(CMS, json=cm("lb-other", {"app": "y"}))
    api.patch(f"{CMS}/lb-a", json={"metadata": {"labels": {"app": "z"}}}, headers=MERGE)
    api.patch(f"{CMS}/lb-a", json={"metadata": {"labels": {"app": "x"}}}, headers=MERGE)
    live: list[dict[str, Any]] = []
    thread = threading.Thread(
        target=lambda: live.extend(watch(api, labelSelector="app=x", timeoutSeconds="2"))
    )
    thread.start()
    wait_for_watcher(server)
    api.patch(f"{CMS}/lb-a", json={"metadata": {"labels": {"app": "q"}}}, headers=MERGE)
    api.patch(f"{CMS}/lb-a", json={"metadata": {"labels": {"app": "x"}}}, headers=MERGE)
    thread.join()
    assert summary(live, "lb-") == [("ADDED", "lb-a"), ("DELETED", "lb-a"), ("ADDED", "lb-a")]
    replay = watch(api, labelSelector="app=x", resourceVersion=rv)
    assert ("ADDED", "lb-other") not in summary(replay, "lb-")


def test_field_selector_on_name(api: httpx.Client) -> None:
    rv = api.post(CMS, json=cm("fs-a")).json()["metadata"]["resourceVersion"]
    api.post(CMS, json=cm("fs-b"))
    api.patch(f"{CMS}/fs-a", json={"data": {"v": "9"}}, headers=MERGE)
    events = watch(api, resourceVersion=rv, fieldSelector="metadata.name=fs-a")
    assert summary(events, "fs-") == [("MODIFIED", "fs-a")]


def test_bookmarks_when_allowed(api: httpx.Client) -> None:
    rv = api.get(CMS).json()["metadata"]["resourceVersion"]
    events = watch(api, resourceVersion=rv, allowWatchBookmarks="true")
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert bookmarks
    assert bookmarks[0]["object"]["kind"] == "ConfigMap"
    assert int(bookmarks[0]["object"]["metadata"]["resourceVersion"]) >= int(rv)
    assert not [e for e in watch(api, resourceVersion=rv) if e["type"] == "BOOKMARK"]


def test_send_initial_events_ends_with_marked_bookmark(api: httpx.Client) -> None:
    api.post(CMS, json=cm("ie-a"))
    events = watch(
        api,
        sendInitialEvents="true",
        allowWatchBookmarks="true",
        resourceVersionMatch="NotOlderThan",
    )
    marks = [
        i
        for i, e in enumerate(events)
        if e["type"] == "BOOKMARK"
        and e["object"]["metadata"].get("annotations", {}).get("k8s.io/initial-events-end")
        == "true"
    ]
    assert marks
    assert ("ADDED", "ie-a") in summary(events[: marks[0]], "ie-")


def test_table_watch_sends_columns_once(api: httpx.Client) -> None:
    rv = api.post(CMS, json=cm("tb-a")).json()["metadata"]["resourceVersion"]
    api.post(CMS, json=cm("tb-b"))
    api.post(CMS, json=cm("tb-c"))
    headers = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
    params = {"watch": "true", "timeoutSeconds": "1", "resourceVersion": rv}
    with api.stream("GET", CMS, params=params, headers=headers) as response:
        events = [json.loads(line) for line in response.iter_lines() if line]
    tables = [e["object"] for e in events]
    assert [t["kind"] for t in tables] == ["Table", "Table"]
    assert tables[0]["columnDefinitions"][0]["name"] == "Name"
    assert tables[1]["columnDefinitions"] == []
    assert [t["rows"][0]["cells"][0] for t in tables] == ["tb-b", "tb-c"]
