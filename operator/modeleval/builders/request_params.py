"""Generation parameters as the fields of an OpenAI-compatible request body.

The operator writes these fields into the run plan (``plan.models[].params``); the runner
sends them as they are, so the mapping lives here, once.

    BodyParams(temperature=0.2, max_new_tokens=128).to_body()
    # {"temperature": 0.2, "max_tokens": 128}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class BodyParams:
    """Sampling parameters as request-body fields; ``None`` leaves the server's default."""

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


OPENAI_FIELDS = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "seed",
        "frequency_penalty",
        "presence_penalty",
        "n",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "user",
    }
)
"""Request-body fields of OpenAI's chat and completions APIs that every flavour takes."""

SERVER_EXTRAS: dict[str, frozenset[str]] = {
    "openai": frozenset(),
    "tgi": frozenset(),
    "transformers": frozenset(),
    "qianfan": frozenset({"penalty_score", "disable_search", "enable_citation"}),
    "vllm": frozenset(
        {
            "top_k",
            "min_p",
            "repetition_penalty",
            "length_penalty",
            "min_tokens",
            "ignore_eos",
            "stop_token_ids",
            "include_stop_str_in_output",
            "skip_special_tokens",
            "best_of",
        }
    ),
}
"""What each known server flavour takes beyond OpenAI's fields. ``transformers serve`` answers
anything else with HTTP 422 (``Unexpected fields in the request``); vLLM and TGI ignore unknown
fields silently (so a ``penalty_score`` sent to them would do nothing, unsaid)."""


def split_for_server(body: dict[str, Any], server: str) -> tuple[dict[str, Any], list[str]]:
    """``(the fields server takes, the names of those it does not)``; ``auto`` keeps all."""
    extras = SERVER_EXTRAS.get(server)
    if extras is None:
        return dict(body), []
    kept = {k: v for k, v in body.items() if k in OPENAI_FIELDS or k in extras}
    return kept, sorted(k for k in body if k not in kept)
