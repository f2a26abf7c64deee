"""Request accounting (per item, per prompt, concurrency) and fault decisions."""

from __future__ import annotations

import os
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from modeleval_testkit.mockserver.config import FaultKind, FaultSettings


@dataclass(slots=True)
class MockStats:
    """What the server has seen. Read it through ``MockModelServer.stats()`` or GET /mock/stats."""

    requests: int = 0
    """Inference requests received (chat + completions, including faulted ones)."""
    by_status: Counter[str] = field(default_factory=Counter)
    """Outcome → count: "200", "429", "500", "503", "hang", "drop"."""
    by_item: Counter[str] = field(default_factory=Counter)
    """Item id (from the item header) → requests received for it."""
    by_prompt: Counter[str] = field(default_factory=Counter)
    """Prompt text → requests received for it."""
    completed_by_item: Counter[str] = field(default_factory=Counter)
    """Item id → successful answers sent."""
    in_flight: int = 0
    """Inference requests received and not finished yet (queued or served)."""
    max_in_flight: int = 0
    serving: int = 0
    """Requests holding a capacity slot now."""
    max_serving: int = 0
    credentials: Counter[str] = field(default_factory=Counter)
    """``Authorization`` header value → requests that carried it (what reached the server)."""

    def enter(self) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        self.in_flight -= 1

    def start_serving(self) -> None:
        self.serving += 1
        self.max_serving = max(self.max_serving, self.serving)

    def stop_serving(self) -> None:
        self.serving -= 1

    def duplicates(self) -> dict[str, int]:
        """Items answered successfully more than once (should be empty after a clean run)."""
        return {k: v for k, v in self.completed_by_item.items() if v > 1}

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "byStatus": dict(self.by_status),
            "byItem": dict(self.by_item),
            "byPrompt": dict(self.by_prompt),
            "completedByItem": dict(self.completed_by_item),
            "duplicates": self.duplicates(),
            "inFlight": self.in_flight,
            "maxInFlight": self.max_in_flight,
            "serving": self.serving,
            "maxServing": self.max_serving,
            "credentials": dict(self.credentials),
            "pid": os.getpid(),
        }

    def reset(self) -> None:
        self.requests = 0
        self.by_status.clear()
        self.by_item.clear()
        self.by_prompt.clear()
        self.completed_by_item.clear()
        self.credentials.clear()
        self.max_in_flight = self.in_flight
        self.max_serving = self.serving


class FaultPlan:
    """Decides the fault for each request: per-item sequences first, then the seeded rate."""

    def __init__(self, settings: FaultSettings) -> None:
        self._settings = settings
        self._rng = random.Random(settings.seed)

    def decide(self, key: str, attempt: int) -> FaultKind:
        """Fault for the ``attempt``-th (1-based) request of item/prompt ``key``."""
        sequence = self._settings.by_item.get(key)
        if sequence is not None:
            return sequence[attempt - 1] if attempt <= len(sequence) else FaultKind.OK
        if self._settings.rate > 0 and self._rng.random() < self._settings.rate:
            return self._rng.choice(self._settings.kinds)
        return FaultKind.OK
