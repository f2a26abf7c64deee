"""GSB verdict parsing, the swap rule and one item compared in both orders."""

from __future__ import annotations

import pytest

from modeleval.scoring.config import JudgeConfig
from modeleval.scoring.judge import fill_prompt, prompt_text
from modeleval.scoring.pairwise import GsbCounts, PairOutcome, combine, compare_pair
from modeleval.scoring.verdicts import (
    CAUSE_ECHO,
    CAUSE_EMPTY,
    CAUSE_NO_VERDICT,
    CAUSE_TWO_VERDICTS,
    JudgeParseError,
    PromptText,
    parse_verdict,
)
from tests.support.judges import GARBAGE, ScriptedJudge


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("A is more complete.\n[[A]]", "A"),
        ("[[B]]", "B"),
        ("Final verdict: [[C]]", "tie"),
        ("[[C]] for a tie.", "tie"),  # MT-Bench judges often repeat the option's words
        ("My final verdict is: [[A>>B]]\n\nA also cites its sources.", "A"),
        ("My final verdict is [[B>A]].", "B"),
        ("My final verdict is tie: [[A=B]]", "tie"),
        ("[[ A ]]", "A"),
        ("[[B>>A]]\n\nStep by step: style is a tie, B > A on facts.\n\n[[B>>A]]", "B"),
        ("<think>A>B? no, it's a tie... [[A]]</think>\nMy final verdict is [[C]]", "tie"),
        ("A's reasoning...</think>\n[[B]]", "B"),  # the chat template opened the block
        ('{"winner": "A", "reason": "more complete"}', "A"),
        ('{"winner": "b"}', "B"),
        ('```json\n{"winner": "tie"}\n```', "tie"),
    ],
)
def test_parse_verdict_reads_the_documented_formats(reply: str, verdict: str) -> None:
    assert parse_verdict(reply) == verdict


@pytest.mark.parametrize(
    "reply",
    [
        "Both answers are the same length and equally fluent, but A is right.\n[[A]]",
        "两个回答一样流畅，水平相当，但 B 的事实正确。\n[[B]]",
        "It is not a tie: B is better. [[B]]",
    ],
)
def test_tie_words_in_the_reasoning_are_not_a_tie(reply: str) -> None:
    """ "same", "equal", "tie", "一样", "相当" in the reasoning mean nothing: the label decides."""
    assert parse_verdict(reply) != "tie"


@pytest.mark.parametrize(
    "reply",
    [
        "Both answers are the same and equally good.",
        "两个回答一样，平局。",
        "It's a tie.",
        "tie",
        GARBAGE,
    ],
)
def test_tie_words_without_a_label_are_no_verdict(reply: str) -> None:
    with pytest.raises(JudgeParseError) as caught:
        parse_verdict(reply)
    assert caught.value.cause == CAUSE_NO_VERDICT


@pytest.mark.parametrize(
    ("reply", "cause"),
    [
        ("", CAUSE_EMPTY),
        ("I can't decide which to pick", CAUSE_NO_VERDICT),
        ("B", CAUSE_NO_VERDICT),  # a bare letter: only with a prompt that asks for one
        ("Winner: B", CAUSE_NO_VERDICT),
        ("更好的回答是A。", CAUSE_NO_VERDICT),
        ("[[a]]", CAUSE_NO_VERDICT),
        ('{"winner": "D"}', CAUSE_NO_VERDICT),
        ("<think>clearly [[A]]", CAUSE_EMPTY),  # cut off while reasoning
        ('"[[A]]" if A is better, "[[B]]" if B is better, "[[C]]" for a tie.', CAUSE_TWO_VERDICTS),
        ("[[A]] on style, but [[B]] on facts.", CAUSE_TWO_VERDICTS),
    ],
)
def test_parse_verdict_rejects(reply: str, cause: str) -> None:
    with pytest.raises(JudgeParseError) as caught:
        parse_verdict(reply)
    assert caught.value.cause == cause


def test_a_reply_repeating_the_prompt_is_no_verdict() -> None:
    config = JudgeConfig.model_validate({})
    template = config.pairwise_prompt_template
    prompt = fill_prompt(
        template, config, question="q", reference="r", answer_a="x [[A]]", answer_b="y"
    )
    fixed = prompt_text(template, config)
    with pytest.raises(JudgeParseError) as caught:
        parse_verdict(prompt, prompt=fixed)
    assert caught.value.cause == CAUSE_ECHO
    # The prompt's last line names all three verdicts: even without knowing the prompt, the
    # echo is no verdict.
    with pytest.raises(JudgeParseError) as caught:
        parse_verdict(prompt)
    assert caught.value.cause == CAUSE_TWO_VERDICTS
    # A prompt's example verdict, copied as the whole reply, is an echo too.
    example = PromptText.of(['Example output: "My final verdict is tie: [[A=B]]".'])
    with pytest.raises(JudgeParseError) as caught:
        parse_verdict("\nMy final verdict is tie: [[A=B]]", prompt=example)
    assert caught.value.cause == CAUSE_ECHO
    assert parse_verdict("My final verdict is: [[A=B]]", prompt=example) == "tie"


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
    assert outcome.reasons == ("5 vs 1\n[[A]]", "1 vs 5\n[[B]]")
    assert not outcome.flipped


async def test_position_bias_is_a_flip_and_garbage_a_failure() -> None:
    config = JudgeConfig.model_validate({"retryBackoffSeconds": 0, "retries": 0})
    biased = await compare_pair(
        ScriptedJudge(position_bias="BIAS"),
        config,
        question="q",
        reference="r",
        candidate="cand BIAS q=5",
        baseline="base q=1",
    )
    assert (biased.gsb, biased.verdicts, biased.flipped) == ("same", ("A", "A"), True)
    garbage = await compare_pair(
        ScriptedJudge(garbage="GARBAGE"),
        config,
        question="q",
        reference="r",
        candidate="cand GARBAGE",
        baseline="base",
    )
    assert garbage.gsb is None and not garbage.flipped
    assert garbage.cause == CAUSE_NO_VERDICT
    assert garbage.error is not None and garbage.error.startswith(f"AB: {CAUSE_NO_VERDICT}")


async def test_compare_pair_failure_is_reported_not_raised() -> None:
    judge = ScriptedJudge(fail={"base q=1\n\n[回答 B": 99})  # only the swapped order fails
    config = JudgeConfig.model_validate({"retryBackoffSeconds": 0, "retries": 1})
    outcome = await compare_pair(
        judge, config, question="q", reference="r", candidate="cand q=5", baseline="base q=1"
    )
    assert outcome.gsb is None
    assert outcome.verdicts == ("A", None)
    assert outcome.error is not None and outcome.error.startswith("BA: judge call failed")
    assert outcome.cause == "judge call failed: ConnectionError"


def test_counts_and_net() -> None:
    outcomes = (
        [PairOutcome("good", ("A", "B"))] * 3
        + [PairOutcome("bad", ("B", "A"))]
        + [
            PairOutcome("same", ("A", "A")),
            PairOutcome("same", ("tie", "B")),
            PairOutcome(None, (None, None), "boom"),
        ]
    )
    counts = GsbCounts.tally(outcomes)
    assert (counts.good, counts.same, counts.bad, counts.failed) == (3, 2, 1, 1)
    assert counts.flipped == 1  # (A, A): the first position won both times
    assert counts.net == pytest.approx((3 - 1) / 6)
    assert GsbCounts(0, 0, 0, 2).net == 0.0
    assert GsbCounts.tally(outcomes, swapped=False).flipped is None
