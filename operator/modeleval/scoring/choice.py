"""Multiple-choice answer extraction: find the option letter a free-text answer settles on.

Handles answers such as ``"B"``, ``"B. Paris"``, ``"(C)"``, ``"答案是B"``, ``"正确答案：Ｃ"``,
``"The answer is (C)."``, ``"I choose d"``. Returns ``None`` when no single letter can be
identified, so the caller can count the answer as wrong instead of guessing.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

DEFAULT_CHOICES = "ABCD"


@lru_cache(maxsize=32)
def _patterns(choices: str) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    letters = re.escape(choices.upper())
    cls = f"[{letters}{letters.lower()}]"
    # An explicit statement: "答案是B", "answer is (c)", "选 C", "正确选项为：D", "I choose B".
    explicit = re.compile(
        r"(?i:答案|选项|选择|应选|选|answer|option|choice|choose|pick)"
        r"\s*(?i:is|was|would be|should be|:|：|是|为|應為|应为|应该是|就是)?\s*"
        r"(?i:option|choice|选项)?\s*"
        # a bracketed letter may be lower case, a bare one must be a capital ("choose a ...")
        r"(?:[\(（\[【]\s*"
        f"({cls})"
        r"\s*[\)）\]】]|"
        f"([{letters}])"
        r"(?![A-Za-z]))",
    )
    # The answer starts with the letter: "B", "B.", "(B) Paris", "B、北京", "B: ...", "b)".
    leading = re.compile(
        r"^\s*(?:[\(（\[【]\s*"
        f"({cls})"
        r"\s*[\)）\]】]"
        f"|({cls})"
        r"\s*[\.．、:：\)）,，]"
        f"|([{letters}])"
        r"\s*$)",
    )
    # A lone capital letter anywhere, not part of a word.
    lone = re.compile(f"(?<![A-Za-z])([{letters}])(?![A-Za-z])")
    return explicit, leading, lone


def extract_choice(text: str, choices: str = DEFAULT_CHOICES) -> str | None:
    """The upper-case option letter ``text`` answers with, or ``None`` if ambiguous/absent.

    Order of evidence: an explicit statement ("the answer is C", "答案是C": the last one wins,
    as models often restate), then a leading letter, then a single distinct lone capital
    letter anywhere in the text.
    """
    text = unicodedata.normalize("NFKC", text)
    explicit, leading, lone = _patterns(choices)
    stated: list[str] = [bracketed or bare for bracketed, bare in explicit.findall(text)]
    if stated:
        return stated[-1].upper()
    match = leading.match(text)
    if match:
        return str(next(g for g in match.groups() if g)).upper()
    found: set[str] = {str(m).upper() for m in lone.findall(text)}
    if len(found) == 1:
        return found.pop()
    return None
