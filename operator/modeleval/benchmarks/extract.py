"""Answer extraction from generated text, as the reference harnesses do it.

- :func:`regex_filter`: lm-eval's ``regex`` filter (``re.findall``; the ``group``-th match; of a
  tuple of groups the first non-empty one; stripped; ``fallback`` when nothing matches).
- :func:`chinese_choice`: EvalScope's ``parse_answers_zh`` for single-answer questions. The
  label after the *last* ``答案：`` marker that is followed by one (LaTeX wrappers such as
  ``$B$`` or ``\\boxed{B}``, brackets ``(B)``/``【B】`` and bold are accepted; a run of labels is
  kept, ``和``/``and``/``or`` between labels are stepped over); then trailing ``。``/``.`` are
  removed and the result must be exactly one option letter. Without any marker that carries a
  label, the last upper-case character of the text counts when it is an option letter.
"""

from __future__ import annotations

import re
from functools import lru_cache

from modeleval.benchmarks.definitions import ChineseChoice, Regex, Step, Strip
from modeleval.benchmarks.records import LETTERS


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def regex_filter(text: str, step: Regex) -> str:
    found = _compiled(step.pattern).findall(text)
    if not found:
        return step.fallback
    match = found[step.group]
    if isinstance(match, tuple):
        present = [group for group in match if group]
        if not present:
            return step.fallback
        match = present[0]
    return str(match).strip()


_MARKER = re.compile(r"答案\s*[:：]\s*\**\s*")
_LATEX_PREFIX = re.compile(r"(?:(?:\$+|\\\(|\\(?:boxed|fbox|text|textbf|mathbf|mathrm)\s*\{)\s*)*")
_BRACKETED = re.compile(r"[\(\[（【]\s*([A-Za-z\d](?:\s*[,，/、]\s*[A-Za-z\d])*)\s*[\)\]）】]")
_PLAIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9 ,，/、]*)")
_WORD = re.compile(r"[A-Za-z\d]+")
_CONNECTORS = frozenset({"and", "or"})


def _is_label(word: str, allowed: frozenset[str]) -> bool:
    return word in allowed or set(word) <= allowed


def _label_run(capture: str, allowed: frozenset[str]) -> str:
    """The leading part of ``capture`` made of labels only (``"B, not C"`` -> ``"B"``)."""
    words = list(_WORD.finditer(capture))
    end = 0
    for number, word in enumerate(words):
        text = word.group(0)
        if _is_label(text, allowed):
            end = word.end()
            continue
        between = (
            end > 0 and number + 1 < len(words) and _is_label(words[number + 1].group(0), allowed)
        )
        if between and text.lower() in _CONNECTORS:
            continue
        break
    return capture[:end]


def _after_last_marker(text: str, allowed: frozenset[str]) -> str | None:
    for marker in reversed(list(_MARKER.finditer(text))):
        tail = text[marker.end() :]
        prefix = _LATEX_PREFIX.match(tail)
        if prefix is not None:
            tail = tail[prefix.end() :]
        for pattern in (_BRACKETED, _PLAIN):
            label = pattern.match(tail)
            if label is None:
                continue
            run = _label_run(label.group(1), allowed)
            if run:
                return run
    return None


def chinese_choice(text: str, n_choices: int) -> str:
    """The chosen option letter, or ``""`` when the text names none."""
    allowed = frozenset(LETTERS[:n_choices])
    found = _after_last_marker(text, allowed)
    if found is None:
        for char in reversed(text):
            if char.isupper():
                return char if char in allowed else ""
        return ""
    found = found.strip().rstrip("。.")
    return found if found in allowed else ""


def apply_steps(text: str, steps: tuple[Step, ...], n_choices: int) -> str:
    """Run the extraction steps over a generated text, in order."""
    for step in steps:
        if isinstance(step, Regex):
            text = regex_filter(text, step)
        elif isinstance(step, Strip):
            text = text.strip()
        elif isinstance(step, ChineseChoice):
            text = chinese_choice(text, n_choices)
    return text
