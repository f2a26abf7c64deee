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
)
from tests.support.judges import ScriptedJudge

FAST = {"retryBackoffSeconds": 0, "timeoutSeconds": 2}


@pytest.mark.parametrize(
    ("reply", "score", "reason"),
    [
        ('{"score": 4, "reason": "准确"}', 4.0, "准确"),
        ('```json\n{"score": "3.5", "reason": "ok"}\n```', 3.5, "ok"),
        ('{"rating": 2, "explanation": "meh"}', 2.0, "meh"),
        ("评分：4", 4.0, "评分：4"),
        ("理由：回答正确。\n得分: 3分", 3.0, None),
        ("Score: 4/5", 4.0, None),
        ("Rating: 8 out of 10", 4.0, None),  # rescaled to maxScore 5
        ("**Score**: 2", 2.0, None),
        ("I'd give it 3/5.", 3.0, None),
        ("5", 5.0, ""),
        ("4.5分", 4.5, ""),
        ('{"score": 9}', 5.0, ""),  # clamped to maxScore
        ("Score: -1", 0.0, None),  # clamped to 0
    ],
)
def test_parse_score(reply: str, score: float, reason: str | None) -> None:
    parsed_score, parsed_reason = parse_score(reply, max_score=5)
    assert parsed_score == score
    if reason is not None:
        assert parsed_reason == reason
    else:
        assert parsed_reason == reply.strip()


@pytest.mark.parametrize(
    "reply", ["", "I cannot evaluate this.", '{"score": "high"}', '{"score": true}', "很好"]
)
def test_parse_score_rejects_unparseable(reply: str) -> None:
    with pytest.raises(JudgeParseError):
        parse_score(reply, max_score=5)


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
    assert '{"score": <0 - 10' in prompt  # {{ }} in the template become literal braces
    assert "{max_score}" not in prompt and "{metric}" not in prompt


async def test_judge_answer_returns_score_and_reason() -> None:
    judge = ScriptedJudge()
    outcome = await judge_answer(
        judge, JudgeConfig.model_validate(FAST), question="q", reference="r", answer="q=3"
    )
    assert (outcome.score, outcome.reason, outcome.error, outcome.attempts) == (
        3.0,
        "q is 3",
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


async def test_unparseable_reply_is_retried_then_reported() -> None:
    judge = ScriptedJudge(reply_format=lambda n: "no idea")
    config = JudgeConfig.model_validate({**FAST, "retries": 2})
    outcome = await judge_answer(judge, config, question="", reference="", answer="q=1")
    assert outcome.score is None and outcome.attempts == 3
    assert outcome.error is not None and "no score in judge reply" in outcome.error


async def test_timeout_per_call() -> None:
    async def slow(messages: Sequence[ChatMessage]) -> str:
        await asyncio.sleep(5)
        return "5"

    config = JudgeConfig.model_validate(
        {"timeoutSeconds": 0.05, "retries": 1, "retryBackoffSeconds": 0}
    )
    outcome = await judge_answer(slow, config, question="", reference="", answer="")
    assert outcome.score is None and outcome.attempts == 2
    assert outcome.error == "judge timed out after 0.05s"


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
