"""``status.tasks`` and ``status.supportedMetrics`` of a group, from the tasks it created."""

from __future__ import annotations

from modeleval.reconcile.servicegroup_status import supported_metrics, task_refs
from tests.support.groups import DATASETS
from tests.support.groups import evaluating_group as group


def test_task_refs_follow_the_stored_tasks() -> None:
    g = group({"datasets": DATASETS})
    stored = {"llama-ceval": {"status": {"state": "Succeeded", "totalScore": 0.75}}}
    refs = task_refs(g, stored)
    assert [(r.name, r.dataset, r.target, r.state, r.total_score) for r in refs] == [
        ("llama-ceval", "ceval", "llama", "Succeeded", 0.75),
        ("llama-1", "1", "llama", None, None),
    ]


def test_supported_metrics_are_the_union_of_the_tasks_metrics() -> None:
    stored = {
        "a": {"status": {"scores": {"metrics": {"rougeL": 40.0, "bleu": 20.0}}}},
        "b": {"status": {"scores": {"metrics": {"accuracy": 80.0, "bleu": 25.0}}}},
        "c": {"status": {"state": "Running"}},
    }
    assert supported_metrics(stored) == ["accuracy", "bleu", "rougeL"]
    assert supported_metrics({}) == []
