"""Settings of the mock model server: timing, capacity, answers, faults, boot behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ServerFlavour(StrEnum):
    """Which make of model server the mock behaves like (see ``flavours.py``)."""

    GENERIC = "generic"
    OPENAI = "openai"
    VLLM = "vllm"
    TGI = "tgi"
    TRANSFORMERS = "transformers"


class FaultKind(StrEnum):
    """What a faulty request gets instead of an answer."""

    OK = "ok"
    """No fault: answer normally (useful inside a per-item fault sequence)."""
    SERVER_ERROR = "500"
    """HTTP 500 with a JSON error body."""
    UNAVAILABLE = "503"
    """HTTP 503 with a JSON error body."""
    RATE_LIMIT = "429"
    """HTTP 429 with a ``Retry-After`` header (``FaultSettings.retry_after_s``)."""
    HANG = "hang"
    """Never answer (until ``FaultSettings.hang_s`` passes, then close the connection)."""
    DROP = "drop"
    """Close the connection without sending a response."""
    ECHO_AUTH = "echo-auth"
    """HTTP 401 whose error message repeats the request's ``Authorization`` header and every
    ``X-Api-Key``-like header: a careless server that echoes credentials (tests that they
    are masked wherever the runner records an error)."""
    ERROR_200 = "error-200"
    """HTTP 200 whose body is an error object (``{"error": {"message": …}}``), no choices."""


@dataclass(slots=True)
class FaultSettings:
    """Injected failures, chosen by a seeded RNG (by rate) or per item (by sequence)."""

    rate: float = 0.0
    """Probability that a request gets a fault drawn from ``kinds``."""
    kinds: tuple[FaultKind, ...] = (FaultKind.SERVER_ERROR, FaultKind.RATE_LIMIT)
    """The faults drawn from (uniformly) when ``rate`` fires."""
    seed: int = 0
    """Seed of the RNG that decides rate-based faults: same seed, same faults."""
    retry_after_s: float = 1.0
    """Value of the ``Retry-After`` header on 429 answers (seconds, may be fractional)."""
    hang_s: float = 3600.0
    """How long a hanging request waits before its connection is closed."""
    by_item: dict[str, list[FaultKind]] = field(default_factory=dict)
    """Per item id (or prompt): the fault of the 1st, 2nd, ... request; later requests succeed."""


@dataclass(slots=True)
class MockSettings:
    """Everything the mock server can be told (CLI flags map 1:1 to these)."""

    host: str = "127.0.0.1"
    port: int = 0
    """0 picks a free port (read it back from ``MockModelServer.port``)."""
    model: str = "mock-model"
    """Model id listed by ``GET /v1/models``."""
    latency_s: float = 0.0
    """Fixed time each non-streaming request takes while holding a capacity slot."""
    ttft_s: float = 0.0
    """Streaming: delay before the first token."""
    itl_s: float = 0.0
    """Streaming: delay between consecutive tokens."""
    capacity: int = 0
    """Requests served at once; more wait in a queue. 0 means unlimited."""
    output_tokens: int | None = None
    """When set, every answer is padded or cut to exactly this many tokens."""
    answers: dict[str, str] = field(default_factory=dict)
    """Exact prompt (or last user message) → answer."""
    rules: list[tuple[str, str]] = field(default_factory=list)
    """Regex → reply (``\\1``, ``\\g<name>`` expand); first match wins (judge prompts)."""
    default_mode: str = "echo"
    """Answer when nothing matches: ``echo`` (the prompt) or ``hash`` (stable words)."""
    live_path: str = "/health"
    ready_path: str = "/ready"
    startup_delay_s: float = 0.0
    """Sleep before opening the port (a slow model boot)."""
    ready_delay_s: float = 0.0
    """The port is open but the readiness path answers 503 for this long."""
    crash_on_start: int | None = None
    """Exit the process with this code right after the startup delay (CLI only)."""
    faults: FaultSettings = field(default_factory=FaultSettings)
    reuse_port: bool = False
    """Let several processes listen on the same port (``--workers``)."""
    item_header: str = "X-Modeleval-Item-Id"
    """Request header whose value identifies a dataset item for per-item counting and faults."""
    flavour: ServerFlavour = ServerFlavour.GENERIC
    """Behave like this make of server: error bodies, refused fields, stream framing, finish
    reasons, stop strings (``flavours.PROFILES``)."""
