"""GSB pairwise comparison of a candidate model against a baseline, judged twice per item.

For every item the judge sees (A=candidate, B=baseline) and then (A=baseline, B=candidate).
Both orders preferring the candidate → Good; both preferring the baseline → Bad; a tie in
either order, or verdicts that flip with the positions (position bias) → Same.
net = (G - B) / (G + S + B). Items where either judge call fails after retries are left out
of G/S/B and counted as ``failed``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from modeleval.scoring.config import JudgeConfig
from modeleval.scoring.judge import (
    JudgeClient,
    JudgeParseError,
    call_with_retries,
    fill_prompt,
    find_json_object,
)

Verdict = Literal["A", "B", "tie"]
Gsb = Literal["good", "same", "bad"]

_TIE_WORDS = r"(?:tie|draw|same|equal|equally|平局|相同|一样|持平|不分上下|相当)"
_BRACKETED_RE = re.compile(r"\[\[\s*(A|B|C|tie)\s*\]\]", re.IGNORECASE)
_WINNER_RE = re.compile(
    r"(?:winner|better(?: answer)?|verdict|更好的(?:回答|答案)?(?:是)?|胜者|获胜|结论|选择)"
    r"\s*(?:is|是|为|[:：])?\s*(?:answer|回答|答案)?\s*[\"'“]?\s*(A|B|tie)\b",
    re.IGNORECASE,
)
_A_BETTER_RE = re.compile(r"(?:answer|回答|答案)\s*([AB])\s*(?:is\s+)?(?:更好|better|胜出|更优)")
_TIE_RE = re.compile(_TIE_WORDS, re.IGNORECASE)


def parse_verdict(reply: str) -> Verdict:
    """Which answer the judge prefers: ``"A"``, ``"B"`` or ``"tie"``.

    Accepted: JSON ``{"winner": "A"}`` (also ``"tie"``), MT-Bench style ``[[A]]`` /
    ``[[C]]`` (tie), "Winner: B", "更好的回答是A", "回答B更好", "平局"/"tie".
    Raises :class:`JudgeParseError` when the reply names no verdict.
    """
    obj = find_json_object(reply)
    if obj is not None:
        for key in ("winner", "better", "verdict", "result", "胜者"):
            value = obj.get(key)
            if isinstance(value, str):
                return _verdict_word(value, reply)
    match = _BRACKETED_RE.search(reply)
    if match:
        return _verdict_word(match.group(1), reply)
    match = _WINNER_RE.search(reply) or _A_BETTER_RE.search(reply)
    if match:
        return _verdict_word(match.group(1), reply)
    if _TIE_RE.search(reply):
        return "tie"
    stripped = reply.strip().strip(".。\"'").upper()
    if stripped in ("A", "B"):
        return "A" if stripped == "A" else "B"
    raise JudgeParseError(f"no verdict in judge reply: {reply[:200]!r}")


def _verdict_word(word: str, reply: str) -> Verdict:
    word = word.strip().upper()
    if word == "A":
        return "A"
    if word == "B":
        return "B"
    if word == "C" or _TIE_RE.fullmatch(word.lower()):
        return "tie"
    raise JudgeParseError(f"unknown verdict {word!r} in judge reply: {reply[:200]!r}")


def combine(first: Verdict, second: Verdict) -> Gsb:
    """GSB class from (A=candidate, B=baseline) and the swapped (A=baseline, B=candidate)."""
    candidate_first = first == "A"
    candidate_second = second == "B"
    baseline_first = first == "B"
    baseline_second = second == "A"
    if candidate_first and candidate_second:
        return "good"
    if baseline_first and baseline_second:
        return "bad"
    return "same"


@dataclass(frozen=True, slots=True)
class PairOutcome:
    """GSB result of one item: both verdicts, the class, or an error."""

    gsb: Gsb | None
    verdicts: tuple[Verdict | None, Verdict | None]
    error: str | None = None
    reasons: tuple[str, str] = ("", "")


async def compare_pair(
    judge: JudgeClient,
    config: JudgeConfig,
    *,
    question: str,
    reference: str,
    candidate: str,
    baseline: str,
    swap: bool = True,
) -> PairOutcome:
    """Judge one item in both orders (or once, ``swap=False``) and combine the verdicts."""

    def prompt(answer_a: str, answer_b: str) -> str:
        return fill_prompt(
            config.pairwise_prompt_template,
            config,
            question=question,
            reference=reference,
            answer_a=answer_a,
            answer_b=answer_b,
        )

    def parse(reply: str) -> tuple[Verdict, str]:
        obj = find_json_object(reply)
        reason = str(obj.get("reason", "")) if obj else reply.strip()
        return parse_verdict(reply), reason

    first, err1, _ = await call_with_retries(judge, prompt(candidate, baseline), parse, config)
    if not swap:
        # One order only (A = candidate, B = baseline): no position-bias check.
        if first is None:
            return PairOutcome(None, (None, None), f"AB: {err1}")
        single: dict[Verdict, Gsb] = {"A": "good", "B": "bad", "tie": "same"}
        return PairOutcome(single[first[0]], (first[0], None), None, (first[1], ""))
    second, err2, _ = await call_with_retries(judge, prompt(baseline, candidate), parse, config)
    verdicts = (first[0] if first else None, second[0] if second else None)
    reasons = (first[1] if first else "", second[1] if second else "")
    if first is None or second is None:
        errors = [f"{order}: {e}" for order, e in (("AB", err1), ("BA", err2)) if e]
        return PairOutcome(None, verdicts, "; ".join(errors), reasons)
    return PairOutcome(combine(first[0], second[0]), verdicts, None, reasons)


@dataclass(frozen=True, slots=True)
class GsbCounts:
    good: int
    same: int
    bad: int
    failed: int

    @property
    def net(self) -> float:
        """(G - B) / (G + S + B), in [-1, 1]; 0 when no item was judged."""
        total = self.good + self.same + self.bad
        return (self.good - self.bad) / total if total else 0.0

    @classmethod
    def tally(cls, outcomes: list[PairOutcome]) -> GsbCounts:
        classes = [o.gsb for o in outcomes]
        return cls(
            good=classes.count("good"),
            same=classes.count("same"),
            bad=classes.count("bad"),
            failed=sum(1 for o in outcomes if o.gsb is None),
        )
