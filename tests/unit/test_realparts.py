"""A missing real part skips its test, and fails it under MODELEVAL_REQUIRE_REAL_PARTS=1 (what
``scripts/test.sh`` sets where it could install them): every real part goes through
`tests.support.realparts.unavailable`."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from modeleval_testkit import tools
from tests.support import browser, chromium, kube, postgres, realparts


def _no_chromium(monkeypatch: pytest.MonkeyPatch) -> Callable[[], object]:
    monkeypatch.setattr(browser, "find_chromium", lambda: None)
    return browser.require_chromium


def _no_playwright(monkeypatch: pytest.MonkeyPatch) -> Callable[[], object]:
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # import fails

    def use() -> object:
        with chromium.chromium_browser() as opened:
            return opened

    return use


def _no_chromium_for_playwright(monkeypatch: pytest.MonkeyPatch) -> Callable[[], object]:
    pytest.importorskip("playwright.sync_api")
    monkeypatch.setattr(browser, "find_chromium", lambda: None)

    def use() -> object:
        with chromium.chromium_browser() as opened:
            return opened

    return use


def _no_postgres(monkeypatch: pytest.MonkeyPatch) -> Callable[[], object]:
    monkeypatch.setattr(postgres, "find_binaries", lambda: None)
    return postgres.require_binaries


def _no_kube_tools(monkeypatch: pytest.MonkeyPatch) -> Callable[[], object]:
    def fetch() -> tuple[object, object]:
        raise tools.ToolsUnavailable("no PyPI here")

    monkeypatch.setattr(kube, "ensure_kube_tools", fetch)
    return kube.require_kube_tools


def _plain(monkeypatch: pytest.MonkeyPatch) -> Callable[[], object]:
    return lambda: realparts.unavailable("no such part")


MISSING = {
    "unavailable": _plain,
    "chromium": _no_chromium,
    "playwright": _no_playwright,
    "chromium-for-playwright": _no_chromium_for_playwright,
    "postgresql": _no_postgres,
    "helm-kubectl": _no_kube_tools,
}


@pytest.mark.parametrize("part", sorted(MISSING))
def test_a_missing_part_skips_without_the_variable(
    part: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(realparts.STRICT_ENV, raising=False)
    use = MISSING[part](monkeypatch)
    with pytest.raises(pytest.skip.Exception):
        use()


@pytest.mark.parametrize("part", sorted(MISSING))
def test_a_missing_part_fails_under_the_variable(
    part: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(realparts.STRICT_ENV, "1")
    use = MISSING[part](monkeypatch)
    with pytest.raises(pytest.fail.Exception, match=realparts.STRICT_ENV):
        use()


def test_a_present_part_is_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(realparts.STRICT_ENV, "1")
    monkeypatch.setattr(browser, "find_chromium", lambda: "/usr/bin/chromium")
    assert browser.require_chromium() == "/usr/bin/chromium"
