"""Resource quantities of pod specs: GPU counts for scheduling, memory limits for OOM kills."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

_SUFFIXES: dict[str, int | Decimal] = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")


def parse_quantity(value: Any) -> Decimal:
    """``"16Gi"`` -> bytes, ``"500m"`` -> 0.5, ``2`` -> 2 (Kubernetes quantity syntax)."""
    match = _QUANTITY.match(str(value).strip())
    if not match or match.group(2) not in _SUFFIXES:
        raise ValueError(f"invalid quantity {value!r}")
    number, suffix = match.groups()
    if "e" in number.lower() and suffix:
        raise ValueError(f"invalid quantity {value!r}")
    return Decimal(number) * Decimal(_SUFFIXES[suffix])


def container_request(container: Mapping[str, Any], resource: str) -> Decimal:
    """What the scheduler counts: the request, or the limit when only a limit is set."""
    resources = container.get("resources") or {}
    for section in ("requests", "limits"):
        value = (resources.get(section) or {}).get(resource)
        if value is not None:
            return parse_quantity(value)
    return Decimal(0)


def pod_requests(spec: Mapping[str, Any], names: Iterable[str]) -> dict[str, Decimal]:
    """Sum of the app containers' requests (init containers run one at a time: max)."""
    totals: dict[str, Decimal] = {}
    for name in names:
        app = sum((container_request(c, name) for c in spec.get("containers", [])), Decimal(0))
        init = max(
            (container_request(c, name) for c in spec.get("initContainers") or []),
            default=Decimal(0),
        )
        totals[name] = max(app, init)
    return totals


def memory_limit_bytes(container: Mapping[str, Any]) -> int | None:
    limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
    return None if limit is None else int(parse_quantity(limit))
