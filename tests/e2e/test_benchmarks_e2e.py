"""Benchmark tasks end to end: the real operator, runner Jobs and the mock model server.

An MMLU subset in log-likelihood mode (answered by the mock's prompt log-probabilities) and
GSM8K in generation mode read their files from a mirror on a PVC (air-gapped) and must reach
Succeeded with per-subject scores in status. The online path (the Hub's HTTP API) is tested
against a fake Hub in tests/integration/benchmarks; here, a Hub endpoint outside the
administrator's dataset URL allow-list is refused before anything runs.
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


def mirror_pvc(cluster: ClusterAccess, executor: Executor, namespace: str) -> None:
    """PVC ``mirror`` holding the fixture mirror at ``hub/`` (``modeleval benchmarks mirror``
    output copied onto a volume)."""
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": "mirror",
            "namespace": namespace,
            # without the admission webhook, only labelled PVCs are mounted (docs/install.md)
            "labels": {"modeleval.io/usable-by-modeleval": "true"},
        },
        "spec": {"accessModes": ["ReadOnlyMany"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    apply(cluster, claim)
    shutil.copytree(HUB, executor.pvc_path("mirror", namespace) / "hub")


def test_an_mmlu_subset_from_a_pvc_mirror_in_loglikelihood_mode(
    namespace: str, local_cluster: ClusterAccess, executor: Executor
) -> None:
    mirror_pvc(local_cluster, executor, namespace)
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
            "source": {"pvc": {"claimName": "mirror", "path": "hub"}},
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


def test_gsm8k_in_generation_mode(
    namespace: str, local_cluster: ClusterAccess, executor: Executor
) -> None:
    mirror_pvc(local_cluster, executor, namespace)
    requests = load_requests(resolve("gsm8k", limit=6), DirectoryStore(HUB, "openai/gsm8k"))
    answers = {
        r.messages[-1][
            "content"
        ]: f"Reasoning.\n#### {r.meta['reference'].split('####')[-1].strip()}"
        for r in requests[:4]
    }
    with MockModelServer(answers=answers).running() as mock:
        benchmark = {"name": "gsm8k", "source": {"pvc": {"claimName": "mirror", "path": "hub"}}}
        task = benchmark_task("gsm8k", namespace, mock.url, benchmark)
        task["spec"]["limits"] = 6
        apply(local_cluster, task)
        final = wait_status(local_cluster, namespace, "gsm8k", finished, timeout=120)
    assert final["state"] == "Succeeded", final.get("message")
    (model,) = final["scores"]["perModel"]
    strict = round(4 / 6 * 100, 4)
    assert model["subsets"] == [
        {
            "name": "main",
            "items": 6,
            "category": "main",
            "scores": {"exact_match_strict": strict, "exact_match_flexible": strict},
        }
    ]
    assert final["totalScore"] == strict


def test_a_hub_endpoint_outside_the_allowed_urls_is_refused(
    namespace: str, local_cluster: ClusterAccess, hub: FakeHub
) -> None:
    """The Hub is a dataset URL: the administrator's allow-list (default https://*) holds."""
    benchmark = {"name": "gsm8k", "source": {"hub": {"endpoint": hub.url}}}
    apply(local_cluster, benchmark_task("plain-http", namespace, "http://unused/v1", benchmark))
    final = wait_status(local_cluster, namespace, "plain-http", finished, timeout=60)
    assert final["state"] == "Failed"
    assert f"spec.benchmark.source.hub.endpoint: URL {hub.url} is not allowed" in final["message"]
    assert hub.requests == []
