"""Label selectors (``=``, ``==``, ``!=``, ``in``, ``notin``, exists, not exists), field selectors.

Field selectors accept any dotted path (``metadata.name``, ``status.phase``,
``involvedObject.uid``…): the real API server allows a few per kind, a superset is harmless.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from modeleval_testkit.apiserver.errors import ApiError

Matcher = Callable[[dict[str, Any]], bool]
_SET = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\((.*)\)\s*$")
_CMP = re.compile(r"^\s*([^\s!=]+)\s*(==|=|!=)\s*([^\s]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([^\s!=(),]+)\s*$")


def _split(selector: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def _requirement(text: str) -> Callable[[dict[str, str]], bool]:
    if match := _SET.match(text):
        key, op, values = match.group(1), match.group(2), match.group(3)
        allowed = {v.strip() for v in values.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in allowed
        return lambda labels: labels.get(key) not in allowed
    if match := _CMP.match(text):
        key, op, value = match.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS.match(text):
        negate, key = match.groups()
        if negate:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise ApiError(400, f"unable to parse requirement: {text!r}")


def label_matcher(selector: str | None) -> Matcher | None:
    """A predicate on objects for a ``labelSelector`` query value (None when empty)."""
    if not selector:
        return None
    requirements = [_requirement(part) for part in _split(selector)]

    def matches(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(req(labels) for req in requirements)

    return matches


def field_value(obj: dict[str, Any], path: str) -> str:
    """The string value of a dotted field path; ``""`` when absent."""
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_matcher(selector: str | None) -> Matcher | None:
    """A predicate on objects for a ``fieldSelector`` query value (None when empty)."""
    if not selector:
        return None
    terms: list[tuple[str, bool, str]] = []
    for part in _split(selector):
        match = _CMP.match(part)
        if not match:
            raise ApiError(400, f"invalid field selector: {part!r}")
        path, op, value = match.groups()
        terms.append((path, op != "!=", value))

    def matches(obj: dict[str, Any]) -> bool:
        return all((field_value(obj, path) == value) == equal for path, equal, value in terms)

    return matches


def combine(*matchers: Matcher | None) -> Matcher | None:
    """All given predicates at once (None when there are none)."""
    active = [m for m in matchers if m is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]
    return lambda obj: all(m(obj) for m in active)
