"""Judge and GSB over HTTP against the mock model server acting as the judge model."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from modeleval.scoring import JudgeHTTPError, OpenAIJudge, ScoringConfig, score_results
from modeleval.scoring.config import JudgeConfig
from modeleval.scoring.judge import fill_prompt
from modeleval.scoring.verdicts import CAUSE_NO_SCORE
from modeleval_testkit.mockserver import FaultKind, FaultSettings, MockModelServer
from tests.support.judges import RULES

JUDGE = {
    "retryBackoffSeconds": 0,
    "retries": 2,
    "concurrency": 4,
    "timeoutSeconds": 5,
    "apiName": "mock-model",
    "promptParam": {"metric": "质量", "steps": "s", "maxScore": 5},
}


def read_scores(out: Path) -> dict[str, dict[str, Any]]:
    rows = [json.loads(x) for x in (out / "scores.jsonl").read_text("utf-8").splitlines()]
    return {r["id"]: r for r in rows}


def lines_gsb(out: Path, item: str) -> str | None:
    result: str | None = read_scores(out)[item]["gsb"]["result"]
    return result


def row(i: int, output: str | None, error: str | None = None) -> dict[str, Any]:
    return {"id": str(i), "input": f"q{i}", "target": f"t{i}", "output": output, "error": error}


@pytest.fixture
async def judge_server() -> AsyncIterator[MockModelServer]:
    # The single-answer prompt for item 6's candidate fails with HTTP 500 three times:
    # more than the 1 + 2 retries allowed, so that item is marked and excluded.
    failing_prompt = fill_prompt(
        JudgeConfig.model_validate(JUDGE).prompt_template,
        JudgeConfig.model_validate(JUDGE),
        question="q6",
        reference="t6",
        answer="cand 6 q=5",
    )
    # The pairwise prompt for item 2, swapped order, fails twice: the retries recover.
    flaky_pair = fill_prompt(
        JudgeConfig.model_validate(JUDGE).pairwise_prompt_template,
        JudgeConfig.model_validate(JUDGE),
        question="q2",
        reference="t2",
        answer_a="base 2 q=3",
        answer_b="cand 2 q=5",
    )
    server = MockModelServer(
        rules=RULES,
        faults=FaultSettings(
            by_item={
                failing_prompt: [FaultKind.SERVER_ERROR] * 3,
                flaky_pair: [FaultKind.UNAVAILABLE, FaultKind.SERVER_ERROR],
            },
        ),
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_judge_and_gsb_over_http(judge_server: MockModelServer, tmp_path: Path) -> None:
    preds = {
        "cand": [
            row(1, "cand 1 q=5"),
            row(2, "cand 2 q=5"),
            row(3, "cand 3 q=1"),
            row(4, "cand 4 q=5"),
            row(5, "cand 5 BIAS q=5"),
            row(6, "cand 6 q=5"),
            row(7, "cand 7 UNPARSEABLE q=3"),
        ],
        "base": [
            row(1, "base 1 q=2"),
            row(2, "base 2 q=3"),
            row(3, "base 3 q=5"),
            row(4, "base 4 q=5"),
            row(5, "base 5 q=1"),
            row(6, "base 6 q=1"),
            row(7, "base 7 q=4"),
        ],
    }
    config = ScoringConfig.model_validate(
        {"evalMode": "model", "baseline": "base", "autoModelEvalConfig": JUDGE}
    )
    async with OpenAIJudge(judge_server.url, config.judge.api_name or "") as judge:
        summary = await score_results(config, preds, tmp_path, judge_client=judge)

    # Items 1, 2, 6 and 7: candidate has q=5 (or base has lower) → Good only if both orders
    # agree. 1, 2, 6: Good. 3: Bad. 4: both q=5 → tie → Same. 5: position bias → Same.
    # 7: neither has q=5 → [[C]] → Same.
    assert summary.gsb is not None
    assert (summary.gsb["good"], summary.gsb["same"], summary.gsb["bad"]) == (3, 3, 1)
    assert summary.gsb["failed"] == 0 and summary.gsb["flipped"] == 1  # item 5
    assert summary.gsb["net"] == pytest.approx((3 - 1) / 7)
    # Items 6 (HTTP 500) and 7 (no score) failed their judge call: 2 of 14 answers, over the
    # default 10% budget, so the task gets no totalScore.
    assert summary.failures[0] == {
        "metric": "judge", "total": 14, "failed": 2, "maxErrorRatio": 0.1,
        "overBudget": True, "cause": "HTTP 500 from the judge", "causeItems": 1,
    }  # fmt: skip
    assert summary.failures[1]["failed"] == 0 and summary.total_score is None

    stats = judge_server.stats()
    flaky = [p for p in stats.by_prompt if "Answer A]\nbase 2 q=3\n" in p]
    assert len(flaky) == 1 and stats.by_prompt[flaky[0]] == 3  # 2 failures + 1 success
    assert lines_gsb(tmp_path, "2") == "good"
    lines = read_scores(tmp_path)
    # Position swap: both orders of every pair reached the server.
    for i in range(1, 8):
        cand, base = preds["cand"][i - 1]["output"], preds["base"][i - 1]["output"]
        first = [p for p in stats.by_prompt if f"Answer A]\n{cand}\n" in p and base in p]
        second = [p for p in stats.by_prompt if f"Answer A]\n{base}\n" in p and cand in p]
        assert len(first) == 1 and len(second) == 1, i

    cand6 = lines["6"]["models"]["cand"]["judge"]
    assert cand6["score"] is None and "HTTP 500" in cand6["error"]
    cand7 = lines["7"]["models"]["cand"]["judge"]
    assert cand7["score"] is None and cand7["cause"] == CAUSE_NO_SCORE
    assert "I refuse to score this." in cand7["error"]
    assert lines["1"]["models"]["cand"]["judge"] == {
        "score": 5.0,
        "reason": "理由：q is 5\n评分：5/5",
        "error": None,
    }
    # Candidate judge mean over the 5 scored items: 5, 5, 1, 5, 5 → 21/25.
    cand = summary.per_model["cand"]
    assert cand["metrics"]["judge"] == pytest.approx(21 / 25 * 100)
    assert cand["counts"]["judgeFailed"] == 2
    assert summary.per_model["base"]["metrics"]["judge"] == pytest.approx(21 / 35 * 100)


async def test_openai_judge_reports_http_errors(judge_server: MockModelServer) -> None:
    async with OpenAIJudge(judge_server.url + "/nope", "mock-model") as judge:
        with pytest.raises(JudgeHTTPError, match="HTTP 404"):
            await judge([{"role": "user", "content": "hi"}])
    with pytest.raises(RuntimeError, match="async with"):
        await OpenAIJudge(judge_server.url, "m")([{"role": "user", "content": "hi"}])


async def test_a_completions_judge_is_sent_a_prompt(judge_server: MockModelServer) -> None:
    """scoring.judge.endpoint.api openai-completions: the judge's messages go to
    /completions as one prompt, and its text is the reply."""
    prompt = fill_prompt(
        JudgeConfig.model_validate(JUDGE).prompt_template,
        JudgeConfig.model_validate(JUDGE),
        question="q1",
        reference="t1",
        answer="cand 1 q=4",
    )
    messages = [{"role": "user", "content": prompt}]
    async with OpenAIJudge(judge_server.url, "mock-model", api="openai-completions") as judge:
        assert judge.url.endswith("/completions") and not judge.url.endswith("/chat/completions")
        reply = await judge(messages)
    async with OpenAIJudge(judge_server.url, "mock-model") as chat:
        assert reply == await chat(messages)  # the same judgement, through the other API
    assert "4" in reply


async def test_the_judge_gives_up_connecting_after_connect_timeout_seconds() -> None:
    """scoring.judge.client.connectTimeoutSeconds: a judge whose accept queue is full never
    completes the handshake; the call fails at the connect timeout."""
    import asyncio
    import socket
    import time

    import aiohttp

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        await asyncio.sleep(0.05)
        started = time.monotonic()
        judge = OpenAIJudge(f"http://127.0.0.1:{port}/v1", "j", connect_timeout_s=0.3)
        async with judge:
            with pytest.raises(aiohttp.ServerTimeoutError, match="Connection timeout"):
                await judge([{"role": "user", "content": "hi"}])
        elapsed = time.monotonic() - started
    finally:
        for each in (*fillers, listener):
            each.close()
    assert 0.25 <= elapsed < 5, elapsed
