"""Manual evaluation in the console: annotate item by item, conflicts, progress, completion
(only with patch), offline CSV export / import, and what the runner's manual phase reads."""

from __future__ import annotations

import csv
import io

from tests.support.console import evaltask, item_records
from tests.support.console_app import CSRF, Console

Task = tuple[dict[str, object], int]


def form(csrf: str, version: int = 0, score: str = "4", **extra: str) -> dict[str, str]:
    fields = {f"s-{m}-{d}": score for m in range(2) for d in range(2)}
    return {"csrf": csrf, "version": str(version), **fields, **extra}


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None
    return found.group(1)


def test_annotate_every_item_in_turn(console: Console, manual_task: Task) -> None:
    _, task_id = manual_task
    client = console.browser("annotator")
    first = client.get(f"/tasks/{task_id}/annotate", follow_redirects=False)
    assert first.headers["location"] == f"/tasks/{task_id}/annotate/0"
    for seq in range(3):
        page = client.get(f"/tasks/{task_id}/annotate/{seq}")
        assert page.status_code == 200
        assert f"{seq} of 3 items annotated" in page.text
        saved = client.post(
            f"/tasks/{task_id}/annotate/{seq}", data=form(csrf_of(page.text)), follow_redirects=True
        )
        assert saved.status_code == 200
    assert "Every item is annotated" in saved.text
    assert 'id="complete"' not in saved.text  # an annotator may not complete
    rows = console.services.annotations.all(task_id)
    assert [(r.key, r.annotator, r.version) for r in rows] == [
        ("q0", "anna", 1),
        ("q1", "anna", 1),
        ("q2", "anna", 1),
    ]
    assert rows[0].scores == {
        "m1": {"satisfaction": 4, "fluency": 4},
        "m2": {"satisfaction": 4, "fluency": 4},
    }
    task = console.browser("viewer").get(f"/tasks/{task_id}").text
    assert "3 of 3 items annotated" in task and "80.0" in task  # 4 of 5 → 80


def test_every_dimension_of_every_model_is_needed(console: Console, manual_task: Task) -> None:
    _, task_id = manual_task
    client = console.browser("annotator")
    page = client.get(f"/tasks/{task_id}/annotate/0")
    partial = {"csrf": csrf_of(page.text), "version": "0", "s-0-0": "3"}
    answer = client.post(f"/tasks/{task_id}/annotate/0", data=partial)
    assert answer.status_code == 422
    assert "score every dimension" in answer.text
    out_of_range = client.post(
        f"/tasks/{task_id}/annotate/0", data=form(csrf_of(page.text), score="9")
    )
    assert out_of_range.status_code == 422
    assert console.services.annotations.all(task_id) == []


def test_the_second_writer_of_an_item_sees_the_conflict(
    console: Console, manual_task: Task
) -> None:
    _, task_id = manual_task
    anna, arne = console.browser("annotator"), console.browser("annotator2")
    anna_page = anna.get(f"/tasks/{task_id}/annotate/1").text
    arne_page = arne.get(f"/tasks/{task_id}/annotate/1").text
    first = anna.post(f"/tasks/{task_id}/annotate/1", data=form(csrf_of(anna_page), score="2"))
    assert first.status_code == 200
    second = arne.post(f"/tasks/{task_id}/annotate/1", data=form(csrf_of(arne_page), score="5"))
    assert second.status_code == 409
    assert 'id="conflict"' in second.text and "anna" in second.text
    assert 'name="version" value="1"' in second.text  # saving again overwrites on purpose
    stored = console.services.annotations.all(task_id)
    assert [(r.annotator, r.scores["m1"]["fluency"]) for r in stored] == [("anna", 2)]
    again = arne.post(
        f"/tasks/{task_id}/annotate/1",
        data=form(csrf_of(second.text), version=1, score="5", action="stay"),
    )
    assert again.status_code == 200 and 'id="saved"' in again.text
    stored = console.services.annotations.all(task_id)
    assert [(r.annotator, r.version, r.scores["m1"]["fluency"]) for r in stored] == [("arne", 2, 5)]


def test_completion_needs_patch_and_sets_pending_false(console: Console, manual_task: Task) -> None:
    _, task_id = manual_task
    annotator = console.browser("annotator")
    page = annotator.get(f"/tasks/{task_id}/annotate/0").text
    annotator.post(f"/tasks/{task_id}/annotate/0", data=form(csrf_of(page)))
    assert annotator.get(f"/tasks/{task_id}/complete").status_code == 403
    refused = annotator.post(f"/tasks/{task_id}/complete", data={"csrf": csrf_of(page)})
    assert refused.status_code == 403 and console.kube.patches == []
    editor = console.browser("editor")
    confirm = editor.get(f"/tasks/{task_id}/complete").text
    assert "2 items have no annotation" in confirm
    unconfirmed = editor.post(f"/tasks/{task_id}/complete", data={"csrf": csrf_of(confirm)})
    assert unconfirmed.status_code == 409 and console.kube.patches == []
    done = editor.post(
        f"/tasks/{task_id}/complete",
        data={"csrf": csrf_of(confirm), "partial": "1"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    [(namespace, name, status)] = console.kube.patches
    assert (namespace, name) == ("team", "judged")
    assert status["manual"]["pending"] is False and status["manual"]["completedBy"] == "eddie"
    assert status["manual"]["completedAt"].endswith("Z")  # when, as the API writes times
    closed = annotator.get(f"/tasks/{task_id}/annotate/1")
    assert closed.status_code == 409 and "completed by eddie" in closed.text


def test_a_task_not_waiting_for_annotation_cannot_be_annotated(console: Console) -> None:
    obj = evaltask("early", manual=("fluency",), state="Running")
    console.kube.tasks[("team", "early")] = obj
    task_id = console.ingest(obj, item_records(2))
    console.services.mirror.run_once()
    page = console.browser("annotator").get(f"/tasks/{task_id}/annotate/0")
    assert page.status_code == 409 and "annotation opens in RunningWithManualBegin" in page.text


def test_offline_annotation_through_csv(console: Console, manual_task: Task) -> None:
    annotator = console.client("annotator")
    exported = annotator.get("/api/v1/tasks/team/judged/annotations.csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["id"] for r in table] == ["q0", "q0", "q1", "q1", "q2", "q2"]
    assert list(table[0]) == ["id", "model", "input", "target", "answer", "satisfaction", "fluency"]
    for row in table:
        row["satisfaction"], row["fluency"] = "5", "3"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(table[0]))
    writer.writeheader()
    writer.writerows(table)
    imported = annotator.post(
        "/api/v1/tasks/team/judged/annotations",
        content=out.getvalue(),
        headers={"Content-Type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"created": 3, "updated": 0, "annotated": 3, "items": 3}
    bad = annotator.post(
        "/api/v1/tasks/team/judged/annotations",
        json={"items": {"q0": {"m1": {"satisfaction": 7}}}},
    )
    assert bad.status_code == 422 and "from 1 to 5" in bad.json()["message"]
    viewer = console.client("viewer").post(
        "/api/v1/tasks/team/judged/annotations", json={"items": {}}
    )
    assert viewer.status_code == 403


def test_the_manual_phase_reads_every_annotation(console: Console, manual_task: Task) -> None:
    console.client("annotator").post(
        "/api/v1/tasks/team/judged/annotations",
        json={"items": {"q2": {"m1": {"satisfaction": 1, "fluency": 2}}}},
    )
    document = console.client("runner").get("/api/v1/tasks/team/judged/annotations").json()
    assert document["dimensions"] == [
        {"dimension": "satisfaction", "description": "Overall satisfaction with the answer"},
        {"dimension": "fluency", "description": ""},
    ]
    assert document["scale"] == [1, 5] and document["items"] == 3
    [annotation] = document["annotations"]
    assert annotation["id"] == "q2" and annotation["annotator"] == "anna"
    assert annotation["scores"] == {"m1": {"satisfaction": 1, "fluency": 2}}


def test_session_calls_to_the_json_api_need_the_csrf_header(
    console: Console, manual_task: Task
) -> None:
    editor = console.browser("editor")
    refused = editor.post("/api/v1/tasks/team/judged/complete")
    assert refused.status_code == 403 and console.kube.patches == []


def test_models_without_an_answer_are_not_scored(console: Console) -> None:
    obj = evaltask("gaps", models=("m1", "m2"), manual=(), state="RunningWithManualBegin")
    console.kube.tasks[("team", "gaps")] = obj
    records = item_records(2, ("m1", "m2"))
    records[0]["models"]["m2"] = {"answer": None, "error": "inference failed: timeout"}
    for result in records[1]["models"].values():
        result.update(answer=None, error="inference failed: 500")
    task_id = console.ingest(obj, records)
    console.services.mirror.run_once()
    client = console.browser("annotator")
    page = client.get(f"/tasks/{task_id}/annotate/0").text
    assert page.count("No answer: nothing to score") == 1
    assert 'name="s-1-0"' not in page
    one = client.post(
        f"/tasks/{task_id}/annotate/0",
        data={"csrf": csrf_of(page), "version": "0", "s-0-0": "3"},
        follow_redirects=False,
    )
    assert one.status_code == 303
    page = client.get(f"/tasks/{task_id}/annotate/1").text
    none = client.post(
        f"/tasks/{task_id}/annotate/1",
        data={"csrf": csrf_of(page), "version": "0"},
        follow_redirects=True,
    )
    assert "Every item is annotated" in none.text
    scores = {a.key: a.scores for a in console.services.annotations.all(task_id)}
    assert scores == {"q0": {"m1": {"satisfaction": 3}}, "q1": {}}
