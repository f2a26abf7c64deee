"""Fixtures of the executor tests: a client of the module's ``cluster`` and a fresh namespace
per test (each module defines its own ``cluster``: the executor settings it needs)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from modeleval_testkit.cluster import JsonApi, LocalCluster

_names = itertools.count()


@pytest.fixture
def api(cluster: LocalCluster) -> Iterator[JsonApi]:
    with cluster.api() as client:
        yield client


@pytest.fixture
def ns(api: JsonApi, request: pytest.FixtureRequest) -> str:
    """``<module topic>-<n>``: e.g. ``jobs-3`` for test_executor_jobs.py."""
    topic = request.module.__name__.rsplit("_", 1)[-1]
    name = f"{topic}-{next(_names)}"
    api.create("/api/v1/namespaces", {"metadata": {"name": name}})
    return name
