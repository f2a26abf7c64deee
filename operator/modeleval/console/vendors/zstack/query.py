"""ZStack's query parameters over inventories (pure).

``GET …?q=name=qa&q=status?=Running,Queued&limit=10&start=0&sort=-createDate&replyWithCount=true``

- ``q=<field><op><value>``, repeatable (all must hold); operators ``=``, ``!=``, ``>``,
  ``<``, ``>=``, ``<=`` (numbers compare as numbers), ``?=`` / ``!?=`` (in / not in a
  comma-separated list), ``~=`` / ``!~=`` (SQL ``LIKE`` with ``%`` and ``_``), and
  ``<field> is null`` / ``<field> not null``;
- ``limit`` (default 1000), ``start`` (default 0), ``sort=+field|-field``, ``count=true``
  (only ``total``), ``replyWithCount=true`` (``total`` beside ``inventories``),
  ``fields=a,b`` (only those fields).

Unknown fields and malformed conditions are refused naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from modeleval.console.vendors.errors import invalid

OPERATORS = ("!?=", "!~=", "?=", "~=", "!=", ">=", "<=", "=", ">", "<")
DEFAULT_LIMIT = 1000
Inventory = dict[str, Any]


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: str


@dataclass(frozen=True)
class Query:
    conditions: tuple[Condition, ...] = ()
    limit: int = DEFAULT_LIMIT
    start: int = 0
    sort: tuple[str, bool] | None = None
    """(field, descending)."""
    count_only: bool = False
    with_count: bool = False
    fields: tuple[str, ...] = field(default=())


def parse_condition(text: str) -> Condition:
    stripped = text.strip()
    for suffix, op in ((" is null", "is null"), (" not null", "not null")):
        if stripped.endswith(suffix):
            return Condition(stripped[: -len(suffix)].strip(), op, "")
    for op in OPERATORS:
        name, sep, value = stripped.partition(op)
        if sep and name and not any(ch in name for ch in "=<>!?~"):
            return Condition(name.strip(), op, value)
    raise invalid(
        "q", f"{text!r} is not <field><operator><value> (operators: {' '.join(OPERATORS)})"
    )


def _int(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise invalid(name, f"{raw!r} is not a non-negative integer")
    return int(raw)


def _flag(params: Mapping[str, str], name: str) -> bool:
    return str(params.get(name, "")).lower() == "true"


def parse_query(q: list[str], params: Mapping[str, str], known: frozenset[str]) -> Query:
    conditions = tuple(parse_condition(text) for text in q)
    for condition in conditions:
        if condition.field not in known:
            raise invalid("q", f"{condition.field!r} is not a field of this inventory")
    sort = None
    raw_sort = params.get("sort", "")
    if raw_sort:
        direction, name = raw_sort[0], raw_sort[1:]
        if direction not in "+-" or name not in known:
            raise invalid("sort", f"{raw_sort!r} is not +<field> or -<field>")
        sort = (name, direction == "-")
    fields = tuple(f.strip() for f in params.get("fields", "").split(",") if f.strip())
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise invalid("fields", f"{', '.join(unknown)} not fields of this inventory")
    return Query(
        conditions=conditions,
        limit=_int(params, "limit", DEFAULT_LIMIT),
        start=_int(params, "start", 0),
        sort=sort,
        count_only=_flag(params, "count"),
        with_count=_flag(params, "replyWithCount"),
        fields=fields,
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _like(pattern: str) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        parts.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    return re.compile("".join(parts), re.DOTALL)


def _compare(actual: Any, op: str, wanted: str) -> bool:
    left, right = _number(actual), _number(wanted)
    if left is not None and right is not None:
        a: Any = left
        b: Any = right
    else:
        a, b = ("" if actual is None else str(actual)), wanted
    checks: dict[str, Callable[[Any, Any], bool]] = {
        ">": lambda x, y: x > y,
        "<": lambda x, y: x < y,
        ">=": lambda x, y: x >= y,
        "<=": lambda x, y: x <= y,
    }
    try:
        return checks[op](a, b)
    except TypeError:
        return False


def holds(inventory: Inventory, condition: Condition) -> bool:
    actual = inventory.get(condition.field)
    op, value = condition.op, condition.value
    text = (
        "" if actual is None else str(actual).lower() if isinstance(actual, bool) else str(actual)
    )
    if op == "is null":
        return actual is None
    if op == "not null":
        return actual is not None
    if op in ("=", "!="):
        return (text == value) == (op == "=")
    if op in ("?=", "!?="):
        return (text in value.split(",")) == (op == "?=")
    if op in ("~=", "!~="):
        return bool(_like(value).fullmatch(text)) == (op == "~=")
    return _compare(actual, op, value)


def _sort_key(inventory: Inventory, name: str) -> tuple[int, float, str]:
    value = inventory.get(name)
    number = _number(value)
    if value is None:
        return (1, 0.0, "")
    return (0, number if number is not None else 0.0, "" if number is not None else str(value))


def run_query(inventories: list[Inventory], query: Query) -> dict[str, Any]:
    """ZStack's query reply: ``{"inventories": [...]}`` (+ ``total``), or ``{"total": n}``."""
    found = [i for i in inventories if all(holds(i, c) for c in query.conditions)]
    if query.count_only:
        return {"total": len(found)}
    if query.sort is not None:
        name, descending = query.sort
        found.sort(key=lambda i: _sort_key(i, name), reverse=descending)
    page = found[query.start : query.start + query.limit]
    if query.fields:
        page = [{k: i.get(k) for k in query.fields} for i in page]
    reply: dict[str, Any] = {"inventories": page}
    if query.with_count:
        reply["total"] = len(found)
    return reply
