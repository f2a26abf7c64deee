"""Validation errors of the API models, said the way a user finds the field in YAML.

    error_lines(exc)          # ["spec.inference.client.parallel: Input should be ≥ 1", …]
    validation_message(exc)   # "invalid spec: spec.…: …; …; … (and 2 more)"

Used by the handlers (status message and ``InvalidSpec`` Event) and by ``modeleval validate``.
"""

from __future__ import annotations

from pydantic import ValidationError

SHOWN = 3
"""How many problems a one-line message names before "(and N more)"."""


def error_lines(exc: ValidationError) -> list[str]:
    """One line per problem, each naming the field path as written in YAML."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(step) for step in error["loc"])
        lines.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return lines


def validation_message(exc: ValidationError, *, shown: int = SHOWN) -> str:
    """``invalid spec: <path>: <problem>; … (and N more)`` — one line for status and Events."""
    lines = error_lines(exc)
    more = len(lines) - shown
    return "invalid spec: " + "; ".join(lines[:shown]) + (f" (and {more} more)" if more > 0 else "")
