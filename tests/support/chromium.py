"""Playwright driving Debian's Chromium (Playwright's own browser download cannot work here).

    with chromium_browser() as browser:
        page = browser.new_context().new_page()

Skips the test, saying why, when Playwright or a ``chromium`` binary is missing
(``scripts/test.sh`` installs Chromium with apt-get when it runs as root, and then sets
MODELEVAL_REQUIRE_REAL_PARTS=1: a missing one fails the test, see `tests.support.realparts`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.browser import require_chromium
from tests.support.realparts import unavailable

ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def chromium_browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install playwright)")
    binary = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
