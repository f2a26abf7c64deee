"""A mock OpenAI-compatible model server for tests, the local executor and benchmarks.

Routes: POST /v1/chat/completions, POST /v1/completions (both with SSE streaming),
GET /v1/models, GET <live path> (/health), GET <ready path> (/ready),
GET /mock/stats (counters as JSON), POST /mock/reset.

Run it as a process: ``python -m modeleval_testkit.mockserver --port 8000 --latency-ms 50``,
or in-process: ``MockModelServer(latency_s=0.05)`` (see ``server.py``). ``flavour`` makes it
answer like a given make of server (``--flavour transformers``; see ``flavours.py``).
"""

from modeleval_testkit.mockserver.answers import AnswerBook, load_answers, load_rules
from modeleval_testkit.mockserver.app import build_app
from modeleval_testkit.mockserver.config import (
    FaultKind,
    FaultSettings,
    MockSettings,
    ServerFlavour,
)
from modeleval_testkit.mockserver.server import MockModelServer
from modeleval_testkit.mockserver.stats import MockStats

__all__ = [
    "AnswerBook",
    "FaultKind",
    "FaultSettings",
    "MockModelServer",
    "MockSettings",
    "MockStats",
    "ServerFlavour",
    "build_app",
    "load_answers",
    "load_rules",
]
