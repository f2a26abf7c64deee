"""The results store on SQLite and on PostgreSQL: idempotent chunked ingest, queries,
the cluster mirror, retention, and annotations saved concurrently."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from modeleval.console.annotations import Annotations, Conflict, Saved
from modeleval.console.db.engine import make_engine, upgrade
from modeleval.console.store import ItemFilter, Store, TaskFilter
from tests.support.console import evaltask, item_records

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = make_engine(database_url)
    upgrade(engine)
    try:
        yield Store(engine)
    finally:
        engine.dispose()


def ingest(
    store: Store, obj: dict[str, object], records: list[dict[str, object]], chunk: int
) -> int:
    task_id = store.upsert_task(obj, phase="score")
    for start in range(0, len(records), chunk):
        store.ingest_items(task_id, start, records[start : start + chunk])
    store.complete_ingest(task_id, len(records))
    return task_id


def test_ingest_is_idempotent_and_chunked(store: Store) -> None:
    obj = evaltask("qa", models=("a", "b"))
    records = item_records(250, ("a", "b"))
    task_id = ingest(store, obj, records, 100)
    again = ingest(store, obj, records, 70)  # a retried pod sends it all again, cut differently
    assert again == task_id
    task = store.get_task(task_id)
    assert task.items_total == 250 and task.items_failed == 0
    assert task.charts is not None
    assert sum(task.charts["histograms"]["accuracy"]["a"]) == 250
    page = store.items_page(task_id, ItemFilter(), page=3, page_size=100)
    assert [i.key for i in page.rows[:2]] == ["q200", "q201"] and page.total == 250
    fewer = ingest(store, obj, records[:10], 100)  # a shorter resend leaves no stale items
    assert store.get_task(fewer).items_total == 10


def test_item_queries(store: Store) -> None:
    records = item_records(20, ("a", "b"))
    records[3]["models"]["b"]["error"] = "inference failed: timeout"  # type: ignore[index]
    records[5]["input"] = "Wie heißt 东京 100% sicher?"
    task_id = ingest(store, evaltask("qa", models=("a", "b")), records, 8)
    wrong = store.items_page(task_id, ItemFilter(model="a", metric="accuracy", high=50))
    assert [i.key for i in wrong.rows] == [f"q{i}" for i in range(1, 20, 2)]
    right = store.items_page(task_id, ItemFilter(model="a", metric="accuracy", low=50))
    assert right.total == 10
    failed = store.items_page(task_id, ItemFilter(failed=True))
    assert [i.key for i in failed.rows] == ["q3"]
    assert [i.key for i in store.items_page(task_id, ItemFilter(q="东京")).rows] == ["q5"]
    assert store.items_page(task_id, ItemFilter(q="100%")).total == 1  # LIKE wildcards escaped
    assert store.items_page(task_id, ItemFilter(q="ANSWER 7")).total == 1  # answers, any case
    worst = store.items_page(task_id, ItemFilter(order="worst"), page_size=3)
    assert all(int(i.key[1:]) % 2 == 1 for i in worst.rows)
    assert len(list(store.iter_items(task_id))) == 20


def test_task_list_filters_sorts_and_pages(store: Store) -> None:
    for i in range(30):
        obj = evaltask(
            f"t{i:02}",
            namespace="a" if i % 2 else "b",
            models=("m1", "m2") if i % 3 == 0 else ("m1",),
            created=f"2026-11-{i % 28 + 1:02}T00:00:00Z",
            total_score=float(i),
            state="Failed" if i == 7 else "Succeeded",
        )
        store.upsert_task(obj)
    store.mirror([evaltask(f"t{i:02}", namespace="a" if i % 2 else "b") for i in range(29)])
    first = store.list_tasks(TaskFilter(), sort="score", descending=True, page_size=10)
    assert first.total == 30 and first.pages == 3
    assert [r["name"] for r in first.rows[:2]] == ["t29", "t28"]
    only_a = store.list_tasks(TaskFilter(namespaces=frozenset({"a"})))
    assert only_a.total == 15
    assert store.list_tasks(TaskFilter(model="m2")).total == 10
    assert store.list_tasks(TaskFilter(state="Failed")).total == 1
    assert store.list_tasks(TaskFilter(presence="deleted")).total == 1  # t29: not listed
    assert store.list_tasks(TaskFilter(q="T0")).total == 10
    assert store.namespaces() == ["a", "b"]
    assert store.datasets() == [("name:qa-set", 30)]


def test_mirror_marks_deleted_and_retention_removes_when_due(store: Store) -> None:
    keep = evaltask("keep")
    gone = evaltask("gone")
    gone_id = ingest(store, gone, item_records(3), 10)
    store.mirror([keep, gone], now=NOW)
    store.mirror([keep], now=NOW)
    task = store.get_task(gone_id)
    assert task.deleted_at == NOW
    assert store.items_page(gone_id, ItemFilter()).total == 3  # still browsable
    assert store.apply_retention(30, now=NOW + timedelta(days=29)) == 0
    assert store.apply_retention(30, now=NOW + timedelta(days=31)) == 1
    assert [r["name"] for r in store.list_tasks(TaskFilter()).rows] == ["keep"]
    assert store.apply_retention(0, now=NOW + timedelta(days=9999)) == 0  # 0: keep forever


def test_mirror_skips_unchanged_tasks_and_follows_changes(store: Store) -> None:
    obj = evaltask("qa", state="Running", rv="5")
    store.mirror([obj])
    [row] = store.list_tasks(TaskFilter()).rows
    assert row["state"] == "Running"
    obj["status"] = {"state": "Succeeded", "totalScore": 80.0}
    store.mirror([obj])  # same resourceVersion: not read again
    assert store.list_tasks(TaskFilter()).rows[0]["state"] == "Running"
    obj["metadata"]["resourceVersion"] = "6"  # type: ignore[index]
    store.mirror([obj])
    assert store.list_tasks(TaskFilter()).rows[0]["total_score"] == 80.0


def test_concurrent_annotators_on_different_items_both_persist(store: Store) -> None:
    obj = evaltask("judged", models=("a",), manual=("fluency",), state="RunningWithManualBegin")
    task_id = ingest(store, obj, item_records(40, ("a",)), 40)
    task = store.get_task(task_id)
    annotations = Annotations(store)
    errors: list[BaseException] = []

    def annotate(who: str, keys: list[str]) -> None:
        try:
            for key in keys:
                saved = annotations.save(
                    task,
                    key,
                    {"a": {"satisfaction": 3, "fluency": 4}},
                    annotator=who,
                    base_version=0,
                )
                assert isinstance(saved, Saved)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=annotate, args=("anna", [f"q{i}" for i in range(0, 40, 2)])),
        threading.Thread(target=annotate, args=("arne", [f"q{i}" for i in range(1, 40, 2)])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = annotations.all(task_id)
    assert len(rows) == 40
    assert {r.annotator for r in rows if int(r.key[1:]) % 2} == {"arne"}
    assert annotations.progress(task).done


def test_same_item_last_writer_conflict(store: Store) -> None:
    obj = evaltask("judged", models=("a",), manual=(), state="RunningWithManualBegin")
    task_id = ingest(store, obj, item_records(2, ("a",)), 10)
    task = store.get_task(task_id)
    annotations = Annotations(store)
    first = annotations.save(
        task, "q0", {"a": {"satisfaction": 2}}, annotator="anna", base_version=0
    )
    late = annotations.save(
        task, "q0", {"a": {"satisfaction": 5}}, annotator="arne", base_version=0
    )
    assert isinstance(first, Saved) and isinstance(late, Conflict)
    assert late.current.annotator == "anna"
    stale = annotations.save(
        task, "q0", {"a": {"satisfaction": 5}}, annotator="arne", base_version=0
    )
    assert isinstance(stale, Conflict)
    won = annotations.save(task, "q0", {"a": {"satisfaction": 5}}, annotator="arne", base_version=1)
    assert isinstance(won, Saved) and won.version == 2
    assert annotations.next_unannotated(task_id) == 1
    assert annotations.next_unannotated(task_id, after_seq=1) == 1  # wraps around


def test_csv_export_and_import_round_trip(store: Store) -> None:
    obj = evaltask("judged", models=("a", "b"), manual=("fluency",), state="RunningWithManualBegin")
    task_id = ingest(store, obj, item_records(3, ("a", "b")), 10)
    task = store.get_task(task_id)
    annotations = Annotations(store)
    exported = "".join(annotations.export_csv(task))
    lines = exported.splitlines()
    assert lines[0] == "id,model,input,target,answer,satisfaction,fluency"
    filled = [lines[0]] + [line[: -len(",,")] + ",4,2" for line in lines[1:]]
    counts = annotations.import_csv(task, "\n".join(filled) + "\n", annotator="offline")
    assert counts == {"created": 3, "updated": 0}
    again = "".join(annotations.export_csv(task)).splitlines()
    assert all(line.endswith(",4,2") for line in again[1:])
    means, _ = annotations.means(task)
    assert means == {
        "a": {"satisfaction": 80.0, "fluency": 40.0},
        "b": {"satisfaction": 80.0, "fluency": 40.0},
    }


def test_item_differences_between_two_runs(store: Store) -> None:
    first = ingest(store, evaltask("one", models=("a", "b")), item_records(10, ("a", "b")), 10)
    second = ingest(store, evaltask("two", models=("a",)), item_records(8, ("a",)), 10)
    page = store.item_differences((first, "b"), (second, "a"))
    assert page.total == 8  # the items both have
    assert [r["delta"] for r in page.rows[:4]] == [-100.0] * 4
    assert {r["key"] for r in page.rows[:4]} == {"q1", "q3", "q5", "q7"}
