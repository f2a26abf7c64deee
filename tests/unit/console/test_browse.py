"""Browsing results: task list (filter, sort), task page, item browser (search, metric range,
failed, worst), downloads, comparison, leaderboard, deleted tasks — untrusted text escaped."""

from __future__ import annotations

import csv
import io
import json

from tests.support.console import evaltask, item_records
from tests.support.console_app import Console

SUMMARY = {
    "totalScore": 75.0,
    "metrics": {"accuracy": 75.0},
    "perModel": {
        "m1": {"totalScore": 50.0, "metrics": {"accuracy": 50.0}},
        "m2": {"totalScore": 100.0, "metrics": {"accuracy": 100.0}},
    },
    "definition": "mean of accuracy",
}


def seeded(console: Console) -> dict[str, int]:
    """Three tasks on the same dataset and one elsewhere."""
    ids = {}
    for name, created, score, models in (
        ("old", "2026-11-01T00:00:00Z", 40.0, ("m1",)),
        ("new", "2026-12-01T00:00:00Z", 75.0, ("m1", "m2")),
        ("other", "2026-11-15T00:00:00Z", 90.0, ("m1",)),
    ):
        dataset = {"name": "elsewhere"} if name == "other" else {"name": "qa-set"}
        obj = evaltask(name, models=models, created=created, total_score=score, dataset=dataset)
        console.kube.tasks[("team", name)] = obj
        summary = SUMMARY if name == "new" else None
        ids[name] = console.ingest(obj, item_records(6, models), summary=summary)
    console.services.mirror.run_once()
    return ids


def rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [line for line in body.split("<tr>")[1:]]


def test_task_list_filters_and_sorts(console: Console) -> None:
    seeded(console)
    client = console.browser("viewer")
    newest_first = rows(client.get("/tasks").text)
    assert ["team/new" in r for r in newest_first] == [True, False, False]
    by_score = rows(client.get("/tasks?sort=score&order=asc").text)
    assert "team/old" in by_score[0] and "team/other" in by_score[-1]
    on_dataset = client.get("/tasks?dataset=name:qa-set").text
    assert "team/old" in on_dataset and "team/other" not in on_dataset
    named = client.get("/tasks?q=oth").text
    assert "team/other" in named and "team/old" not in named
    assert "team/new" in client.get("/tasks?model=m2").text
    assert "team/old" not in client.get("/tasks?model=m2").text


def test_task_page_shows_metrics_and_plots(console: Console) -> None:
    ids = seeded(console)
    page = console.browser("viewer").get(f"/tasks/{ids['new']}").text
    assert 'id="metrics"' in page and "100.00" in page and "50.00" in page
    assert page.count("<svg") >= 2  # per-model bars and the accuracy distribution
    assert "mean of accuracy" in page


def test_item_browser_filters(console: Console) -> None:
    ids = seeded(console)
    client = console.browser("viewer")
    base = f"/tasks/{ids['new']}/items"
    everything = client.get(base).text
    assert everything.count('class="item"') == 6
    low = client.get(f"{base}?model=m1&metric=accuracy&low=0&high=10").text
    assert low.count('class="item"') == 3  # m1 is wrong on odd items
    assert "2 · q1" in low and "1 · q0" not in low
    worst = client.get(f"{base}?order=worst").text
    assert worst.index("q1") < worst.index("q0")
    search = client.get(f"{base}?q=question 4").text
    assert search.count('class="item"') == 1
    assert client.get(f"{base}?failed=1").text.count('class="item"') == 0


def test_untrusted_text_is_escaped(console: Console) -> None:
    obj = evaltask("xss")
    console.kube.tasks[("team", "xss")] = obj
    record = item_records(1)[0]
    record["input"] = "<img src=x onerror=alert(1)>"
    record["models"]["m1"]["answer"] = "<script>alert('pwned')</script>"
    task_id = console.ingest(obj, [record])
    page = console.browser("viewer").get(f"/tasks/{task_id}/items").text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_downloads(console: Console) -> None:
    ids = seeded(console)
    client = console.browser("viewer")
    jsonl = client.get(f"/tasks/{ids['new']}/download.jsonl")
    assert jsonl.headers["content-disposition"].startswith("attachment;")
    lines = [json.loads(line) for line in jsonl.text.splitlines()]
    assert [line["id"] for line in lines] == [f"q{i}" for i in range(6)]
    assert lines[1]["models"]["m1"]["metrics"] == {"accuracy": 0.0}
    table = list(csv.DictReader(io.StringIO(client.get(f"/tasks/{ids['new']}/download.csv").text)))
    assert len(table) == 12 and {r["model"] for r in table} == {"m1", "m2"}
    failed_only = client.get(f"/tasks/{ids['new']}/download.jsonl?model=m1&metric=accuracy&high=0")
    assert len(failed_only.text.splitlines()) == 3


def test_compare_two_runs_shows_deltas_and_item_differences(console: Console) -> None:
    ids = seeded(console)
    client = console.browser("viewer")
    page = client.get(f"/compare?run={ids['new']}:m1&run={ids['new']}:m2").text
    assert 'id="comparison"' in page
    assert "+50.0" in page  # m2 against m1: accuracy and totalScore
    differences = page.split('id="differences"', 1)[1]
    keys = [part.split("<", 1)[0] for part in differences.split('<span class="key">')[1:]]
    assert keys[:3] == ["q1", "q3", "q5"]  # where they differ most, first
    assert "+100.0" in differences
    picker = client.get(f"/compare?task={ids['old']}").text
    assert "team/new · m2" in picker  # candidates on the same dataset


def test_leaderboard_ranks_each_models_best_run_per_dataset(console: Console) -> None:
    ids = seeded(console)
    board = console.browser("viewer").get("/leaderboard?dataset=name:qa-set").text
    table = board.split('id="leaderboard"', 1)[1]
    assert table.index("m2") < table.index("m1")
    assert table.count(f'href="/tasks/{ids["old"]}"') == 0  # m1's best run is the newer one
    every = console.browser("viewer").get("/leaderboard?dataset=name:qa-set&all=1").text
    assert f'href="/tasks/{ids["old"]}"' in every


def test_a_deleted_tasks_results_stay_browsable(console: Console) -> None:
    ids = seeded(console)
    del console.kube.tasks[("team", "old")]
    console.services.mirror.run_once()
    client = console.browser("viewer")
    page = client.get(f"/tasks/{ids['old']}").text
    assert 'id="deleted"' in page
    assert client.get(f"/tasks/{ids['old']}/items").text.count('class="item"') == 6
    assert "deleted" in client.get("/tasks?presence=deleted").text


def test_a_display_name_is_searched_and_returned(console: Console) -> None:
    """spec.displayName: the task search finds it, and the API returns it with the task."""
    obj = evaltask("q4-run")
    obj["spec"]["displayName"] = "Quarterly Chinese QA"
    console.kube.tasks[("team", "q4-run")] = obj
    console.ingest(obj, item_records(2))
    other = evaltask("plain")
    console.kube.tasks[("team", "plain")] = other
    console.ingest(other, item_records(2))
    console.services.mirror.run_once()
    found = console.browser("viewer").get("/tasks?q=quarterly").text
    assert "team/q4-run" in found and "team/plain" not in found
    task = console.client("viewer").get("/api/v1/tasks/team/q4-run").json()
    assert task["displayName"] == "Quarterly Chinese QA"
