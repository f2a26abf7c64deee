"""Reading a judge's verdict: the formats the judge prompts ask for, and nothing guessed.

Single-answer scores (:func:`parse_score`):

- ``Score: N``, ``Rating: N`` or ``评分: N`` / ``评分：N`` at the start of a line (Markdown
  bold allowed; ``N`` may be followed by ``分`` or by ``/maxScore``);
- ``[[N]]`` anywhere, with or without a label (MT-Bench ``Rating: [[N]]``, ``评分：[[N]]``);
- or the whole reply is one JSON object with a numeric ``score``.

The score must lie in ``[0, maxScore]``.

Pairwise verdicts (:func:`parse_verdict`):

- MT-Bench ``[[A]]``, ``[[B]]``, ``[[C]]`` (tie);
- Arena-Hard ``[[A>>B]]``, ``[[A>B]]`` (A), ``[[A=B]]`` or ``[[B=A]]`` (tie), ``[[B>A]]``,
  ``[[B>>A]]`` (B);
- or the whole reply is one JSON object with ``winner`` ``A``, ``B`` or ``tie``.

For both, the reply may reason first: only the labelled verdict counts, wherever it is (real
judges put it last, MT-Bench style, or first, Qianfan style), and the last one is taken. Every
labelled verdict in the reply must be the same one (real judges write one, sometimes twice); a
reply naming two different ones lists options or changes its mind (an echoed prompt lists all
three verdicts) and fails rather than be guessed. ``<think>…</think>`` reasoning is ignored; a
reply that repeats the prompt's own text (:class:`PromptText`) fails; words such as "tie",
"same", "equal" or "平局", and numbers in prose ("I would rate it 8/10"), are never read as a
verdict. Every failure raises :class:`JudgeParseError` whose ``cause`` is one of a few fixed
phrases, so failures can be counted by cause.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Verdict = Literal["A", "B", "tie"]

ECHO_WINDOW = 60
"""A reply holding this many consecutive characters of the prompt's own text repeats the prompt."""
ECHO_WHOLE_MIN = 16
"""A reply at least this long that is a piece of the prompt's own text repeats the prompt."""

CAUSE_EMPTY = "the judge's reply is empty"
CAUSE_ECHO = "the judge repeated the prompt instead of judging"
CAUSE_NO_SCORE = "no score in the judge's reply (expected a line 'Score: N' or '[[N]]')"
CAUSE_NO_VERDICT = "no verdict in the judge's reply (expected [[A]], [[B]] or [[C]])"
CAUSE_TWO_SCORES = "the judge's reply names different scores"
CAUSE_TWO_VERDICTS = "the judge's reply names different verdicts"


def cause_out_of_range(max_score: float) -> str:
    return f"the judge's score is outside 0-{max_score:g}"


class JudgeParseError(ValueError):
    """The judge replied, but its reply holds no verdict that can be trusted.

    ``cause`` is a fixed phrase (what went wrong); the message adds the end of the reply.
    """

    def __init__(self, cause: str, reply: str = "", detail: str = "") -> None:
        self.cause = cause
        tail = " ".join(reply.split())
        tail = tail if len(tail) <= 160 else "…" + tail[-159:]
        extra = f" ({detail})" if detail else ""
        super().__init__(f"{cause}{extra}; the reply ends: {tail!r}")


_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


def visible_text(reply: str) -> str:
    """The reply without reasoning blocks.

    ``<think>…</think>`` is dropped; a lone ``</think>`` (the chat template opened the block)
    drops everything before it; a ``<think>`` never closed (cut off) drops everything after it.
    """
    text = _THINK_BLOCK.sub("", reply)
    lowered = text.lower()
    close = lowered.rfind("</think>")
    if close >= 0:
        text = text[close + len("</think>") :]
        lowered = text.lower()
    opened = lowered.find("<think>")
    if opened >= 0:
        text = text[:opened]
    return text


def _normalise(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class PromptText:
    """The fixed text of a judge prompt: the template's own words, without the item's fields.

    Only the instructions count: a judge may quote the question, the answers, the metric or the
    steps, but a reply repeating :data:`ECHO_WINDOW` characters of the instructions (or made
    only of a piece of them, like a prompt's example verdict) is an echo, not a judgment.
    """

    segments: tuple[str, ...]
    windows: frozenset[str]

    @classmethod
    def of(cls, texts: Iterable[str]) -> PromptText:
        segments = tuple(s for s in (_normalise(t) for t in texts) if s)
        windows = frozenset(
            segment[i : i + ECHO_WINDOW]
            for segment in segments
            for i in range(len(segment) - ECHO_WINDOW + 1)
        )
        return cls(segments=segments, windows=windows)

    def echoed_by(self, reply: str, visible: str | None = None) -> bool:
        """Whether ``reply`` repeats the prompt instead of judging.

        ``visible``: the reply without its reasoning (default: the whole reply). The window
        test looks at what the judge wrote outside its reasoning; the whole-copy test at the
        whole reply, so a reasoning model that thought it through and then wrote exactly the
        prompt's example verdict is not taken for an echo.
        """
        whole = _normalise(reply)
        if len(whole) >= ECHO_WHOLE_MIN and any(whole in segment for segment in self.segments):
            return True
        text = _normalise(reply if visible is None else visible)
        if not self.windows:
            return False
        return any(
            text[i : i + ECHO_WINDOW] in self.windows for i in range(len(text) - ECHO_WINDOW + 1)
        )


def _check_reply(reply: str, prompt: PromptText | None) -> str:
    text = visible_text(reply)
    if not text.strip():
        raise JudgeParseError(CAUSE_EMPTY, reply)
    if prompt is not None and prompt.echoed_by(reply, text):
        raise JudgeParseError(CAUSE_ECHO, reply)
    return text


_FENCED_JSON = re.compile(r"```(?:json)?\s*(\{.*\})\s*```", re.DOTALL | re.IGNORECASE)


def json_reply(text: str) -> dict[str, object] | None:
    """The reply as a JSON object when the whole reply is one (a ```json fence allowed)."""
    stripped = text.strip()
    fenced = _FENCED_JSON.fullmatch(stripped)
    if fenced:
        stripped = fenced.group(1)
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


_NUMBER = r"-?\d+(?:\.\d+)?"
_SCORE_BRACKET = re.compile(r"\[\[\s*(" + _NUMBER + r")\s*\]\]")
_SCORE_LINE = re.compile(
    r"^[ \t>*#_-]*(?:score|rating|评分)[ \t*_]*[:：][ \t*_]*(" + _NUMBER + r")"
    r"(?:[ \t]*[/／][ \t]*(\d+(?:\.\d+)?))?(?!\.?\d)",
    re.IGNORECASE | re.MULTILINE,
)
_NUMERIC_STRING = re.compile(r"\s*(" + _NUMBER + r")\s*")


def parse_score(
    reply: str, max_score: float, *, prompt: PromptText | None = None
) -> tuple[float, str]:
    """``(score, reason)`` from a judge reply; :class:`JudgeParseError` when there is none.

    ``prompt``: the prompt's fixed text, to recognise a reply that repeats it.
    """
    text = _check_reply(reply, prompt)
    obj = json_reply(text)
    if obj is not None:
        raw = obj.get("score")
        numeric = isinstance(raw, int | float) and not isinstance(raw, bool)
        match = _NUMERIC_STRING.fullmatch(raw) if isinstance(raw, str) else None
        if not numeric and match is None:
            raise JudgeParseError(CAUSE_NO_SCORE, reply, "JSON without a numeric score")
        score = float(match.group(1)) if match else float(raw)  # type: ignore[arg-type]
        return _in_range(score, max_score, reply), str(obj.get("reason", ""))
    found: list[tuple[int, float]] = []  # (position, value)
    for m in _SCORE_BRACKET.finditer(text):
        found.append((m.start(), float(m.group(1))))
    for m in _SCORE_LINE.finditer(text):
        if m.group(2) is not None and float(m.group(2)) != max_score:
            raise JudgeParseError(
                cause_out_of_range(max_score), reply, f"{m.group(1)}/{m.group(2)}"
            )
        found.append((m.start(), float(m.group(1))))
    if not found:
        raise JudgeParseError(CAUSE_NO_SCORE, reply)
    values = dict.fromkeys(value for _, value in sorted(found))
    if len(values) > 1:
        raise JudgeParseError(CAUSE_TWO_SCORES, reply, ", ".join(f"{v:g}" for v in values))
    return _in_range(max(found)[1], max_score, reply), reply.strip()


def _in_range(score: float, max_score: float, reply: str) -> float:
    if not 0 <= score <= max_score:
        raise JudgeParseError(cause_out_of_range(max_score), reply, f"{score:g}")
    return score


_PAIR_LABEL = re.compile(r"\[\[\s*(A>>B|A>B|A=B|B=A|B>A|B>>A|A|B|C)\s*\]\]")
PAIR_LABELS: dict[str, Verdict] = {
    "A": "A",
    "A>>B": "A",
    "A>B": "A",
    "B": "B",
    "B>A": "B",
    "B>>A": "B",
    "C": "tie",
    "A=B": "tie",
    "B=A": "tie",
}
_JSON_WINNERS: dict[str, Verdict] = {"A": "A", "B": "B", "C": "tie", "TIE": "tie"}


def parse_verdict(reply: str, *, prompt: PromptText | None = None) -> Verdict:
    """Which answer the judge prefers: ``"A"``, ``"B"`` or ``"tie"``.

    Raises :class:`JudgeParseError` when the reply names no verdict, names different ones,
    or repeats ``prompt``.
    """
    text = _check_reply(reply, prompt)
    obj = json_reply(text)
    if obj is not None:
        winner = obj.get("winner")
        verdict = _JSON_WINNERS.get(winner.strip().upper()) if isinstance(winner, str) else None
        if verdict is None:
            raise JudgeParseError(CAUSE_NO_VERDICT, reply, f"JSON winner {winner!r}")
        return verdict
    labels = [m.group(1) for m in _PAIR_LABEL.finditer(text)]
    if not labels:
        raise JudgeParseError(CAUSE_NO_VERDICT, reply)
    named = dict.fromkeys(PAIR_LABELS[label] for label in labels)
    if len(named) > 1:
        raise JudgeParseError(
            CAUSE_TWO_VERDICTS, reply, ", ".join(f"[[{x}]]" for x in dict.fromkeys(labels))
        )
    return PAIR_LABELS[labels[-1]]


@lru_cache(maxsize=32)
def cached_prompt_text(segments: tuple[str, ...]) -> PromptText:
    """:meth:`PromptText.of`, built once per template (the windows cost a few milliseconds)."""
    return PromptText.of(segments)
