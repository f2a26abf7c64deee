"""Options and markers shared by every test directory.

Tiers (``pytest -m unit|integration|e2e``): each test is marked by the directory it lives in.
``tests/unit`` is pure and in-process (its conftest refuses subprocesses and sockets);
``tests/integration`` uses real or emulated parts (API emulator, helm, kubectl, moto, the mock
model server, Chromium, subprocesses); ``tests/e2e`` runs the operator process against a cluster.
Helpers shared between modules live in ``tests/support``, fixtures in conftest files.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from tests.support import realparts

TIERS = ("unit", "integration", "e2e")
TESTS = Path(__file__).resolve().parent


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


def _tier(item: pytest.Item) -> str | None:
    try:
        first = Path(str(item.path)).resolve().relative_to(TESTS).parts[0]
    except (ValueError, IndexError):
        return None
    return first if first in TIERS else None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """``-m <tier>``: the other tiers' folders are not even imported (a test's tier is its
    folder, so none of them could be selected; importing them cost seconds of ``-m unit``)."""
    wanted = (config.getoption("markexpr") or "").strip()
    if wanted in TIERS and collection_path.parent == TESTS and collection_path.name in TIERS:
        return collection_path.name != wanted or None
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = _tier(item)
        if tier is not None:
            item.add_marker(getattr(pytest.mark, tier))
    if config.getoption("--kube-config") is None:
        return
    skip = pytest.mark.skip(reason="needs the local executor; running against --kube-config")
    for item in items:
        if item.get_closest_marker("needs_executor") is not None:
            item.add_marker(skip)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Collect garbage after each test, so a socket or file a test leaks warns in that test
    (``filterwarnings = error``), not in whichever test runs when the collector comes by.

    What survives a collection is then frozen (left out of later collections): each test's
    collection walks only the objects made since the last one, not every module the session
    has imported (a full walk costs 0.1-0.6 s a test here). The price is that cyclic garbage
    of objects that outlived a test is never freed: memory, not correctness, in a test run."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def project_image() -> realparts.BuiltImage:
    """This checkout's image (scripts/build-image.sh), built once per session; skipped (failed
    with MODELEVAL_REQUIRE_REAL_PARTS=1) when no container engine can be had."""
    return realparts.project_image()
