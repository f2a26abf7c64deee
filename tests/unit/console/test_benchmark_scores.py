"""A benchmark task's page in the console shows its scores per category and per subject, from
summary.json or, before that is ingested, from the task's status; untrusted names escaped."""

from __future__ import annotations

from typing import Any

from modeleval.console.benchmark_scores import benchmark_tables, models_of
from tests.support.console import evaltask, item_records


def block(total: float, stem: float, other: float) -> dict[str, Any]:
    return {
        "totalScore": total,
        "metrics": {"acc": total},
        "macro": {"acc": (stem + other) / 2},
        "categories": [
            {"name": "stem", "items": 2, "scores": {"acc": stem}, "macro": {"acc": stem}},
            {"name": "other", "items": 1, "scores": {"acc": other}, "macro": {"acc": other}},
        ],
        "subsets": [
            {"name": "abstract_algebra", "items": 2, "scores": {"acc": stem}, "category": "stem"},
            {"name": "<b>nutrition</b>", "items": 1, "scores": {"acc": other}, "category": "other"},
        ],
    }


SUMMARY = {
    "totalScore": 60.0,
    "metrics": {"acc": 60.0},
    "benchmark": {"name": "mmlu", "mode": "loglikelihood", "fewShot": 5, "metric": "acc"},
    "perModel": {"base": block(60.0, 50.0, 100.0), "tuned": block(80.0, 75.0, 25.0)},
}


def test_tables_have_a_row_per_group_and_a_score_per_model() -> None:
    tables = benchmark_tables(SUMMARY, {})
    assert [t.label for t in tables] == ["Categories", "Subjects"]
    categories, subjects = tables
    assert [r.name for r in categories.rows] == ["stem", "other"]
    assert categories.rows[0].scores == {"base": {"acc": 50.0}, "tuned": {"acc": 75.0}}
    assert [(r.name, r.category, r.items) for r in subjects.rows] == [
        ("abstract_algebra", "stem", 2),
        ("<b>nutrition</b>", "other", 1),
    ]
    assert subjects.rows[1].scores["tuned"] == {"acc": 25.0}
    assert models_of(tables) == ["base", "tuned"]


def test_the_status_is_read_when_there_is_no_summary_and_a_dataset_task_has_no_tables() -> None:
    status = {"perModel": [{"model": "base", **block(60.0, 50.0, 100.0)}]}
    tables = benchmark_tables({}, status)
    assert [t.label for t in tables] == ["Categories", "Subjects"]
    assert tables[1].rows[0].scores == {"base": {"acc": 50.0}}
    plain = {"perModel": {"m": {"totalScore": 1.0, "metrics": {"accuracy": 1.0}}}}
    assert benchmark_tables(plain, {}) == []
    one_category = {"perModel": {"m": {"categories": [{"name": "all", "scores": {"acc": 1.0}}]}}}
    assert benchmark_tables(one_category, {}) == []  # a lone category says nothing new


def test_a_benchmark_tasks_page_shows_categories_and_subjects(console: Any) -> None:
    obj = evaltask("bench", models=("base", "tuned"), total_score=60.0)
    console.kube.tasks[("team", "bench")] = obj
    task_id = console.ingest(obj, item_records(3, ("base", "tuned")), summary=SUMMARY)
    page = console.browser("viewer").get(f"/tasks/{task_id}").text
    assert 'id="categories"' in page and 'id="subjects"' in page
    assert "<th>base acc</th>" in page and "<th>tuned acc</th>" in page
    subjects = page.split('id="subjects"', 1)[1].split("</table>", 1)[0]
    assert "<td>abstract_algebra</td><td>stem</td>" in subjects
    assert "&lt;b&gt;nutrition&lt;/b&gt;" in subjects and "<b>nutrition</b>" not in subjects
    assert "25.00" in subjects  # tuned on nutrition
