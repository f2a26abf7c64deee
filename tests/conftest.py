"""Options and markers shared by every test directory."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--kube-config",
        metavar="PATH",
        default=None,
        help="run tests/e2e against the cluster of this kubeconfig (operator installed there) "
        "instead of the local API emulator + executor; needs_executor tests are skipped",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs_executor: drives the local workload executor (kills pods, reads process logs, "
        "local PVC dirs); skipped when --kube-config points at a real cluster",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--kube-config") is None:
        return
    skip = pytest.mark.skip(reason="needs the local executor; running against --kube-config")
    for item in items:
        if item.get_closest_marker("needs_executor") is not None:
            item.add_marker(skip)
