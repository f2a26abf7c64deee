"""Judge and GSB results you can trust, end to end: the real operator, runner and mock judge.

The judge is a mock model server: without rules it answers every prompt with the prompt itself
(the judge of the issue that "repeated the prompt"); with rules it answers in the documented
verdict formats, or with text that holds no verdict. The task's status, conditions, Events and
``kubectl describe`` are read as a user would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modeleval_testkit.cluster import ClusterAccess
from modeleval_testkit.mockserver import MockModelServer

from .evaltask_helpers import apply, task_manifest, wait_status

# The mock servers listen on this machine's loopback: local executor only.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.needs_executor]

ECHO_CAUSE = "the judge repeated the prompt instead of judging"
NO_SCORE = "no score in the judge's reply (expected a line 'Score: N' or '[[N]]')"
NO_VERDICT = "no verdict in the judge's reply (expected [[A]], [[B]] or [[C]])"
TIE_WORDS_ONLY = "Both answers are the same and equally good; it is a tie in every respect."
"""Tie words and no verdict label: a failed item, never a tie."""


@pytest.fixture
def cluster(local_cluster: ClusterAccess) -> ClusterAccess:
    return local_cluster


@pytest.fixture
def model() -> Iterator[MockModelServer]:
    """The evaluated model: answers each question with the question itself."""
    with MockModelServer().running() as server:
        yield server


def finished(st: dict[str, Any]) -> bool:
    return st.get("state") in ("Succeeded", "Failed")


def questions(
    count: int, marked: frozenset[int] = frozenset(), marker: str = ""
) -> list[dict[str, str]]:
    return [
        {
            "id": f"q{i}",
            "input": f"question {i} q=4" + (f" {marker}" if i in marked else ""),
            "target": f"answer {i}",
        }
        for i in range(count)
    ]


def judged_task(
    name: str, namespace: str, model_url: str, judge_url: str, dataset: list[dict[str, str]],
    **client: Any,
) -> dict[str, Any]:  # fmt: skip
    manifest = task_manifest(name, namespace, model_url, {"inline": dataset}, parallel=4)
    manifest["spec"]["scoring"] = {
        "modes": ["rule", "model"],
        "rule": {"scoreModes": ["accuracy"]},
        "judge": {
            "endpoint": {"url": judge_url, "model": "mock-model"},
            "promptParam": {"maxScore": 5},
            "client": {"parallel": 4, "maxRetries": 0, **client},
        },
    }
    return manifest


def conditions(st: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in st.get("conditions") or []}


def events(cluster: ClusterAccess, namespace: str, name: str) -> list[tuple[str, str, str]]:
    selector = f"fieldSelector=involvedObject.name%3D{name}"
    with cluster.api() as api:
        listed = api.get(f"/api/v1/namespaces/{namespace}/events?{selector}") or {}
    return [(e.get("type"), e.get("reason"), e.get("message")) for e in listed.get("items") or []]


def summary_json(st: dict[str, Any]) -> dict[str, Any]:
    predictions = Path(st["inferenceResults"][0]["location"])
    return dict(json.loads((predictions.parent.parent / "summary.json").read_text("utf-8")))


def test_a_judge_without_verdicts_fails_the_task_naming_metric_and_count(
    namespace: str, cluster: ClusterAccess, model: MockModelServer
) -> None:
    """The issue's case: the judge repeats every prompt. No totalScore of accuracy alone."""
    with MockModelServer().running() as judge:  # no rules: every reply is the prompt
        apply(cluster, judged_task("echoed", namespace, model.url, judge.url, questions(16)))
        final = wait_status(cluster, namespace, "echoed", finished, timeout=120)
    message = (
        "scoring failed: too many failed items: judge failed on 16 of 16 items "
        f"(100.0%, allowed 10.0%), most common cause (16 items): {ECHO_CAUSE}"
    )
    assert (final["state"], final["message"]) == ("Failed", message)
    assert final.get("totalScore") is None
    assert final["scores"]["failures"] == [
        {"metric": "judge", "total": 16, "failed": 16, "maxErrorRatio": 0.1,
         "overBudget": True, "cause": ECHO_CAUSE, "causeItems": 16},
    ]  # fmt: skip
    assert final["scores"]["metrics"] == {"accuracy": 0.0}
    failed = conditions(final)["Failed"]
    assert (failed["status"], failed["reason"]) == ("True", "MetricFailed")
    assert ("Warning", "MetricFailed", message) in events(cluster, namespace, "echoed")


def test_two_of_twenty_failed_judge_items_succeed_degraded_and_say_so(
    namespace: str, cluster: ClusterAccess, model: MockModelServer
) -> None:
    rules = [
        (r"(?s)\[模型回答 / Answer\]\n[^\n]*JUNK", TIE_WORDS_ONLY),
        (r"(?s)\[模型回答 / Answer\]", "Correct, and the same as the reference.\nScore: 4"),
    ]
    dataset = questions(20, frozenset({3, 11}), "JUNK")
    with MockModelServer(rules=rules).running() as judge:
        manifest = judged_task(
            "mostly", namespace, model.url, judge.url, dataset, maxErrorRatio=0.15
        )
        apply(cluster, manifest)
        final = wait_status(cluster, namespace, "mostly", finished, timeout=120)
    detail = (
        "judge failed on 2 of 20 items (10.0%, allowed 15.0%), "
        f"most common cause (2 items): {NO_SCORE}"
    )
    assert final["state"] == "Succeeded", final.get("message")
    assert final["message"] == f"evaluation finished with failed items: {detail}"
    assert final["scores"]["failures"] == [
        {"metric": "judge", "total": 20, "failed": 2, "maxErrorRatio": 0.15,
         "overBudget": False, "cause": NO_SCORE, "causeItems": 2},
    ]  # fmt: skip
    assert final["scores"]["metrics"]["judge"] == pytest.approx(80.0)  # 18 items scored 4 of 5
    assert final["totalScore"] is not None
    degraded = conditions(final)["Degraded"]
    assert (degraded["status"], degraded["reason"], degraded["message"]) == (
        "True", "ItemsFailed", detail)  # fmt: skip
    assert ("Warning", "Degraded", detail) in events(cluster, namespace, "mostly")
    described = cluster.kubectl("describe", "evaltask", "mostly", "-n", namespace).stdout
    assert "Degraded" in described and "ItemsFailed" in described
    failures = described[described.index("Failures:") :]
    for pattern in (r"Failed:\s+2\n", r"Metric:\s+judge\n", r"Total:\s+20\n"):
        assert re.search(pattern, failures), described


# GSB: the candidate and the baseline answer from their own answer books; the judge follows
# content (the answer with "q=5" wins) except where told to be biased, tie, or talk garbage.
GSB_RULES = [
    (r"(?s)\[回答 A / Answer A\].*GARBAGE", TIE_WORDS_ONLY),
    (
        r"(?s)\[回答 A / Answer A\].*BIAS",
        "Both have the same length; the first reads better.\n[[A]]",
    ),
    (r"(?s)\[回答 A / Answer A\].*TIE", "Equal in every way.\n[[C]]"),
    (
        r"(?s)\[回答 A / Answer A\]\n[^\n]*q=5",
        "The two answers are equally fluent, but A is correct and B is not.\nFinal verdict: [[A]]",
    ),
    (
        r"(?s)\[回答 B / Answer B\]\n[^\n]*q=5",
        "Same length, same tone; B is the correct one.\nMy final verdict is [[B>A]].",
    ),
]
GSB_ITEMS = {
    # question: (candidate answer, baseline answer)
    "g0": ("cand 0 q=5", "base 0 q=1"),  # consistent, candidate better: Good
    "g1": ("cand 1 q=5", "base 1 q=1"),
    "g2": ("cand 2 q=5", "base 2 q=1"),
    "g3": ("cand 3 q=5", "base 3 q=1"),
    "b4": ("cand 4 q=1", "base 4 q=5"),  # consistent, baseline better: Bad
    "p5": ("cand 5 BIAS q=5", "base 5 q=1"),  # position-biased: [[A]] twice, Same, flipped
    "p6": ("cand 6 BIAS q=1", "base 6 q=5"),
    "t7": ("cand 7 TIE", "base 7 TIE"),  # [[C]] twice: Same, not flipped
    "x8": ("cand 8 GARBAGE", "base 8"),  # tie words and no label: failed, not Same
    "x9": ("cand 9 GARBAGE", "base 9"),
}


def test_gsb_counts_good_same_bad_failed_and_flipped_exactly(
    namespace: str, cluster: ClusterAccess
) -> None:
    cand_answers = {q: answers[0] for q, answers in GSB_ITEMS.items()}
    base_answers = {q: answers[1] for q, answers in GSB_ITEMS.items()}
    dataset = [{"id": q, "input": q, "target": "-"} for q in GSB_ITEMS]
    with (
        MockModelServer(answers=cand_answers).running() as candidate,
        MockModelServer(answers=base_answers).running() as baseline,
        MockModelServer(rules=GSB_RULES).running() as judge,
    ):
        manifest = task_manifest("gsb", namespace, candidate.url, {"inline": dataset})
        spec = manifest["spec"]
        spec["models"] = [
            {"name": "candidate", "endpoint": {"url": candidate.url, "model": "mock-model"}},
            {"name": "baseline", "isBaseline": True,
             "endpoint": {"url": baseline.url, "model": "mock-model"}},
        ]  # fmt: skip
        spec["scoring"] = {
            "modes": ["rule"],
            "rule": {"scoreModes": ["accuracy"]},
            "pairwise": {"enabled": True, "swapPositions": True},
            "judge": {
                "endpoint": {"url": judge.url, "model": "mock-model"},
                "client": {"parallel": 4, "maxRetries": 0, "maxErrorRatio": 0.25},
            },
        }
        apply(cluster, manifest)
        final = wait_status(cluster, namespace, "gsb", finished, timeout=120)
        assert judge.stats().requests == 2 * len(GSB_ITEMS)  # both orders of every item
    assert final["state"] == "Succeeded", final.get("message")
    assert final["gsb"] == {
        "candidate": "candidate", "baseline": "baseline",
        "good": 4, "same": 3, "bad": 1, "failed": 2, "flipped": 2,
        "netScore": pytest.approx((4 - 1) / 8),
    }  # fmt: skip
    (failures,) = final["scores"]["failures"]
    assert (failures["metric"], failures["failed"], failures["total"]) == ("gsb", 2, 10)
    assert failures["cause"] == NO_VERDICT and not failures["overBudget"]
    assert conditions(final)["Degraded"]["status"] == "True"
    assert final["message"].startswith(
        "evaluation finished with failed items: gsb failed on 2 of 10 items (20.0%, allowed 25.0%)"
    )
    summary = summary_json(final)
    assert {k: summary["gsb"][k] for k in ("good", "same", "bad", "failed", "flipped")} == {
        "good": 4, "same": 3, "bad": 1, "failed": 2, "flipped": 2}  # fmt: skip
