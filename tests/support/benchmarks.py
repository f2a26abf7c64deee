"""Benchmark fixtures and golden files (tests/data/benchmarks), shared by every tier."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.paths import REPO

DATA = REPO / "tests" / "data" / "benchmarks"
HUB = DATA / "hub"
"""A mirror of the benchmarks' Hub repositories (tests/reference/make_fixtures.py)."""
GOLDEN = DATA / "golden"
"""What lm-eval and EvalScope rendered and scored (tests/reference/*_golden.py)."""


def golden(harness: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / harness / f"{name}.json").read_text("utf-8"))
    return data


def golden_names(harness: str) -> list[str]:
    return sorted(p.stem for p in (GOLDEN / harness).glob("*.json"))


def golden_path(harness: str) -> Path:
    return GOLDEN / harness
