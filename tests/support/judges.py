"""Deterministic in-process judges (test doubles of a JudgeClient) that record what they see."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

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
    always "A" for answers containing that marker, so the swap turns them into Same (a flip).
    ``garbage`` makes the judge answer prompts containing that marker with text that holds no
    verdict, though it talks about answers being "the same" and "equally" good.
    Replies follow the prompts' format: the reason first, then ``Score: N`` or ``[[A]]``.
    """

    fail: dict[str, int] = field(default_factory=dict)
    position_bias: str | None = None
    garbage: str | None = None
    delay: float = 0.0
    reply_format: Callable[[int], str] = lambda n: f"q is {n}\nScore: {n}"
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
            if self.garbage and self.garbage in prompt:
                return GARBAGE
            pair = PAIR_RE.search(prompt)
            if pair:
                a, b = pair.group(1), pair.group(2)
                if self.position_bias and self.position_bias in a + b:
                    return "The first one reads better.\n[[A]]"
                qa, qb = quality(a), quality(b)
                winner = "A" if qa > qb else "B" if qb > qa else "C"
                return f"{qa} vs {qb}\n[[{winner}]]"
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


GARBAGE = (
    "Both answers are about the same: equally fluent, the same length, a tie on style. "
    "I am not able to pick one or to give a score."
)
"""A reply with tie words and no verdict: it must fail the item, never count as a tie."""

FAST_JUDGE = {"retryBackoffSeconds": 0, "retries": 1, "concurrency": 4, "timeoutSeconds": 5}


def pred(
    i: int, output: str | None, *, error: str | None = None, target: str = ""
) -> dict[str, Any]:
    return {
        "id": str(i),
        "input": f"问题 {i}",
        "target": target or f"答案 {i}",
        "output": output,
        "error": error,
    }


def gsb_predictions() -> dict[str, list[dict[str, Any]]]:
    """Items 1-4: candidate better; 5-6: baseline better; 7: equal; 8: position-biased judge;
    9: every judge call about it fails; 10: the baseline's inference failed."""
    cand = [pred(i, f"cand {i} q=5") for i in range(1, 5)]
    base = [pred(i, f"base {i} q=2") for i in range(1, 5)]
    cand += [pred(i, f"cand {i} q=1") for i in (5, 6)]
    base += [pred(i, f"base {i} q=4") for i in (5, 6)]
    cand += [
        pred(7, "cand 7 q=3"),
        pred(8, "cand 8 BIAS q=5"),
        pred(9, "cand 9 FAIL9 q=5"),
        pred(10, "cand 10 q=5"),
    ]
    base += [
        pred(7, "base 7 q=3"),
        pred(8, "base 8 BIAS q=1"),
        pred(9, "base 9 q=1"),
        pred(10, None, error="HTTP 500"),
    ]
    return {"cand": cand, "base": base}


# The mock judge's rules, in the formats the prompts ask for: pairwise prompts first (the
# better answer carries "q=5"), then single-answer prompts (score = the digit after "q=").
RULES = [
    (r"(?s)\[回答 A / Answer A\].*BIAS", "The first answer is better.\n[[A]]"),
    (
        r"(?s)\[回答 A / Answer A\]\n[^\n]*q=5[^\n]*\n\n\[回答 B / Answer B\]\n[^\n]*q=5",
        "Both are equally good.\n[[C]]",
    ),
    (r"(?s)\[回答 A / Answer A\]\n[^\n]*q=5", "A has q=5, B is not the same.\n[[A]]"),
    (r"(?s)\[回答 B / Answer B\]\n[^\n]*q=5", "B has q=5.\nFinal verdict: [[B]]"),
    (r"(?s)\[回答 A / Answer A\]", "[[C]]"),
    (r"(?s)\[模型回答 / Answer\]\n[^\n]*UNPARSEABLE", "I refuse to score this."),
    (r"(?s)\[模型回答 / Answer\]\n[^\n]*q=(\d)", r"理由：q is \1\n评分：\1/5"),
]
