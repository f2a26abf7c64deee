"""Deterministic answers: a prompt → answer map, regex rules (judge mode), then a default."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import zlib
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

    def preferred_start(self, prompt: str) -> int | None:
        """Where the preferred continuation of an echoed prompt starts, if it has one.

        A prompt (context + continuation) prefers its continuation when some key of the
        answers map is the context and its answer the continuation (whitespace ignored at the
        ends): ``{"...Answer:": "C"}`` prefers ``"...Answer: C"`` over the other letters.
        """
        for context, answer in self._answers.items():
            if prompt.startswith(context) and prompt[len(context) :].strip() == answer.strip():
                return len(context)
        return None


PREFERRED_LOGPROB = -0.05
"""Log-probability of every token of a preferred continuation (see ``echo_logprobs``)."""


def token_logprob(token: str) -> float:
    """The mock's log-probability of any other prompt token: -1 to -4.99, from its text."""
    return -1.0 - (zlib.crc32(token.encode()) % 400) / 100


def logprob_tokens(text: str) -> list[tuple[int, str]]:
    """(offset, token) pairs: words with their leading whitespace, as BPE tokenizers split."""
    return [(m.start(), m.group(0)) for m in re.finditer(r"\s*\S+|\s+", text)]


def echo_logprobs(prompt: str, preferred_from: int | None) -> dict[str, list[object]]:
    """The ``logprobs`` block of an echoed prompt: the first token has none (as in OpenAI and
    vLLM answers); tokens from ``preferred_from`` on get ``PREFERRED_LOGPROB``."""
    return {key: list(values) for key, values in _echo(prompt, preferred_from).items()}


@functools.lru_cache(maxsize=16384)
def _echo(prompt: str, preferred_from: int | None) -> dict[str, tuple[object, ...]]:
    """``echo_logprobs``, memoised: a benchmark sends the same prompts again and again."""
    tokens = logprob_tokens(prompt)
    values: list[float | None] = []
    for index, (offset, token) in enumerate(tokens):
        if index == 0:
            values.append(None)
        elif preferred_from is not None and offset + len(token) > preferred_from:
            values.append(PREFERRED_LOGPROB)
        else:
            values.append(token_logprob(token))
    return {
        "tokens": tuple(t for _, t in tokens),
        "token_logprobs": tuple(values),
        "top_logprobs": tuple(
            None if v is None else {t: v} for (_, t), v in zip(tokens, values, strict=True)
        ),
        "text_offset": tuple(o for o, _ in tokens),
    }


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
