"""Scoring results that already exist (no inference), and stop words from a ConfigMap."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from modeleval_testkit.cluster import ClusterAccess
from modeleval_testkit.executor import Executor
from tests.support.paths import REPO

from .evaltask_helpers import apply, status, wait_status

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.needs_executor]

SAMPLE = REPO / "manifests" / "samples" / "70-evaltask-existing-results.yaml"


def pvc(name: str, namespace: str) -> dict[str, Any]:
    """A PVC its owner lets modeleval use (without the admission webhook only labelled PVCs
    are mounted: docs/install.md, Threat model)."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"modeleval.io/usable-by-modeleval": "true"},
        },
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }


def config_map(name: str, namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace}, "data": data}  # fmt: skip


def test_the_existing_results_sample_is_scored_and_waits_for_annotation(
    namespace: str, local_cluster: ClusterAccess, executor: Executor
) -> None:
    """manifests/samples/70: a result set on a PVC, stop words from a ConfigMap, rule and
    manual modes: scored without inference, then RunningWithManualBegin."""
    rows = [
        {"id": "1", "input": "中国的首都是哪里?", "target": "北京", "output": "北京"},
        {"id": "2", "input": "What is 2+2?", "target": "4", "output": "5"},
        {"id": "3", "input": "水的化学式?", "target": "H2O", "output": "的 H2O"},
    ]
    apply(local_cluster, pvc("eval-archive", namespace),
          config_map("stopwords-zh", namespace, {"stopwords.txt": "的\n了\n"}))  # fmt: skip
    runs = executor.pvc_path("eval-archive", namespace) / "runs" / "2024-09"
    runs.mkdir(parents=True)
    (runs / "predictions.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    task = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    task["metadata"]["namespace"] = namespace
    apply(local_cluster, task)
    name = task["metadata"]["name"]
    st = wait_status(
        local_cluster, namespace, name,
        lambda s: s.get("state") in ("RunningWithManualBegin", "Failed"), timeout=120,
    )  # fmt: skip
    assert st["state"] == "RunningWithManualBegin", st.get("message")
    # "的 H2O" matches "H2O" once the ConfigMap's stop word is removed: 2 of 3 right.
    assert st["scores"]["metrics"]["accuracy"] == pytest.approx(200 / 3, abs=0.01)
    assert "inference" not in (st.get("jobs") or {})
    scored = executor.pvc_path("eval-archive", namespace) / "rescored" / "2024-09"
    assert (scored / "predictions" / "run-2024-09.jsonl").is_file()
    assert (scored / "report.html").is_file()


def test_a_stop_word_from_a_configmap_changes_the_score(
    namespace: str, local_cluster: ClusterAccess
) -> None:
    rows = [{"id": "1", "input": "capital of France?", "target": "Paris", "output": "um Paris"}]
    apply(local_cluster, config_map("fillers", namespace, {"words.txt": "um\n"}))
    for name, rule in (
        ("plain", {"scoreModes": ["accuracy"]}),
        ("stopped", {"scoreModes": ["accuracy"],
                     "stopWordsFrom": {"configMap": {"name": "fillers", "key": "words.txt"}}}),
    ):  # fmt: skip
        apply(local_cluster, {
            "apiVersion": "modeleval.io/v1alpha1", "kind": "EvalTask",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"existingResults": [{"name": "run", "source": {"inline": rows}}],
                     "scoring": {"modes": ["rule"], "rule": rule}},
        })  # fmt: skip
    done = lambda s: s.get("state") in ("Succeeded", "Failed")  # noqa: E731
    plain = wait_status(local_cluster, namespace, "plain", done, timeout=120)
    stopped = wait_status(local_cluster, namespace, "stopped", done, timeout=120)
    assert plain["scores"]["metrics"]["accuracy"] == 0
    assert stopped["scores"]["metrics"]["accuracy"] == 100
    assert status(local_cluster, namespace, "stopped")["state"] == "Succeeded"
