"""GSB pairwise comparison of a candidate model against a baseline, judged twice per item.

For every item the judge sees (A=candidate, B=baseline) and then (A=baseline, B=candidate).
Both orders preferring the candidate → Good; both preferring the baseline → Bad; anything else
→ Same. Same has two kinds, and the counts tell them apart: a tie in at least one order, or a
**flip** — the judge chose the same *position* in both orders (``[[A]]`` then ``[[A]]``, or
``[[B]]`` twice), so it preferred the candidate in one order and the baseline in the other:
position bias, not a judgment. net = (G - B) / (G + S + B).

An item whose judge call fails in either order after retries — no reply, or no verdict that can
be trusted (see :mod:`modeleval.scoring.verdicts`) — is left out of G/S/B and counted as
``failed``; it is never read as a tie.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from modeleval.scoring.config import JudgeConfig
from modeleval.scoring.judge import JudgeClient, call_with_retries, fill_prompt, prompt_text
from modeleval.scoring.verdicts import Verdict, json_reply, parse_verdict, visible_text

__all__ = ["GsbCounts", "PairOutcome", "Verdict", "combine", "compare_pair", "parse_verdict"]

Gsb = Literal["good", "same", "bad"]


def combine(first: Verdict, second: Verdict) -> Gsb:
    """GSB class from (A=candidate, B=baseline) and the swapped (A=baseline, B=candidate)."""
    if first == "A" and second == "B":
        return "good"
    if first == "B" and second == "A":
        return "bad"
    return "same"


@dataclass(frozen=True, slots=True)
class PairOutcome:
    """GSB result of one item: both verdicts and the class, or an error and its cause."""

    gsb: Gsb | None
    verdicts: tuple[Verdict | None, Verdict | None]
    error: str | None = None
    reasons: tuple[str, str] = ("", "")
    cause: str | None = None

    @property
    def flipped(self) -> bool:
        """The same position won in both orders: the preferred model changed with position."""
        first, second = self.verdicts
        return self.gsb == "same" and first == second and first in ("A", "B")


def _reason(reply: str) -> str:
    obj = json_reply(visible_text(reply))
    return str(obj.get("reason", "")) if obj else reply.strip()


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
    template = config.pairwise_prompt_template
    fixed = prompt_text(template, config)

    def prompt(answer_a: str, answer_b: str) -> str:
        return fill_prompt(
            template,
            config,
            question=question,
            reference=reference,
            answer_a=answer_a,
            answer_b=answer_b,
        )

    def parse(reply: str) -> tuple[Verdict, str]:
        return parse_verdict(reply, prompt=fixed), _reason(reply)

    first = await call_with_retries(judge, prompt(candidate, baseline), parse, config)
    if not swap:
        # One order only (A = candidate, B = baseline): no position-bias check.
        if first.value is None:
            return PairOutcome(None, (None, None), f"AB: {first.error}", cause=first.cause)
        single: dict[Verdict, Gsb] = {"A": "good", "B": "bad", "tie": "same"}
        verdict, reason = first.value
        return PairOutcome(single[verdict], (verdict, None), None, (reason, ""))
    second = await call_with_retries(judge, prompt(baseline, candidate), parse, config)
    verdicts = (
        first.value[0] if first.value else None,
        second.value[0] if second.value else None,
    )
    reasons = (
        first.value[1] if first.value else "",
        second.value[1] if second.value else "",
    )
    if first.value is None or second.value is None:
        failed = [f"{order}: {got.error}" for order, got in (("AB", first), ("BA", second))
                  if got.error]  # fmt: skip
        cause = first.cause if first.value is None else second.cause
        return PairOutcome(None, verdicts, "; ".join(failed), reasons, cause)
    return PairOutcome(combine(first.value[0], second.value[0]), verdicts, None, reasons)


@dataclass(frozen=True, slots=True)
class GsbCounts:
    """G/S/B over the judged items; ``flipped`` (part of ``same``) is None with one order."""

    good: int
    same: int
    bad: int
    failed: int
    flipped: int | None = None

    @property
    def judged(self) -> int:
        return self.good + self.same + self.bad

    @property
    def net(self) -> float:
        """(G - B) / (G + S + B), in [-1, 1]; 0 when no item was judged."""
        total = self.judged
        return (self.good - self.bad) / total if total else 0.0

    @classmethod
    def tally(cls, outcomes: Iterable[PairOutcome], *, swapped: bool = True) -> GsbCounts:
        listed = list(outcomes)
        classes = [o.gsb for o in listed]
        return cls(
            good=classes.count("good"),
            same=classes.count("same"),
            bad=classes.count("bad"),
            failed=classes.count(None),
            flipped=sum(1 for o in listed if o.flipped) if swapped else None,
        )
