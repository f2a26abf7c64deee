"""Fixtures of the API integration tests: the generated CRDs of the checkout."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.paths import load_crds


@pytest.fixture(scope="session")
def crds() -> dict[str, dict[str, Any]]:
    return load_crds()
