"""Prompt rendering and OpenAI request bodies (chat and completions)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

INPUT_PLACEHOLDER = "{input}"


class ApiFlavour(StrEnum):
    """Which OpenAI-compatible route a model is called through."""

    CHAT = "chat"
    """POST {url}/chat/completions with ``messages``."""
    COMPLETIONS = "completions"
    """POST {url}/completions with ``prompt``."""

    @property
    def path(self) -> str:
        return "/chat/completions" if self is ApiFlavour.CHAT else "/completions"


PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][\w.-]*)\}")
"""``{{``/``}}`` (a literal brace) or ``{name}`` (a column of the row; ``{input}`` the input).
Braces around anything else, e.g. ``{"a": 1}``, are left as they are."""


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """A prompt built from the row: ``{input}`` is the item's input, ``{column}`` any other
    column of the dataset row, ``{{`` and ``}}`` literal braces.

    A template without ``{input}`` gets the input appended (``"Q: "`` → ``"Q: <input>"``)."""

    template: str = INPUT_PLACEHOLDER
    system: str | None = None
    _parts: tuple[tuple[str, str | None], ...] = field(init=False, repr=False, compare=False)
    """(literal text, column or None) pairs; empty for a template of ``{input}`` only."""

    def __post_init__(self) -> None:
        parts: list[tuple[str, str | None]] = []
        pos, literal = 0, []
        simple = True
        for match in PLACEHOLDER.finditer(self.template):
            literal.append(self.template[pos : match.start()])
            token = match.group(0)
            if token in ("{{", "}}"):
                literal.append(token[0])
                simple = False
            else:
                column = match.group(1)
                parts.append(("".join(literal), column))
                literal = []
                simple = simple and column == "input"
            pos = match.end()
        literal.append(self.template[pos:])
        parts.append(("".join(literal), None))
        object.__setattr__(self, "_parts", () if simple else tuple(parts))

    @property
    def columns(self) -> frozenset[str]:
        """Row columns the template reads besides the input."""
        return frozenset(col for _, col in self._parts if col is not None and col != "input")

    def missing(self, fields: dict[str, Any]) -> list[str]:
        """The template's columns that ``fields`` (a dataset row) does not have."""
        return sorted(col for col in self.columns if col not in fields)

    def render(self, text: str, fields: dict[str, Any] | None = None) -> str:
        if not self._parts:  # only {input} placeholders (the common case): a plain replace
            if INPUT_PLACEHOLDER not in self.template:
                return f"{self.template}{text}" if self.template else text
            return self.template.replace(INPUT_PLACEHOLDER, text)
        row = fields or {}
        out: list[str] = []
        for literal, column in self._parts:
            out.append(literal)
            if column == "input":
                out.append(text)
            elif column is not None:
                out.append(_text(row.get(column)))
        if not any(column == "input" for _, column in self._parts):
            out.append(text)
        return "".join(out)


def build_body(
    *,
    api: ApiFlavour,
    model: str,
    prompt: str,
    system: str | None,
    params: dict[str, Any],
    stream: bool = False,
) -> dict[str, Any]:
    """The JSON body of one request; ``params``: the plan's request-body fields
    (:func:`modeleval.builders.request_params.body_params`)."""
    body: dict[str, Any] = {"model": model}
    if api is ApiFlavour.CHAT:
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": prompt})
        body["messages"] = messages
    else:
        body["prompt"] = f"{system}\n\n{prompt}" if system else prompt
    body.update(params)
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def parse_answer(api: ApiFlavour, data: dict[str, Any]) -> tuple[str, dict[str, int]]:
    """Text and usage of a non-streaming answer; raises ``ValueError`` on an unexpected shape."""
    try:
        choice = data["choices"][0]
        text = choice["message"]["content"] if api is ApiFlavour.CHAT else choice["text"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"unexpected response shape: missing {exc}") from None
    usage = data.get("usage") or {}
    tokens = {
        "prompt": int(usage.get("prompt_tokens") or 0),
        "completion": int(usage.get("completion_tokens") or 0),
    }
    return ("" if text is None else str(text)), tokens
