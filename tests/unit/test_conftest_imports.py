"""No module imports names from a conftest: pytest loads conftest files itself (importing one
again can run it twice under another name), and shared helpers live in ``tests/support``."""

from __future__ import annotations

import ast

import pytest

from tests.support.paths import REPO


def conftest_imports(source: str) -> list[int]:
    """The lines of ``source`` that import a conftest module or a name from one."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or "", *(alias.name for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        if any(name.split(".")[-1] == "conftest" for name in names):
            lines.append(node.lineno)
    return lines


def test_no_test_imports_from_a_conftest() -> None:
    found = [
        f"{path.relative_to(REPO)}:{line}"
        for path in sorted((REPO / "tests").rglob("*.py"))
        for line in conftest_imports(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "move the shared names into tests/support/: " + ", ".join(found)


@pytest.mark.parametrize(
    "source",
    [
        "from .conftest import Console",
        "from tests.unit.console.vendors.conftest import NS",
        "import conftest",
        "from . import conftest",
    ],
)
def test_the_check_sees_every_spelling(source: str) -> None:
    assert conftest_imports(f"import os\n{source}\n") == [2]
