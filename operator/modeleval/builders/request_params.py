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
