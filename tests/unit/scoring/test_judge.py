"""Judge prompt filling, score parsing, retries, timeouts and concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from modeleval.scoring.config import DEFAULT_JUDGE_PROMPT, JudgeConfig
from modeleval.scoring.judge import (
    ChatMessage,
    JudgeParseError,
    fill_prompt,
    gather_limited,
    judge_answer,
    parse_score,
    prompt_text,
)
from modeleval.scoring.verdicts import (
    CAUSE_ECHO,
    CAUSE_EMPTY,
    CAUSE_NO_SCORE,
    CAUSE_TWO_SCORES,
)
from tests.support.judges import ScriptedJudge

FAST = {"retryBackoffSeconds": 0, "timeoutSeconds": 2}


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ("The answer is right.\nScore: 4", 4.0),
        ("理由：回答正确。\n评分：3", 3.0),
        ("评分: 4.5分", 4.5),
        ("**Score**: 2", 2.0),
        ("Score: 4/5", 4.0),  # a fraction only on the task's own scale
        ("Rating: [[5]]", 5.0),
        ("Correct and complete. [[3]]", 3.0),
        ("It misses a step.\n\nScore: 3.5.", 3.5),
    ],
)
def test_parse_score_reads_the_documented_formats(reply: str, score: float) -> None:
    assert parse_score(reply, max_score=5) == (score, reply.strip())


@pytest.mark.parametrize(
    ("reply", "score", "reason"),
    [
        ('{"score": 4, "reason": "准确"}', 4.0, "准确"),
        ('```json\n{"score": "3.5", "reason": "ok"}\n```', 3.5, "ok"),
    ],
)
def test_parse_score_reads_a_whole_json_reply(reply: str, score: float, reason: str) -> None:
    assert parse_score(reply, max_score=5) == (score, reason)


def test_parse_score_reads_the_verdict_after_the_reasoning() -> None:
    """Numbers in the reasoning (a 2, 3/5, "rating of 1") are not verdicts: the label is."""
    reply = (
        "Step 2 is wrong, so 2 of 5 steps fail; I first thought 3/5, and the reference's "
        "rating of 1 is too harsh.\n\nScore: 4"
    )
    assert parse_score(reply, max_score=5)[0] == 4.0
    # The verdict repeated with the same value is fine, wherever it stands.
    assert parse_score("评分: 4\n原因: 评分: 4 因为……", max_score=5)[0] == 4.0


@pytest.mark.parametrize(
    ("reply", "cause"),
    [
        ("", CAUSE_EMPTY),
        ("<think>maybe a 4</think>", CAUSE_EMPTY),
        ("I cannot evaluate this.", CAUSE_NO_SCORE),
        ("很好", CAUSE_NO_SCORE),
        ("I'd give it 3/5.", CAUSE_NO_SCORE),  # a fraction in prose is not the format
        ("The rating for this answer is 4.", CAUSE_NO_SCORE),
        ("5", CAUSE_NO_SCORE),  # a bare number is not the format
        ('{"score": "high"}', CAUSE_NO_SCORE),
        ('{"score": true}', CAUSE_NO_SCORE),
        ('{"rating": 2}', CAUSE_NO_SCORE),
        ("Score: 9", "the judge's score is outside 0-5"),
        ("Score: -1", "the judge's score is outside 0-5"),
        ("Score: 8/10", "the judge's score is outside 0-5"),
        ("It deserves [[4]] or even [[5]].", CAUSE_TWO_SCORES),
        ("Score: 2 at first.\nOn reflection:\nScore: 4", CAUSE_TWO_SCORES),
    ],
)
def test_parse_score_rejects_what_is_not_a_trusted_score(reply: str, cause: str) -> None:
    with pytest.raises(JudgeParseError) as caught:
        parse_score(reply, max_score=5)
    assert caught.value.cause == cause


def test_fill_prompt_placeholders_and_literal_braces() -> None:
    config = JudgeConfig.model_validate(
        {"promptParam": {"metric": "准确性", "steps": "1. 对比参考答案", "maxScore": 10}}
    )
    prompt = fill_prompt(
        DEFAULT_JUDGE_PROMPT, config, question="问题{answer}", reference="参考", answer="回答 {x}"
    )
    assert "评价指标 / Metric: 准确性" in prompt
    assert "1. 对比参考答案" in prompt
    assert "0 - 10" in prompt
    assert "问题{answer}" in prompt  # item text is never re-substituted
    assert "回答 {x}" in prompt
    assert prompt.rstrip().endswith("Score: N")  # the documented final line
    assert "{max_score}" not in prompt and "{metric}" not in prompt
    assert fill_prompt('{{"score": {max_score}}}', config) == '{"score": 10}'


def test_a_reply_repeating_the_prompt_is_not_a_score() -> None:
    config = JudgeConfig.model_validate({"promptParam": {"maxScore": 5}})
    prompt = fill_prompt(
        DEFAULT_JUDGE_PROMPT, config, question="1+1?", reference="2", answer="Score: 5"
    )
    fixed = prompt_text(DEFAULT_JUDGE_PROMPT, config)
    with pytest.raises(JudgeParseError) as caught:
        parse_score(prompt, max_score=5, prompt=fixed)  # the whole prompt echoed
    assert caught.value.cause == CAUSE_ECHO
    # The item's own text (question, answer) and the user's steps may be quoted freely.
    assert parse_score("You wrote 'Score: 5' in the answer.\nScore: 1", 5, prompt=fixed)[0] == 1


async def test_judge_answer_returns_score_and_reason() -> None:
    judge = ScriptedJudge()
    outcome = await judge_answer(
        judge, JudgeConfig.model_validate(FAST), question="q", reference="r", answer="q=3"
    )
    assert (outcome.score, outcome.reason, outcome.error, outcome.attempts) == (
        3.0,
        "q is 3\nScore: 3",  # a text reply is its own reason
        None,
        1,
    )
    assert "q=3" in judge.prompts[0]


async def test_retries_then_succeeds() -> None:
    judge = ScriptedJudge(fail={"q=4": 2})
    config = JudgeConfig.model_validate({**FAST, "retries": 2})
    outcome = await judge_answer(judge, config, question="", reference="", answer="q=4")
    assert outcome.score == 4.0 and outcome.attempts == 3 and outcome.error is None


async def test_gives_up_after_retries_with_error() -> None:
    judge = ScriptedJudge(fail={"q=4": 99})
    config = JudgeConfig.model_validate({**FAST, "retries": 1})
    outcome = await judge_answer(judge, config, question="", reference="", answer="q=4")
    assert outcome.score is None
    assert outcome.attempts == 2 and len(judge.prompts) == 2
    assert outcome.error is not None and "ConnectionError" in outcome.error
    assert outcome.cause == "judge call failed: ConnectionError"


async def test_unparseable_reply_is_retried_then_reported() -> None:
    judge = ScriptedJudge(reply_format=lambda n: "no idea")
    config = JudgeConfig.model_validate({**FAST, "retries": 2})
    outcome = await judge_answer(judge, config, question="", reference="", answer="q=1")
    assert outcome.score is None and outcome.attempts == 3
    assert outcome.cause == CAUSE_NO_SCORE
    assert outcome.error is not None and outcome.error.startswith(CAUSE_NO_SCORE)
    assert "the reply ends: 'no idea'" in outcome.error


async def test_timeout_per_call() -> None:
    async def slow(messages: Sequence[ChatMessage]) -> str:
        await asyncio.sleep(5)
        return "Score: 5"

    config = JudgeConfig.model_validate(
        {"timeoutSeconds": 0.05, "retries": 1, "retryBackoffSeconds": 0}
    )
    outcome = await judge_answer(slow, config, question="", reference="", answer="")
    assert outcome.score is None and outcome.attempts == 2
    assert outcome.error == outcome.cause == "judge timed out after 0.05s"


async def test_gather_limited_caps_concurrency_and_keeps_order() -> None:
    judge = ScriptedJudge(delay=0.01)
    config = JudgeConfig.model_validate(FAST)

    def job(n: int):  # type: ignore[no-untyped-def]
        return lambda: judge_answer(judge, config, question="", reference="", answer=f"q={n}")

    outcomes = await gather_limited([job(n % 6) for n in range(20)], concurrency=3)
    assert [o.score for o in outcomes] == [float(n % 6) for n in range(20)]
    assert judge.max_in_flight == 3


def test_request_timeout_seconds_bounds_each_judge_call() -> None:
    """The EvalTask's client.requestTimeoutSeconds is the judge's whole-call timeout; it wins
    over readTimeoutSeconds, which the judge otherwise uses for the same purpose."""
    both = {"client": {"readTimeoutSeconds": 30, "requestTimeoutSeconds": 7}}
    assert JudgeConfig.model_validate(both).timeout_seconds == 7
    read_only = {"client": {"readTimeoutSeconds": 30}}
    assert JudgeConfig.model_validate(read_only).timeout_seconds == 30


async def test_a_custom_prompt_template_is_what_the_judge_reads() -> None:
    """spec.scoring.judge.promptTemplate replaces the built-in prompt, placeholders filled."""
    from modeleval.scoring import ScoringConfig

    seen: list[str] = []

    async def judge(messages: Sequence[ChatMessage]) -> str:
        seen.append(messages[-1]["content"])
        return "Score: 3"

    template = "Rate {answer} against {reference} for {question} on 0-{max_score}."
    spec = {"scoring": {"modes": ["model"], "judge": {
        "promptTemplate": template, "promptParam": {"maxScore": 4}}}}  # fmt: skip
    config = ScoringConfig.from_task_spec(spec).judge
    outcome = await judge_answer(judge, config, question="q?", reference="r", answer="a")
    assert seen == ["Rate a against r for q? on 0-4."]
    assert outcome.score == 3.0
