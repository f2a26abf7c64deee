"""The package's layers import one way only, and no module imports itself back.

Every ``import`` in ``operator/modeleval`` (top-level and inside functions) is read from the
source. A top-level package may import only from packages of a lower layer; any cycle between
modules fails, whatever the layers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import REPO

PACKAGE = REPO / "operator" / "modeleval"

LAYERS: dict[str, int] = {
    # foundations: names and time
    "constants": 0,
    "clock": 0,
    "redact": 0,
    "text": 0,
    # the API models, settings, and libraries that need none of the operator
    "api": 1,
    "settings": 1,
    "metrics": 1,
    "kube": 1,
    "scoring": 1,
    "benchmarks": 1,
    "argocd": 1,
    # pure manifests, then pure decisions
    "builders": 2,
    "reconcile": 3,
    "events": 3,
    # the three processes: the operator's handlers, the Jobs' runner and the web console
    # (same layer: none imports another; the runner reaches the console over HTTP only)
    "handlers": 4,
    "runner": 4,
    "console": 4,
    # entry points
    "localrefs": 4,
    "localrun": 5,
    "main": 5,
    "cli": 6,
}
"""Top-level module or package of ``modeleval`` -> its layer."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> Iterator[list[str]]:
    """For every import statement of ``path``, the ``modeleval`` names it may mean, most
    specific first (``from modeleval import x`` may mean module ``modeleval.x``)."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            groups = [[alias.name] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            groups = [[f"{module}.{alias.name}", module] for alias in node.names]
        else:
            continue
        for group in groups:
            if group[0] == "modeleval" or group[0].startswith("modeleval."):
                yield group


def known(candidates: list[str], modules: set[str]) -> str | None:
    """The first candidate that names a module (``a.b.c`` may be module ``a.b`` with
    attribute ``c``)."""
    for target in candidates:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != "modeleval":
            return target
    return None


def top(module: str) -> str:
    return [*module.split("."), ""][1]


def graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    edges: dict[str, set[str]] = {}
    for name, path in paths.items():
        found = {known(group, modules) for group in imports(path)}
        edges[name] = {m for m in found if m and m != name}
    return edges


def test_every_top_level_module_has_a_layer() -> None:
    tops = {top(m) for m in graph() if top(m)}
    assert tops - {"__main__"} <= set(LAYERS), sorted(tops - set(LAYERS))


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    """Imports of a module from a package of the same or a higher layer."""
    upward = []
    for source, targets in edges.items():
        for target in targets:
            a, b = top(source), top(target)
            if a and b and a != b and LAYERS[b] >= LAYERS[a]:
                upward.append(f"{source} (layer {LAYERS[a]}) imports {target} (layer {LAYERS[b]})")
    return sorted(upward)


def test_imports_go_down_the_layers_only() -> None:
    upward = upward_imports(graph())
    assert not upward, "\n".join(upward)


def test_the_layer_check_sees_upward_and_sideways_imports() -> None:
    edges = {
        "modeleval.builders.jobs": {"modeleval.api.common", "modeleval.runner.exits"},
        "modeleval.runner.score": {"modeleval.handlers.evaltask", "modeleval.scoring.engine"},
    }
    assert upward_imports(edges) == [
        "modeleval.builders.jobs (layer 2) imports modeleval.runner.exits (layer 4)",
        "modeleval.runner.score (layer 4) imports modeleval.handlers.evaltask (layer 4)",
    ]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_modules() -> None:
    assert cycles(graph()) == []


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_the_cycle_finder_finds_cycles(
    edges: dict[str, set[str]], expected: list[list[str]]
) -> None:
    assert cycles(edges) == expected
