"""Validation errors of the API models, said the way a user finds the field in YAML.

    error_lines(exc)          # ["spec.inference.client.parallel: Input should be ≥ 1", …]
    validation_message(exc)   # "invalid spec: spec.…: …; …; … (and 2 more)"
    error_lines(exc, brackets=True)   # ["evalModelConfigList[0].params.top_p: …"] (JSON style)

Used by the handlers (status message and ``InvalidSpec`` Event), by ``modeleval validate`` and
by the console's vendor APIs (which name fields as the vendors' documents write them).
"""

from __future__ import annotations

from pydantic import ValidationError

SHOWN = 3
"""How many problems a one-line message names before "(and N more)"."""


def field_path(loc: tuple[int | str, ...], *, brackets: bool = False) -> str:
    """``("a", "b", 0, "c")`` as ``a.b.0.c``, or with ``brackets`` ``a.b[0].c``."""
    if not brackets:
        return ".".join(str(step) for step in loc)
    out = ""
    for step in loc:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def error_lines(exc: ValidationError, *, brackets: bool = False) -> list[str]:
    """One line per problem, each naming the field path as written in YAML (list indexes in
    ``[i]`` with ``brackets``)."""
    lines = []
    for error in exc.errors():
        where = field_path(tuple(error["loc"]), brackets=brackets)
        lines.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return lines


def validation_message(exc: ValidationError, *, shown: int = SHOWN) -> str:
    """``invalid spec: <path>: <problem>; … (and N more)`` — one line for status and Events."""
    lines = error_lines(exc)
    more = len(lines) - shown
    return "invalid spec: " + "; ".join(lines[:shown]) + (f" (and {more} more)" if more > 0 else "")
