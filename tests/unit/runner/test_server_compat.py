"""Server flavours: error bodies, refusals that name fields, finish reasons, drops."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modeleval.reconcile.evaltask_status import dropped_parameter_events
from modeleval.runner.server_compat import (
    ParameterDrops,
    cut_at_stop,
    error_message,
    finish_reason,
    parameter_drops,
    planned_drops,
    unexpected_fields,
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": {"message": "model not found", "type": "x"}}, "model not found"),
        ({"error": "quota exceeded"}, "quota exceeded"),
        ({"detail": "Server is pinned to '/m'; requested 'gpt-4o'."},
         "Server is pinned to '/m'; requested 'gpt-4o'."),
        ({"detail": [{"type": "json_invalid", "loc": ["body", 1], "msg": "JSON decode error"}]},
         "body.1: JSON decode error"),
        ({"message": "overloaded"}, "overloaded"),
    ],
)  # fmt: skip
def test_error_messages_of_every_server_make(body: dict[str, Any], message: str) -> None:
    assert error_message(json.dumps(body).encode()) == message


def test_plain_text_and_empty_error_bodies() -> None:
    assert error_message(b"Internal Server Error") == "Internal Server Error"
    assert error_message(b"") == "(empty body)"
    assert len(error_message(b"x" * 5000)) == 300


@pytest.mark.parametrize(
    ("message", "fields"),
    [
        ("HTTP 422: Unexpected fields in the request: {'top_k'}", ["top_k"]),
        ("HTTP 422: Unexpected fields in the request: {'top_k', 'repetition_penalty'}",
         ["top_k", "repetition_penalty"]),
        ("HTTP 400: Unrecognized request argument supplied: top_k", ["top_k"]),
        ("HTTP 400: Unrecognized request arguments supplied: penalty_score, top_k",
         ["penalty_score", "top_k"]),
        ("HTTP 422: body.top_k: Extra inputs are not permitted", ["top_k"]),
        ("HTTP 400: Server is pinned to '/m'; requested 'x'.", []),
        ("HTTP 500: Internal Server Error", []),
    ],
)  # fmt: skip
def test_unexpected_fields_named_by_a_refusal(message: str, fields: list[str]) -> None:
    assert unexpected_fields(message) == fields


@pytest.mark.parametrize(
    ("text", "stop", "cut"),
    [
        ("Score: 4. The answer", ["answer"], "Score: 4. The "),  # transformers serve keeps it
        ("\u00e9 conGood", "nG", "\u00e9 co"),  # ... with the rest of the token
        ("Score: 4. The ", ["answer"], "Score: 4. The "),  # an OpenAI-style server cut already
        ("a. b. c", [".", " b"], "a"),
        ("abc", None, "abc"),
    ],
)
def test_answers_end_before_their_first_stop_string(text: str, stop: Any, cut: str) -> None:
    assert cut_at_stop(text, stop) == cut


def test_finish_reason() -> None:
    assert finish_reason({"choices": [{"finish_reason": "length"}]}) == "length"
    assert finish_reason({"choices": [{"message": {}}]}) is None
    assert finish_reason({}) is None


def test_a_refused_field_is_dropped_once_reported_and_the_request_sent_again() -> None:
    seen: list[list[dict[str, Any]]] = []
    [drops] = parameter_drops([_Model("m", {"top_k": 5, "temperature": 0.1})], seen.append)
    assert seen == []
    sent = {"model": "m", "messages": [], **drops.params}
    refusal = "HTTP 422: Unexpected fields in the request: {'top_k'}"
    assert drops.reject(sent, 422, refusal)
    assert drops.params == {"temperature": 0.1}
    # A second worker that sent top_k before the drop: sent again, not reported again.
    assert drops.reject(sent, 422, refusal)
    assert len(seen) == 1 and seen[0][0]["parameters"] == ["top_k"]
    assert "HTTP 422" in seen[0][0]["reason"] and seen[0][0]["model"] == "m"


@pytest.mark.parametrize(
    ("status", "message", "sent"),
    [
        (500, "HTTP 500: Unexpected fields in the request: {'top_k'}", {"top_k": 1}),
        (422, "HTTP 422: Unexpected fields in the request: {'top_k'}", {"temperature": 1}),
        (422, "HTTP 422: Unexpected fields in the request: {'messages'}", {"messages": []}),
        (400, "HTTP 400: bad request", {"top_k": 1}),
    ],
)
def test_other_errors_drop_nothing(status: int, message: str, sent: dict[str, Any]) -> None:
    drops = ParameterDrops("m", {"top_k": 1, "temperature": 1})
    assert not drops.reject(sent, status, message)
    assert drops.params == {"top_k": 1, "temperature": 1} and drops.records == []


def test_planned_drops_are_reported_at_once_and_become_events() -> None:
    plan = [{"parameters": ["top_k"], "reason": "the openai server flavour does not take them"}]
    seen: list[list[dict[str, Any]]] = []
    parameter_drops([_Model("m", {}, tuple(planned_drops("m", plan)))], seen.append)
    assert seen == [[{"model": "m", "parameters": ["top_k"],
                      "reason": "the openai server flavour does not take them"}]]  # fmt: skip
    events = dropped_parameter_events("task", "uid-1", {"droppedParameters": seen[0]})
    [(name, message)] = events
    assert name.startswith("task.params-") and len(name) == len("task.params-") + 10
    assert message == "model m: top_k not sent: the openai server flavour does not take them"
    assert dropped_parameter_events("task", "uid-1", {"droppedParameters": seen[0]}) == events


class _Model:
    def __init__(
        self, name: str, params: dict[str, Any], dropped: tuple[dict[str, Any], ...] = ()
    ) -> None:
        self.name, self.params, self.dropped = name, params, dropped
