"""Deterministic answers: a prompt → answer map, regex rules (judge mode), then a default."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

_WORDS = tuple(
    [
        "alpha",
        "bravo",
        "charlie",
        "delta",
        "echo",
        "foxtrot",
        "golf",
        "hotel",
        "india",
        "juliet",
        "kilo",
        "lima",
        "mike",
        "november",
        "oscar",
        "papa",
        "quebec",
        "romeo",
        "sierra",
        "tango",
        "uniform",
        "victor",
        "whiskey",
    ]
)


class AnswerBook:
    """Turns a prompt into a reply, always the same reply for the same prompt."""

    def __init__(
        self,
        *,
        answers: dict[str, str] | None = None,
        rules: list[tuple[str, str]] | None = None,
        default_mode: str = "echo",
    ) -> None:
        if default_mode not in ("echo", "hash"):
            raise ValueError(f"default_mode must be 'echo' or 'hash', not {default_mode!r}")
        self._answers = dict(answers or {})
        self._rules = [(re.compile(pattern, re.DOTALL), reply) for pattern, reply in rules or []]
        self._default_mode = default_mode

    def answer(self, prompt: str, last_user: str | None = None) -> str:
        """Reply for a full prompt text; ``last_user`` is the last user message of a chat."""
        for key in (prompt, last_user):
            if key is not None and key in self._answers:
                return self._answers[key]
        for pattern, reply in self._rules:
            match = pattern.search(prompt)
            if match:
                return match.expand(reply)
        if self._default_mode == "hash":
            return _hash_words(prompt)
        return last_user if last_user is not None else prompt


def _hash_words(text: str, count: int = 8) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    return " ".join(_WORDS[b % len(_WORDS)] for b in digest[:count])


def tokenize(text: str) -> list[str]:
    """Split a text into stream tokens: words with their trailing whitespace kept."""
    return re.findall(r"\S+\s*|\s+", text)


def fit_tokens(tokens: list[str], count: int) -> list[str]:
    """Pad (by repeating the answer, or ``tok``) or cut a token list to exactly ``count``."""
    if count <= 0:
        return []
    if not tokens:
        tokens = ["tok "]
    if len(tokens) >= count:
        return tokens[:count]
    spaced = [t if t[-1:].isspace() else t + " " for t in tokens]
    out: list[str] = []
    while len(out) < count:
        out.extend(spaced)
    return out[:count]


def count_tokens(text: str) -> int:
    """Token count used in ``usage``: the number of whitespace-separated words (at least 1)."""
    return max(1, len(text.split()))


def load_answers(path: str | Path) -> dict[str, str]:
    """Read a JSON object ``{"prompt": "answer"}`` or a list of ``{"input", "answer"}`` rows."""
    data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, dict):
        return {str(k): str(v) for k, v in data.items()}
    if isinstance(data, list):
        return {str(row["input"]): str(row["answer"]) for row in data}
    raise ValueError(f"{path}: expected a JSON object or a list of {{input, answer}} rows")


def load_rules(path: str | Path) -> list[tuple[str, str]]:
    """Read a JSON list of ``{"pattern": regex, "reply": text}`` (or ``[regex, reply]`` pairs)."""
    data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of rules")
    rules: list[tuple[str, str]] = []
    for row in data:
        if isinstance(row, dict):
            rules.append((str(row["pattern"]), str(row["reply"])))
        else:
            pattern, reply = row
            rules.append((str(pattern), str(reply)))
    return rules
