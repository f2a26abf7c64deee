"""GSB verdict parsing, the swap rule and one item compared in both orders."""

from __future__ import annotations

import pytest

from modeleval.scoring.config import JudgeConfig
from modeleval.scoring.judge import JudgeParseError
from modeleval.scoring.pairwise import GsbCounts, PairOutcome, combine, compare_pair, parse_verdict
from tests.support.judges import ScriptedJudge


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ('{"winner": "A", "reason": "more complete"}', "A"),
        ('{"winner": "b"}', "B"),
        ('{"winner": "tie"}', "tie"),
        ("[[A]]", "A"),
        ("[[C]]", "tie"),
        ("Winner: B", "B"),
        ("更好的回答是A。", "A"),
        ("回答B更好", "B"),
        ("两个回答质量相当，平局", "tie"),
        ("Both are equally good.", "tie"),
        ("B", "B"),
    ],
)
def test_parse_verdict(reply: str, verdict: str) -> None:
    assert parse_verdict(reply) == verdict


@pytest.mark.parametrize("reply", ["", "I can't decide which to pick", '{"winner": "D"}'])
def test_parse_verdict_rejects(reply: str) -> None:
    with pytest.raises(JudgeParseError):
        parse_verdict(reply)


@pytest.mark.parametrize(
    ("first", "second", "gsb"),
    [
        ("A", "B", "good"),  # candidate preferred in both orders
        ("B", "A", "bad"),  # baseline preferred in both orders
        ("A", "A", "same"),  # position bias: always the first answer
        ("B", "B", "same"),  # position bias: always the second answer
        ("tie", "B", "same"),
        ("A", "tie", "same"),
        ("tie", "tie", "same"),
    ],
)
def test_combine_swapped_verdicts(first: str, second: str, gsb: str) -> None:
    assert combine(first, second) == gsb  # type: ignore[arg-type]


async def test_compare_pair_asks_both_orders() -> None:
    judge = ScriptedJudge()
    config = JudgeConfig.model_validate({"retryBackoffSeconds": 0})
    outcome = await compare_pair(
        judge, config, question="q", reference="r", candidate="cand q=5", baseline="base q=1"
    )
    assert judge.pair_orders() == [("cand q=5", "base q=1"), ("base q=1", "cand q=5")]
    assert outcome.gsb == "good" and outcome.verdicts == ("A", "B") and outcome.error is None
    assert outcome.reasons == ("5 vs 1", "1 vs 5")


async def test_compare_pair_failure_is_reported_not_raised() -> None:
    judge = ScriptedJudge(fail={"base q=1\n\n[回答 B": 99})  # only the swapped order fails
    config = JudgeConfig.model_validate({"retryBackoffSeconds": 0, "retries": 1})
    outcome = await compare_pair(
        judge, config, question="q", reference="r", candidate="cand q=5", baseline="base q=1"
    )
    assert outcome.gsb is None
    assert outcome.verdicts == ("A", None)
    assert outcome.error is not None and outcome.error.startswith("BA: judge call failed")


def test_counts_and_net() -> None:
    outcomes = (
        [PairOutcome("good", ("A", "B"))] * 3
        + [PairOutcome("bad", ("B", "A"))]
        + [
            PairOutcome("same", ("A", "A")),
            PairOutcome(None, (None, None), "boom"),
        ]
    )
    counts = GsbCounts.tally(outcomes)
    assert (counts.good, counts.same, counts.bad, counts.failed) == (3, 1, 1, 1)
    assert counts.net == pytest.approx((3 - 1) / 5)
    assert GsbCounts(0, 0, 0, 2).net == 0.0
