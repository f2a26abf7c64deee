"""Evaluate ``x-kubernetes-validations`` (CEL rules) with ``celpy``.

Only core CEL is available (no Kubernetes extension libraries such as ``isURL`` or
``quantity``). ``self`` is bound to the node that carries the rule; ``oldSelf`` to the same
node of the stored object on updates. Rules that mention ``oldSelf`` (transition rules) run only
when that old node exists. Old nodes are found through object properties, map keys and
``x-kubernetes-list-type: map`` lists (by their ``x-kubernetes-list-map-keys``).

Ratcheting, as in Kubernetes 1.30+: on updates, rules are not evaluated for nodes whose
value did not change (an unchanged field never turns an update invalid). So status-only
and metadata-only writes cost no CEL evaluation of the spec.
"""

from __future__ import annotations

import functools
import json
import threading
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError

from modeleval_testkit.apiserver.fielderrors import (
    FieldError,
    PathItem,
    duplicate,
    forbidden,
    format_path,
    invalid,
    required,
    type_name,
)

Schema = dict[str, Any]
_MISSING = object()
_lock = threading.Lock()
_results: dict[tuple[str, str], Any] = {}
RESULT_CACHE = 4096
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


@functools.lru_cache(maxsize=1024)
def _program(expression: str) -> Any:
    with _lock:
        env = celpy.Environment()
        return env.program(env.compile(expression))


def evaluate(expression: str, activation: dict[str, Any]) -> Any:
    """Evaluate a CEL expression with plain JSON values bound to the names in ``activation``.

    Returns the CEL result, or raises ``ValueError`` on compile or evaluation errors. CEL is
    pure, so results are memoized per expression and input (celpy takes milliseconds per
    evaluation, and tests write the same objects again and again).
    """
    key = (expression, json.dumps(activation, sort_keys=True, default=str))
    with _lock:
        outcome = _results.get(key)
    if outcome is None:
        outcome = _evaluate(expression, activation)
        with _lock:
            _results[key] = outcome
            if len(_results) > RESULT_CACHE:
                del _results[next(iter(_results))]
    if isinstance(outcome, ValueError):
        raise ValueError(*outcome.args)
    return outcome


def _evaluate(expression: str, activation: dict[str, Any]) -> Any:
    try:
        program = _program(expression)
    except Exception as exc:
        return ValueError(f"compilation failed: {exc}")
    bound = {name: json_to_cel(value) for name, value in activation.items()}
    try:
        result = program.evaluate(bound)
    except Exception as exc:
        return ValueError(str(exc))
    if isinstance(result, CELEvalError):
        return ValueError(str(result.args[0] if result.args else result))
    return result


def rule_errors(schema: Schema, value: Any, old: Any = None) -> list[FieldError]:
    """Every failed ``x-kubernetes-validations`` rule below ``schema``, with its field path."""
    errors: list[FieldError] = []
    _walk(schema, value, _MISSING if old is None else old, [], errors)
    return errors


def _matches_type(schema: Schema, value: Any) -> bool:
    expected = schema.get("type")
    if expected is None or schema.get("x-kubernetes-int-or-string"):
        return True
    if expected in ("integer", "number"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, _TYPES.get(expected, object))


def _walk(
    schema: Schema, value: Any, old: Any, path: list[PathItem], out: list[FieldError]
) -> None:
    if value is None or not _matches_type(schema, value) or (old is not _MISSING and old == value):
        return
    for rule in schema.get("x-kubernetes-validations", []):
        error = _check_rule(rule, value, old, path)
        if error is not None:
            out.append(error)
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        old_map = old if isinstance(old, dict) else {}
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                _walk(sub, item, old_map.get(key, _MISSING), [*path, key], out)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        olds = _old_list_items(schema, value, old)
        for index, item in enumerate(value):
            _walk(schema["items"], item, olds[index], [*path, index], out)


def _old_list_items(schema: Schema, value: list[Any], old: Any) -> list[Any]:
    keys = schema.get("x-kubernetes-list-map-keys")
    if schema.get("x-kubernetes-list-type") != "map" or not keys or not isinstance(old, list):
        return [_MISSING] * len(value)
    by_key = {tuple(o.get(k) for k in keys): o for o in old if isinstance(o, dict)}
    return [
        by_key.get(tuple(v.get(k) for k in keys), _MISSING) if isinstance(v, dict) else _MISSING
        for v in value
    ]


def _check_rule(
    rule: dict[str, Any], value: Any, old: Any, path: list[PathItem]
) -> FieldError | None:
    expression = rule["rule"]
    transition = "oldSelf" in expression
    if transition and old is _MISSING:
        return None
    activation = {"self": value}
    if transition:
        activation["oldSelf"] = old
    where = format_path([*path, *_field_path(rule.get("fieldPath", ""))]) or "<root>"
    try:
        result = evaluate(expression, activation)
    except ValueError as exc:
        return invalid(where, value, f"rule evaluation error: {exc}")
    if result is True or (isinstance(result, celpy.celtypes.BoolType) and bool(result)):
        return None
    message = _message(rule, activation) or f"failed rule: {expression}"
    reason = rule.get("reason", "FieldValueInvalid")
    if reason == "FieldValueForbidden":
        return forbidden(where, message)
    if reason == "FieldValueRequired":
        return required(where, message)
    if reason == "FieldValueDuplicate":
        return duplicate(where, value)
    if isinstance(value, dict | list):
        return invalid(where, type_name(value), message)
    return invalid(where, value, message)


def _message(rule: dict[str, Any], activation: dict[str, Any]) -> str | None:
    if "messageExpression" in rule:
        try:
            text = evaluate(rule["messageExpression"], activation)
        except ValueError:
            text = None
        if isinstance(text, str) and text:
            return str(text)
    message = rule.get("message")
    return str(message) if message else None


def _field_path(field_path: str) -> list[PathItem]:
    """``.spec.models[0]`` (the rule's ``fieldPath``) → ``["spec", "models", 0]``."""
    items: list[PathItem] = []
    for part in field_path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[") and part.endswith("]"):
            inner = part[1:-1].strip("'\"")
            items.append(int(inner) if inner.isdigit() else inner)
        else:
            items.append(part)
    return items
