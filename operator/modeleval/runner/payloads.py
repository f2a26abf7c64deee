"""Prompt rendering and OpenAI request bodies (chat and completions)."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """``{input}`` is replaced by the item's input; every other brace is left alone."""

    template: str = INPUT_PLACEHOLDER
    system: str | None = None

    def render(self, text: str) -> str:
        if INPUT_PLACEHOLDER not in self.template:
            return f"{self.template}{text}" if self.template else text
        return self.template.replace(INPUT_PLACEHOLDER, text)


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
