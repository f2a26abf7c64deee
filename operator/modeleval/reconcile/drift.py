"""Drift of a group's children: the fields the operator writes that differ in the live object.

Pure: the manifest the operator would write and the object the API serves in, a list of
:class:`Drift` out (empty: nothing to put back). The comparison is a semantic subset, as
Kubernetes controllers do it (``equality.Semantic.DeepDerivative``):

- only fields present in the desired manifest count, so what the API server defaults
  (``terminationMessagePath``, ``dnsPolicy``, ``clusterIP``, ``sessionAffinity``…) or other
  controllers add (``status``, annotations) never looks like drift;
- a list must have the same length and order (an added container arg or env var is drift);
  items are compared one by one, named by their ``name`` where they have one;
- a desired zero value (``False``, ``0``, ``""``, empty list or map) matches an absent field:
  the API server omits such fields (``omitempty``);
- resource quantities compare by value (``"0.5"`` and ``"500m"``, ``"1024Mi"`` and ``"1Gi"``
  are equal; the API server rewrites them in canonical form).

    drift = find_drift(desired_deployment, live_deployment)
    describe_drift(drift)   # 'spec.replicas is 3 (want 1); ...'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

QUANTITY_PARENTS = ("limits", "requests")
"""Maps whose values are resource quantities (under a ``resources`` key)."""

_SUFFIXES = {
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
MISSING: Any = object()
"""A field the live object does not have."""


@dataclass(frozen=True)
class Drift:
    """One field that differs: where, what the operator writes, what is there."""

    path: str
    want: Any
    found: Any

    def __str__(self) -> str:
        if self.found is MISSING:
            return f"{self.path} is missing (want {_short(self.want)})"
        return f"{self.path} is {_short(self.found)} (want {_short(self.want)})"


def parse_quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity (``"500m"``, ``"1Gi"``, ``2``, ``"1e3"``) as a number, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if not isinstance(value, str) or not value:
        return None
    number, factor = value, Decimal(1)
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if value.endswith(suffix) and value[: -len(suffix)]:
            number, factor = value[: -len(suffix)], _SUFFIXES[suffix]
            break
    try:
        return Decimal(number) * factor
    except InvalidOperation:
        return None


def _is_zero(value: Any) -> bool:
    return value is None or value is False or value == 0 or value in ("", [], {})


def _item_label(item: Any, index: int) -> str:
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        return f"[{item['name']}]"
    return f"[{index}]"


def _is_quantity_map(path: tuple[str, ...]) -> bool:
    return len(path) >= 2 and path[-1] in QUANTITY_PARENTS and path[-2] == "resources"


def _same_quantity(want: Any, found: Any) -> bool:
    wanted = parse_quantity(want)
    return wanted is not None and wanted == parse_quantity(found)


def _join(path: tuple[str, ...]) -> str:
    return "".join(p if p.startswith("[") else f".{p}" for p in path).lstrip(".")


def _compare(want: Any, found: Any, path: tuple[str, ...], out: list[Drift]) -> None:
    if isinstance(want, dict):
        if not isinstance(found, dict):
            out.append(Drift(_join(path), want, found))
            return
        quantities = _is_quantity_map(path)
        for key, value in want.items():
            here = (*path, key)
            if key not in found:
                if not _is_zero(value):
                    out.append(Drift(_join(here), value, MISSING))
            elif quantities and _same_quantity(value, found[key]):
                continue
            else:
                _compare(value, found[key], here, out)
        return
    if isinstance(want, list):
        if not isinstance(found, list) or len(found) != len(want):
            out.append(Drift(_join(path), want, found))
            return
        for index, (wanted, got) in enumerate(zip(want, found, strict=True)):
            _compare(wanted, got, (*path, _item_label(wanted, index)), out)
        return
    if want != found or isinstance(want, bool) != isinstance(found, bool):
        out.append(Drift(_join(path), want, found))


def find_drift(desired: dict[str, Any], live: dict[str, Any]) -> list[Drift]:
    """The fields of ``desired`` that ``live`` lacks or holds with another value."""
    out: list[Drift] = []
    _compare(desired, live, (), out)
    return out


def describe_drift(drift: list[Drift], limit: int = 3) -> str:
    """``spec.replicas is 3 (want 1); … (and 2 more)``."""
    shown = "; ".join(str(d) for d in drift[:limit])
    more = len(drift) - limit
    return shown + (f" (and {more} more)" if more > 0 else "")


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= width else text[: width - 1] + "…"
