"""Model servers of different makes: their error bodies, their refusals of unknown sampling
parameters, their finish reasons. The runner copes with each without failing a task over an
optional knob, and never drops one silently.

Error bodies seen in the wild:

- OpenAI and vLLM: ``{"error": {"message": "...", "type": ..., "code": ...}}``;
- FastAPI servers (``transformers serve``): ``{"detail": "..."}``, or for a body that fails
  validation ``{"detail": [{"type", "loc": ["body", "top_k"], "msg", ...}]}``;
- some gateways: ``{"error": "..."}`` or ``{"message": "..."}``; plain text ``Internal Server
  Error`` (``transformers serve`` answers a request it cannot handle with a text/plain 500).

Refusals that name the unexpected fields (the field names are then dropped from the model's
requests for the rest of the run, once, and reported):

- ``transformers serve``: HTTP 422 ``Unexpected fields in the request: {'top_k', 'foo'}``;
- OpenAI: HTTP 400 ``Unrecognized request argument supplied: top_k`` (``arguments``: a list);
- pydantic ``extra="forbid"`` servers: ``[{"type": "extra_forbidden", "loc": ["body", "x"]}]``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("modeleval.runner")

MAX_MESSAGE = 300
PROTECTED = frozenset({"model", "messages", "prompt", "stream", "stream_options"})
"""Never dropped: without them the request is not the request."""

_SET_REPR = re.compile(r"Unexpected fields? in the request:\s*\{([^}]*)\}", re.IGNORECASE)
_UNRECOGNIZED = re.compile(
    r"Unrecognized request arguments? supplied:\s*([\w\s,.-]+)", re.IGNORECASE
)
_EXTRA_FORBIDDEN = re.compile(
    r"body\.([\w.-]+): (?:Extra inputs are not permitted|extra fields not permitted)",
    re.IGNORECASE,
)
REJECTION_STATUSES = frozenset({400, 422})
MAX_RESENDS = 4
"""How often one request is sent again after refusals that named fields (each drops some)."""


def error_message(raw: bytes) -> str:
    """The human part of an error body, whatever the server's make (see the module doc)."""
    text = raw[:2000].decode("utf-8", "replace")
    try:
        data = json.loads(raw)
    except ValueError:
        return text.strip()[:MAX_MESSAGE] or "(empty body)"
    message = _message_of(data)
    return (message if message is not None else text.strip())[:MAX_MESSAGE] or "(empty body)"


def _message_of(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str):
        return error
    detail = data.get("detail")
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for entry in detail:
            if isinstance(entry, dict):
                where = ".".join(str(p) for p in entry.get("loc") or [])
                parts.append(f"{where}: {entry.get('msg', '')}" if where else str(entry.get("msg")))
        return "; ".join(parts) or None
    if isinstance(data.get("message"), str):
        return str(data["message"])
    return None


def unexpected_fields(message: str) -> list[str]:
    """Request-body fields a server's error message names as not allowed (may be empty)."""
    found: list[str] = []
    match = _SET_REPR.search(message)
    if match:
        found += re.findall(r"""['"]([^'"]+)['"]""", match[1])
    match = _UNRECOGNIZED.search(message)
    if match:
        found += [name.strip() for name in match[1].split(",") if name.strip()]
    found += _EXTRA_FORBIDDEN.findall(message)
    return list(dict.fromkeys(found))


def finish_reason(data: Mapping[str, Any]) -> str | None:
    """``choices[0].finish_reason`` of an answer (``length``: cut off at the token limit)."""
    try:
        reason = data["choices"][0].get("finish_reason")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return str(reason) if reason else None


def cut_at_stop(text: str, stop: Any) -> str:
    """``text`` up to its first stop string, as OpenAI's API returns it. Some servers
    (``transformers serve``) leave the stop string, and the rest of the token that completed
    it, in the text; where a server already cut, there is nothing to find."""
    stops = [stop] if isinstance(stop, str) else [s for s in stop or [] if isinstance(s, str)]
    found = [text.find(s) for s in stops if s and s in text]
    return text[: min(found)] if found else text


@dataclass
class ParameterDrops:
    """One model's sampling parameters, less those dropped (by its server flavour, in the plan,
    or because the server rejected them by name during the run). ``on_change`` hears about
    each new drop (the reporter puts them into ``status.droppedParameters``)."""

    model: str
    params: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)
    on_change: Callable[[], None] | None = None
    refused: set[str] = field(default_factory=set)
    """Fields a server refused during this run (never sent again)."""

    def reject(self, sent: Mapping[str, Any], status: int | None, message: str) -> bool:
        """A request carrying ``sent`` was refused: drop the fields the refusal names.

        True when the request should be sent again without them: it carried fields that are
        dropped now (by this call, or by a worker that got the same refusal first). Callers
        send one request again at most ``MAX_RESENDS`` times.
        """
        if status not in REJECTION_STATUSES:
            return False
        named = [f for f in unexpected_fields(message) if f in sent and f not in PROTECTED]
        if not named:
            return False
        new = [f for f in named if f in self.params]
        self.refused.update(named)
        if new:
            for name in new:
                self.params.pop(name)
            reason = f"the server rejected them (HTTP {status}: {message[:200]})"
            self.records.append({"model": self.model, "parameters": new, "reason": reason})
            log.warning("%s: not sending %s any more: %s", self.model, ", ".join(new), reason)
            if self.on_change is not None:
                self.on_change()
        return True


def planned_drops(model: str, dropped: Any) -> list[dict[str, Any]]:
    """The plan's drops of one model (its server flavour does not take them) as status entries."""
    records = []
    for entry in dropped or []:
        if isinstance(entry, Mapping) and entry.get("parameters"):
            records.append(
                {
                    "model": model,
                    "parameters": [str(p) for p in entry["parameters"]],
                    "reason": str(entry.get("reason") or "not taken by the server"),
                }
            )
    return records


class PlannedModel(Protocol):
    """What `parameter_drops` reads of a ``runner.config.ModelRun``."""

    @property
    def name(self) -> str: ...

    @property
    def params(self) -> dict[str, Any]: ...

    @property
    def dropped(self) -> tuple[dict[str, Any], ...]: ...


def parameter_drops(
    models: Sequence[PlannedModel], report: Callable[[list[dict[str, Any]]], None]
) -> list[ParameterDrops]:
    """Each model's parameters as they will be sent. ``report`` gets every drop so far (for
    ``status.droppedParameters``): at once when the plan dropped some, then on each new one."""
    drops = [ParameterDrops(m.name, dict(m.params), list(m.dropped)) for m in models]

    def changed() -> None:
        report([record for each in drops for record in each.records])

    for each in drops:
        each.on_change = changed
    if any(each.records for each in drops):
        changed()
    return drops
