"""Deterministic in-process judges (test doubles of a JudgeClient) that record what they see."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from modeleval.scoring.judge import ChatMessage

ANSWER_RE = re.compile(r"\[模型回答 / Answer\]\n(.*?)\n\n", re.DOTALL)
PAIR_RE = re.compile(r"\[回答 A / Answer A\]\n(.*?)\n\n\[回答 B / Answer B\]\n(.*?)\n\n", re.DOTALL)
QUALITY_RE = re.compile(r"q=(\d+)")


def quality(answer: str) -> int:
    """Answers in these tests carry their quality as ``q=N``."""
    match = QUALITY_RE.search(answer)
    return int(match.group(1)) if match else 0


@dataclass
class ScriptedJudge:
    """Scores ``q=N`` answers as N, and prefers the higher ``q`` in pairwise prompts.

    ``fail`` maps a substring of the prompt to how many calls containing it fail before
    one succeeds (a large number: always fails). ``position_bias`` makes pairwise verdicts
    always "A" for answers containing that marker, so the swap turns them into Same.
    """

    fail: dict[str, int] = field(default_factory=dict)
    position_bias: str | None = None
    delay: float = 0.0
    reply_format: Callable[[int], str] = lambda n: f'{{"score": {n}, "reason": "q is {n}"}}'
    prompts: list[str] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    async def __call__(self, messages: Sequence[ChatMessage], /) -> str:
        prompt = messages[-1]["content"]
        self.prompts.append(prompt)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            for marker, remaining in self.fail.items():
                if marker in prompt and remaining > 0:
                    self.fail[marker] = remaining - 1
                    raise ConnectionError(f"injected failure for {marker}")
            pair = PAIR_RE.search(prompt)
            if pair:
                a, b = pair.group(1), pair.group(2)
                if self.position_bias and self.position_bias in a + b:
                    return '{"winner": "A", "reason": "first is better"}'
                qa, qb = quality(a), quality(b)
                winner = "A" if qa > qb else "B" if qb > qa else "tie"
                return f'{{"winner": "{winner}", "reason": "{qa} vs {qb}"}}'
            single = ANSWER_RE.search(prompt)
            assert single is not None, prompt
            return self.reply_format(quality(single.group(1)))
        finally:
            self.in_flight -= 1

    def pair_orders(self) -> list[tuple[str, str]]:
        """(answer A, answer B) of every pairwise prompt seen, in call order."""
        return [
            (m.group(1), m.group(2)) for p in self.prompts if (m := PAIR_RE.search(p)) is not None
        ]
