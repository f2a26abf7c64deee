"""Reading resource files as ``kubectl -f`` does, and saying exactly what is wrong with them.

    docs = read_documents([Path("tasks/"), Path("g.yaml"), Path("-")])   # dirs, files, stdin
    for doc in docs:
        doc.source, doc.line, doc.body        # "tasks/a.yaml", 12, {"kind": "EvalTask", …}
        doc.line_of(("spec", "inference", "client", "parallel"))   # the line of that field

A folder contributes its ``*.yaml``, ``*.yml`` and ``*.json`` files in name order (with
``recursive``, those of its subfolders too), as ``kubectl apply -f DIR [-R]``. Anything that is
not a list of Kubernetes objects raises :class:`IntakeError` with ``FILE[:LINE]: what``: a
missing or unreadable file, bytes that are not UTF-8, malformed YAML, a document that is a
list or a scalar, a document without ``kind``. Empty documents (``---`` alone) are skipped;
a file with none at all is an error. ``kind: List`` documents are unpacked.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modeleval.text import decode_utf8

SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"


class IntakeError(ValueError):
    """A file or document that cannot be read as Kubernetes objects; the message names it."""


@dataclass(frozen=True)
class Document:
    """One object of a file, with where it starts and the YAML nodes to find its fields."""

    source: str
    line: int
    """1-based line where the object starts."""
    body: dict[str, Any]
    node: Any = field(default=None, repr=False, compare=False)

    @property
    def kind(self) -> str:
        return str(self.body.get("kind") or "")

    @property
    def name(self) -> str:
        meta = self.body.get("metadata")
        return str((meta.get("name") if isinstance(meta, dict) else None) or "")

    def line_of(self, path: Sequence[str | int]) -> int:
        """The line of the deepest field of ``path`` that the file has (the object's line
        when none)."""
        node, line = self.node, self.line
        for step in path:
            child = _child(node, step)
            if child is None:
                break
            node, line = child, child.start_mark.line + 1
        return line


def _child(node: Any, step: str | int) -> Any:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                return value
    if (
        isinstance(node, yaml.SequenceNode)
        and isinstance(step, int)
        and 0 <= step < len(node.value)
    ):
        return node.value[step]
    return None


def files_of(paths: Iterable[Path], *, recursive: bool = False) -> list[Path]:
    """The files ``paths`` name: each file itself, each folder's resource files."""
    found: list[Path] = []
    for path in paths:
        if str(path) == STDIN:
            found.append(path)
        elif path.is_dir():
            pattern = "**/*" if recursive else "*"
            inside = sorted(p for p in path.glob(pattern) if p.suffix in SUFFIXES and p.is_file())
            if not inside:
                raise IntakeError(f"{path}: no {', '.join(SUFFIXES)} files in this folder")
            found += inside
        elif path.exists():
            found.append(path)
        else:
            raise IntakeError(f"{path}: no such file or folder")
    return found


def _text(path: Path) -> str:
    try:
        data = sys.stdin.buffer.read() if str(path) == STDIN else path.read_bytes()
    except OSError as exc:
        raise IntakeError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return decode_utf8(data, str(path), error=IntakeError)


def _yaml_error(path: Path, exc: yaml.YAMLError) -> IntakeError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return IntakeError(f"{where}: invalid YAML: {problem}")


def read_file(path: Path) -> list[Document]:
    """The objects of one file (``-``: standard input)."""
    text = _text(path)
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        bodies = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    except (ValueError, TypeError, RecursionError) as exc:  # e.g. an unhashable mapping key
        raise IntakeError(f"{path}: invalid YAML: {exc}") from None
    docs: list[Document] = []
    for index, (node, body) in enumerate(zip(nodes, bodies, strict=True), start=1):
        if body is None:
            continue
        line = node.start_mark.line + 1
        where = f"{path}:{line}"
        if not isinstance(body, dict):
            kind = "a list" if isinstance(body, list) else f"a {type(body).__name__}"
            raise IntakeError(
                f"{where}: document {index} is {kind}, not a Kubernetes object "
                "(a mapping with apiVersion and kind)"
            )
        if not isinstance(body.get("kind"), str) or not body.get("kind"):
            raise IntakeError(f"{where}: document {index} has no kind")
        if body["kind"].endswith("List") and isinstance(body.get("items"), list):
            items = _child(node, "items")
            for position, item in enumerate(body["items"]):
                item_node = _child(items, position)
                item_line = item_node.start_mark.line + 1 if item_node is not None else line
                if not isinstance(item, dict) or not item.get("kind"):
                    raise IntakeError(f"{path}:{item_line}: items[{position}] has no kind")
                docs.append(Document(str(path), item_line, item, item_node))
            continue
        docs.append(Document(str(path), line, body, node))
    if not docs:
        raise IntakeError(f"{path}: no objects in this file")
    return docs


def read_documents(paths: Iterable[Path], *, recursive: bool = False) -> list[Document]:
    """Every object of ``paths`` (files, folders, ``-``), in order."""
    return [doc for path in files_of(paths, recursive=recursive) for doc in read_file(path)]
