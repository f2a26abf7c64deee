"""The effects tables (``tests/effects/*.yaml``) and the checks that keep them true.

Every leaf of both CRDs' ``spec`` and ``status`` schemas, every ``MODELEVAL_*`` environment
variable the product reads or sets, and every leaf of the chart's ``values.yaml`` has a row:
what changing it changes (``effect``) and the tests that prove it (``tests``, pytest node ids);
a status row also names the code that writes it (``writer``, ``module:function``). The checks
here are pure (no pytest run, no subprocess): tests are found by parsing their files, writers by
importing their modules. ``tests/unit/test_effects.py`` runs them on the real tables and on
invented ones, to show that they bite.

A row::

    EvalTask.spec.inference.client.parallel:
      effect: how many requests the runner keeps in flight at once
      tests:
      - tests/integration/runner/test_client.py::test_parallel_bounds_requests_in_flight

Optional keys: ``mentions`` (the word the tests and the writer must contain, when the leaf's
own name is not it), ``passthrough: true`` (one row for an object copied as written: it covers
everything under it), ``writer`` (status rows only, required there). A row may say ``gap: why``
instead of naming tests: a known hollow field, listed in ``KNOWN_GAPS`` of the guard test so that
no new one slips in and a fixed one must leave the list.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tests.support.paths import CHART, REPO, load_yaml

TABLES = REPO / "tests" / "effects"
KEYS = frozenset({"effect", "tests", "writer", "mentions", "passthrough", "gap"})
ENV_NAME = re.compile(r"MODELEVAL_[A-Z0-9_]+")
HOW = (
    "add a row to {table} (effect: what changing it changes; tests: the pytest node ids "
    "that prove it)"
)


@dataclass(frozen=True)
class Row:
    path: str
    effect: str
    tests: tuple[str, ...]
    writer: str | None = None
    mentions: str | None = None
    passthrough: bool = False
    gap: str | None = None

    @property
    def word(self) -> str:
        """What the tests (and the writer) must mention: the leaf's name as written."""
        if self.mentions:
            return self.mentions
        if self.path.startswith("MODELEVAL_"):
            return self.path.removesuffix("*")
        return self.path.rsplit(".", 1)[-1].removesuffix("[]")


# -- reading the tables ----------------------------------------------------------------------


def load_table(path: Path) -> tuple[dict[str, Row], list[str]]:
    """The rows of one table file, and what is wrong with their shape."""
    raw = load_yaml(path.read_text(encoding="utf-8")) or {}
    return parse_rows(raw, _rel(path))


def parse_rows(raw: Mapping[str, Any], table: str) -> tuple[dict[str, Row], list[str]]:
    rows: dict[str, Row] = {}
    problems: list[str] = []
    for key, body in raw.items():
        where = f"{table}: {key}"
        if not isinstance(body, dict):
            problems.append(f"{where}: a row is a mapping with effect and tests")
            continue
        unknown = sorted(set(body) - KEYS)
        if unknown:
            problems.append(f"{where}: unknown keys {unknown} (allowed: {sorted(KEYS)})")
        effect = body.get("effect")
        if not isinstance(effect, str) or not effect.strip() or "\n" in effect.strip():
            problems.append(f"{where}: effect must be one line saying what changing it changes")
        tests = body.get("tests", [])
        gap = body.get("gap")
        if gap is not None and (not isinstance(gap, str) or not gap.strip()):
            problems.append(f"{where}: gap must say what is missing")
        if not isinstance(tests, list) or not all(isinstance(t, str) for t in tests):
            problems.append(f"{where}: tests must be a list of pytest node ids")
            tests = []
        elif not tests and gap is None:
            problems.append(f"{where}: tests must list at least one pytest node id")
        rows[str(key)] = Row(
            path=str(key),
            effect=str(effect or ""),
            tests=tuple(tests),
            writer=body.get("writer"),
            mentions=body.get("mentions"),
            passthrough=bool(body.get("passthrough", False)),
            gap=gap,
        )
    return rows, problems


# -- what must have a row --------------------------------------------------------------------


@dataclass(frozen=True)
class Tree:
    """The named nodes of a schema or a values file: ``leaves`` must each be covered by a row;
    ``nodes`` (leaves and the objects above them) are what a row may name."""

    leaves: tuple[str, ...]
    nodes: frozenset[str]


def schema_tree(schema: Mapping[str, Any], prefix: str) -> Tree:
    """The leaves of an OpenAPI schema: scalars, lists of scalars, and free-form maps
    (``additionalProperties``, ``x-kubernetes-preserve-unknown-fields``). An object with both
    properties and free-form extra keys (inline dataset rows) is a leaf for its extra keys,
    under its own path. Array items add ``[]`` to the path."""
    leaves: list[str] = []
    nodes: set[str] = set()

    def walk(node: Mapping[str, Any], path: str) -> None:
        nodes.add(path)
        if node.get("type") == "array" and isinstance(node.get("items"), dict):
            items = node["items"]
            if items.get("properties"):
                walk(items, path + "[]")
                return
        properties = node.get("properties")
        if properties:
            for name, child in properties.items():
                walk(child, f"{path}.{name}")
            extra = node.get("additionalProperties") or node.get(
                "x-kubernetes-preserve-unknown-fields"
            )
            if extra:
                leaves.append(path)
            return
        leaves.append(path)

    walk(schema, prefix)
    return Tree(tuple(leaves), frozenset(nodes))


def values_tree(values: Mapping[str, Any], prefix: str = "") -> Tree:
    """The leaves of a Helm values file: scalars, lists and empty maps."""
    leaves: list[str] = []
    nodes: set[str] = set()

    def walk(node: Any, path: str) -> None:
        nodes.add(path)
        if isinstance(node, dict) and node:
            for key, child in node.items():
                walk(child, f"{path}.{key}" if path else str(key))
            return
        leaves.append(path)

    for key, child in values.items():
        walk(child, f"{prefix}{key}")
    return Tree(tuple(leaves), frozenset(nodes))


def env_variables(files: Iterable[Path]) -> dict[str, str]:
    """Every ``MODELEVAL_*`` variable named in code (not in docstrings or comments): string
    constants that are a variable name, and prefixes (``"MODELEVAL_SECRET_"``,
    ``f"MODELEVAL_EXISTING_{index}"``) as ``NAME_*``. Value: where it is first named."""
    found: dict[str, str] = {}
    for path in files:
        for name, line in _named_in(path):
            found.setdefault(name, f"{_rel(path)}:{line}")
    return found


@cache
def _named_in(path: Path) -> tuple[tuple[str, int], ...]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docstrings = {id(node) for node in _docstrings(tree)}
    named = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and len(node.values) > 1:
            head = node.values[0]
            if (
                isinstance(head, ast.Constant)
                and isinstance(head.value, str)
                and ENV_NAME.fullmatch(head.value)
            ):
                named.append((head.value + "*", node.lineno))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and ENV_NAME.fullmatch(node.value)
        ):
            name = node.value + "*" if node.value.endswith("_") else node.value
            named.append((name, node.lineno))
    return tuple(sorted(named, key=lambda item: item[1]))


def _docstrings(tree: ast.AST) -> Iterator[ast.Constant]:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for stmt in body:  # attribute docstrings follow their assignment, anywhere in a body
            if (
                isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Constant)
                and isinstance(stmt.value.value, str)
            ):
                yield stmt.value


# -- the checks ------------------------------------------------------------------------------


def coverage_problems(tree: Tree, rows: Mapping[str, Row], table: str) -> list[str]:
    """Every leaf has a row (or sits under a passthrough row); every row names a node that
    exists, and a passthrough row covers no leaf that also has its own row."""
    problems = []
    passthrough = [row.path for row in rows.values() if row.passthrough]
    for leaf in tree.leaves:
        if leaf in rows or any(_under(leaf, top) for top in passthrough):
            continue
        problems.append(f"{leaf}: no effect row; {HOW.format(table=table)}")
    for path, row in rows.items():
        if path not in tree.nodes:
            problems.append(
                f"{path}: no such field or setting any more; remove its row from {table}"
            )
        elif not row.passthrough and path not in tree.leaves:
            problems.append(
                f"{path}: not a leaf; give each field under it a row in {table}, or mark this "
                "row passthrough: true when the whole object is copied as written"
            )
        elif row.passthrough:
            shadowed = [leaf for leaf in tree.leaves if _under(leaf, path) and leaf in rows]
            if shadowed:
                problems.append(f"{path}: passthrough, but {shadowed} have rows of their own")
    return problems


def names_problems(found: Mapping[str, str], rows: Mapping[str, Row], table: str) -> list[str]:
    """Every named setting has a row; every row names a setting that is still named."""
    problems = [
        f"{name} (named at {where}): no effect row; {HOW.format(table=table)}"
        for name, where in found.items()
        if name not in rows
    ]
    problems += [
        f"{name}: no longer named in the code; remove its row from {table}"
        for name in rows
        if name not in found
    ]
    return problems


def named_test_problems(rows: Mapping[str, Row], table: str, root: Path = REPO) -> list[str]:
    """Every named test exists (found by parsing its file) and mentions the row's word (its
    own source, or its module's: helpers and data next to it count)."""
    problems = []
    for row in rows.values():
        for node_id in row.tests:
            found = find_test(node_id, root)
            if isinstance(found, str):
                problems.append(f"{row.path}: {node_id}: {found} ({table})")
                continue
            function, module = found
            words = {row.word} if row.mentions else {row.word, _snake(row.word)}
            if not any(word in function or word in module for word in words):
                problems.append(
                    f"{row.path}: {node_id} never mentions {row.word!r}; name the test that "
                    f"changes this field, or set mentions: to what it uses instead ({table})"
                )
    return problems


def writer_problems(rows: Mapping[str, Row], table: str, *, status: bool) -> list[str]:
    """Status rows name a writer that exists and whose source mentions the field (camelCase
    or snake_case); other rows name none."""
    problems = []
    for row in rows.values():
        if not status:
            if row.writer:
                problems.append(f"{row.path}: only status rows name a writer ({table})")
            continue
        if not row.writer:
            problems.append(
                f"{row.path}: status field without a writer; add writer: module:function "
                f"(the code that writes it) to its row in {table}"
            )
            continue
        source = writer_source(row.writer)
        if source is None:
            problems.append(f"{row.path}: writer {row.writer} not found ({table})")
            continue
        words = {row.word, _snake(row.word)}
        if not any(word in source for word in words):
            problems.append(
                f"{row.path}: writer {row.writer} never mentions {' or '.join(sorted(words))} "
                f"({table})"
            )
    return problems


# -- helpers ---------------------------------------------------------------------------------


def find_test(node_id: str, root: Path = REPO) -> tuple[str, str] | str:
    """``(function source, module source)`` of ``path::[Class::]test[params]``, or why not."""
    parts = node_id.split("::")
    if len(parts) not in (2, 3) or not parts[0].endswith(".py"):
        return "not a node id (path.py::test or path.py::Class::test)"
    path = root / parts[0]
    if not path.is_file():
        return "no such file"
    module_source, functions = _test_functions(path)
    names = [part.split("[", 1)[0] for part in parts[1:]]
    if len(names) == 2 and not any(key.startswith(names[0] + ".") for key in functions):
        return f"no class {names[0]}"
    found = functions.get(".".join(names))
    if found is None:
        return f"no test {names[-1]}"
    return found, module_source


@cache
def _test_functions(path: Path) -> tuple[str, dict[str, str]]:
    """The module's source and the source of its functions and methods, by (Class.)name."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines(keepends=True)
    functions: dict[str, str] = {}

    def add(node: ast.AST, prefix: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            end = node.end_lineno or node.lineno
            functions[prefix + node.name] = "".join(lines[node.lineno - 1 : end])

    for node in ast.parse(source, filename=str(path)).body:
        add(node, "")
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                add(item, node.name + ".")
    return source, functions


@cache
def writer_source(writer: str) -> str | None:
    """The source of ``module:qualname``, or None when it does not resolve."""
    module_name, _, qualname = writer.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
        return inspect.getsource(target)
    except (ImportError, AttributeError, TypeError, OSError):
        return None


def _under(path: str, top: str) -> bool:
    return path.startswith(top + ".") or path.startswith(top + "[]")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def chart_values() -> dict[str, Any]:
    values: dict[str, Any] = load_yaml((CHART / "values.yaml").read_text(encoding="utf-8"))
    return values
