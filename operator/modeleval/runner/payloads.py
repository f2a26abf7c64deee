"""Prompt rendering and OpenAI request bodies (chat and completions)."""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class GenerationParams:
    """Sampling parameters; ``None`` leaves the server's default."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_new_tokens: int | None = None
    """Sent as ``max_tokens``."""
    max_length: int | None = None
    """Cap on generated tokens used as ``max_tokens`` when ``max_new_tokens`` is unset."""
    repetition_penalty: float | None = None
    stop: list[str] | None = None
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Vendor-specific fields passed through as they are (e.g. ``enable_citation``)."""

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.top_p is not None:
            body["top_p"] = self.top_p
        if self.top_k is not None:
            body["top_k"] = self.top_k
        max_tokens = self.max_new_tokens if self.max_new_tokens is not None else self.max_length
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if self.repetition_penalty is not None:
            body["repetition_penalty"] = self.repetition_penalty
        if self.stop:
            body["stop"] = list(self.stop)
        if self.seed is not None:
            body["seed"] = self.seed
        body.update(self.extra)
        return body


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
    """The JSON body of one request; ``params`` is ``GenerationParams.to_body()``."""
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
