"""The documentation points only inside the repository (or to public web pages)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.paths import REPO

DOCS = sorted([*REPO.glob("*.md"), *(REPO / "docs").rglob("*.md"), *REPO.glob("testkit/*.md")])
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve_inside_the_repository(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
            continue
        resolved = (doc.parent / target).resolve()
        if not resolved.is_relative_to(REPO) or not resolved.exists():
            broken.append(target)
    assert broken == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_no_path_outside_the_checkout(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    assert not re.search(r"(?<![\w.])(/work/|\.\./shared|shared/seeds)", text)


SOURCE_PATH = re.compile(r"(?<![\w./-])((?:tests|bench)/[\w./-]+\.py)\b")
"""A test or benchmark file a doc names (``tests/integration/runner/test_perf.py``)."""


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_test_or_bench_file_named_exists(doc: Path) -> None:
    named = SOURCE_PATH.findall(doc.read_text(encoding="utf-8"))
    assert [path for path in named if not (REPO / path).is_file()] == []


def test_the_path_pattern_finds_test_and_bench_files() -> None:
    text = "run `tests/unit/docs/test_links.py` or bench/a_b.py; not tests/unit/ nor xtests/a.py"
    assert SOURCE_PATH.findall(text) == ["tests/unit/docs/test_links.py", "bench/a_b.py"]
