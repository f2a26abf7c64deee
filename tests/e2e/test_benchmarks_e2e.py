"""Benchmark tasks end to end: the real operator, runner Jobs and the mock model server.

An MMLU subset in log-likelihood mode reads its files from a mirror on a PVC (air-gapped) and
is answered by the mock's prompt log-probabilities; GSM8K in generation mode reads them from
a fake Hub over HTTP (online). Both must reach Succeeded with per-subject scores in status.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from modeleval.benchmarks import DirectoryStore, load_requests, resolve
from modeleval_testkit.cluster import ClusterAccess
from modeleval_testkit.executor import Executor
from modeleval_testkit.mockserver import MockModelServer
from tests.support.benchmarks import HUB
from tests.support.fake_hub import FakeHub

from .evaltask_helpers import apply, wait_status

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.needs_executor]

SUBJECTS = ["abstract_algebra", "high_school_geography", "philosophy"]


def benchmark_task(
    name: str, namespace: str, url: str, benchmark: dict[str, Any]
) -> dict[str, Any]:
    return {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "models": [{"name": "mock", "endpoint": {"url": url, "model": "mock-model"}}],
            "benchmark": benchmark,
            "inference": {"client": {"parallel": 4, "logEveryQuery": 4}},
        },
    }


def finished(st: dict[str, Any]) -> bool:
    return st.get("state") in ("Succeeded", "Failed")


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub(HUB).running() as server:
        yield server


def test_an_mmlu_subset_from_a_pvc_mirror_in_loglikelihood_mode(
    namespace: str, local_cluster: ClusterAccess, executor: Executor
) -> None:
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "mirror", "namespace": namespace},
        "spec": {"accessModes": ["ReadOnlyMany"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    apply(local_cluster, claim)  # a mirror copied onto a volume (modeleval benchmarks mirror)
    shutil.copytree(HUB, executor.pvc_path("mirror", namespace) / "benchmarks")
    spec = resolve("mmlu", subsets=SUBJECTS, shots=5)
    requests = load_requests(spec, DirectoryStore(HUB, "cais/mmlu"))
    # the mock prefers the right letter for every item but the first of each subject
    answers = {
        r.text: "ABCD"[r.meta["gold"] if not r.id.endswith("/0") else (r.meta["gold"] + 1) % 4]
        for r in requests
    }
    with MockModelServer(answers=answers).running() as mock:
        benchmark = {
            "name": "mmlu",
            "subsets": SUBJECTS,
            "fewShot": 5,
            "source": {"pvc": {"claimName": "mirror", "path": "benchmarks"}},
        }
        apply(local_cluster, benchmark_task("mmlu", namespace, mock.url, benchmark))
        final = wait_status(local_cluster, namespace, "mmlu", finished, timeout=120)
        assert mock.stats().requests == len(requests)
    assert final["state"] == "Succeeded", final.get("message")
    scores = final["scores"]
    assert scores["benchmark"]["name"] == "mmlu" and scores["benchmark"]["mode"] == "loglikelihood"
    (model,) = scores["perModel"]
    sizes = {s: sum(r.meta["subset"] == s for r in requests) for s in SUBJECTS}
    assert {s["name"]: s["scores"]["acc"] for s in model["subsets"]} == {
        s: round((n - 1) / n * 100, 4) for s, n in sizes.items()
    }
    assert {c["name"] for c in model["categories"]} == {"stem", "social_sciences", "humanities"}
    total = sum(sizes.values())
    assert final["totalScore"] == round((total - 3) / total * 100, 4)


def test_gsm8k_from_the_hub_in_generation_mode(
    namespace: str, local_cluster: ClusterAccess, hub: FakeHub
) -> None:
    requests = load_requests(resolve("gsm8k", limit=6), DirectoryStore(HUB, "openai/gsm8k"))
    answers = {
        r.messages[-1][
            "content"
        ]: f"Reasoning.\n#### {r.meta['reference'].split('####')[-1].strip()}"
        for r in requests[:4]
    }
    with MockModelServer(answers=answers).running() as mock:
        benchmark = {"name": "gsm8k", "source": {"hub": {"endpoint": hub.url}}}
        task = benchmark_task("gsm8k", namespace, mock.url, benchmark)
        task["spec"]["limits"] = 6
        apply(local_cluster, task)
        final = wait_status(local_cluster, namespace, "gsm8k", finished, timeout=120)
    assert final["state"] == "Succeeded", final.get("message")
    (model,) = final["scores"]["perModel"]
    assert model["subsets"] == [
        {
            "name": "main",
            "items": 6,
            "category": "main",
            "scores": {
                "exact_match_strict": round(4 / 6 * 100, 4),
                "exact_match_flexible": round(4 / 6 * 100, 4),
            },
        }
    ]
    assert final["totalScore"] == round(4 / 6 * 100, 4)
    assert any("/resolve/main/main/test-" in r for r in hub.requests)
