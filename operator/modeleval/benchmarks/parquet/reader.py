"""Read a parquet file into a list of row dicts, in pure Python.

What Hub dataset files use is supported: physical types BOOLEAN, INT32, INT64, FLOAT,
DOUBLE, BYTE_ARRAY (UTF-8 strings when annotated), FIXED_LEN_BYTE_ARRAY and INT96 (as bytes);
PLAIN and dictionary encodings (``PLAIN_DICTIONARY``, ``RLE_DICTIONARY``), RLE/bit-packed
levels, data pages v1 and v2; nested structs and lists (one level of repetition: a list of
strings, a struct of lists, a list of structs), with nulls anywhere. Anything else (DELTA
encodings, lists of lists, maps) raises :class:`ParquetError` naming it.

This is the runner's reader of benchmark files: a few MB at most per file, decoded in well
under a second, with no dependency (pyarrow would add ~100 MB to the image).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from modeleval.benchmarks.parquet.codecs import CodecError, decompress
from modeleval.benchmarks.parquet.thrift import Reader, ThriftError

MAGIC = b"PAR1"
BOOLEAN, INT32, INT64, INT96, FLOAT, DOUBLE, BYTE_ARRAY, FIXED = range(8)
REQUIRED, OPTIONAL, REPEATED = range(3)
PLAIN, PLAIN_DICTIONARY, RLE, BIT_PACKED, RLE_DICTIONARY = 0, 2, 3, 4, 8
DATA_PAGE, INDEX_PAGE, DICTIONARY_PAGE, DATA_PAGE_V2 = range(4)
UTF8, CONVERTED_LIST = 0, 3


MAX_PAGE = 256 * 1024 * 1024
"""Largest uncompressed page accepted (a hostile file cannot make us allocate more)."""


class ParquetError(ValueError):
    """Not a parquet file, or one using a feature this reader does not have."""


@dataclass(slots=True)
class Node:
    """A schema element with its place in the tree."""

    name: str
    repetition: int
    kind: int | None
    """Physical type; None for a group."""
    text: bool = False
    """BYTE_ARRAY holding UTF-8 text (STRING / UTF8 / ENUM / JSON)."""
    is_list: bool = False
    type_length: int = 0
    children: list[Node] = field(default_factory=list)
    definition: int = 0
    """Definition level at which this node is present."""
    repeat: int = 0
    """Repetition levels above and including this node."""
    path: tuple[str, ...] = ()

    def leaves(self) -> Iterator[Node]:
        if self.kind is not None:
            yield self
        for child in self.children:
            yield from child.leaves()


def _schema(elements: list[dict[int, Any]]) -> Node:
    position = 0

    def build(definition: int, repeat: int, path: tuple[str, ...]) -> Node:
        nonlocal position
        element = elements[position]
        position += 1
        repetition = element.get(3, REQUIRED)
        name = element.get(4, b"").decode("utf-8", "replace")
        logical = element.get(10) or {}
        node = Node(
            name=name,
            repetition=repetition,
            kind=element.get(1) if not element.get(5) else None,
            text=element.get(6) in (UTF8, 16, 19) or any(k in logical for k in (1, 4, 12)),
            is_list=element.get(6) == CONVERTED_LIST or 3 in logical,
            type_length=element.get(2, 0),
            path=path,
        )
        node.definition = definition + (repetition != REQUIRED)
        node.repeat = repeat + (repetition == REPEATED)
        for _ in range(element.get(5) or 0):
            node.children.append(build(node.definition, node.repeat, (*path, node.name)))
        return node

    root = elements[0]
    position = 1
    tree = Node(name="", repetition=REQUIRED, kind=None)
    for _ in range(root.get(5) or 0):
        tree.children.append(build(0, 0, ()))
    return tree


def _hybrid(data: bytes, pos: int, end: int, width: int, count: int) -> list[int]:
    """RLE / bit-packed hybrid values (levels and dictionary indices)."""
    out: list[int] = []
    mask = (1 << width) - 1
    size = (width + 7) // 8
    while len(out) < count and pos < end:
        header = shift = 0
        while True:
            b = data[pos]
            pos += 1
            header |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
        if header & 1:
            groups = header >> 1
            nbytes = groups * width
            bits = int.from_bytes(data[pos : pos + nbytes], "little")
            pos += nbytes
            out.extend((bits >> (i * width)) & mask for i in range(groups * 8))
        else:
            value = int.from_bytes(data[pos : pos + size], "little") if size else 0
            pos += size
            out.extend([value] * min(header >> 1, count - len(out)))  # a run cannot overflow
    if len(out) < count:
        raise ParquetError("levels or indices end early")
    return out[:count]


def _levels(
    data: bytes, pos: int, maximum: int, count: int, prefixed: bool, end: int = 0
) -> tuple[list[int], int]:
    if maximum == 0:
        return [0] * count, pos
    if prefixed:
        (length,) = struct.unpack_from("<I", data, pos)
        pos += 4
        end = pos + length
    return _hybrid(data, pos, end, maximum.bit_length(), count), end


def _plain(data: bytes, pos: int, kind: int, count: int, node: Node) -> list[Any]:
    if kind == BYTE_ARRAY:
        values: list[Any] = []
        for _ in range(count):
            (length,) = struct.unpack_from("<I", data, pos)
            pos += 4
            raw = data[pos : pos + length]
            pos += length
            values.append(raw.decode("utf-8") if node.text else raw)
        return values
    if kind == INT32:
        return list(struct.unpack_from(f"<{count}i", data, pos))
    if kind == INT64:
        return list(struct.unpack_from(f"<{count}q", data, pos))
    if kind == DOUBLE:
        return list(struct.unpack_from(f"<{count}d", data, pos))
    if kind == FLOAT:
        return list(struct.unpack_from(f"<{count}f", data, pos))
    if kind == BOOLEAN:
        bits = int.from_bytes(data[pos : pos + (count + 7) // 8], "little")
        return [bool((bits >> i) & 1) for i in range(count)]
    width = 12 if kind == INT96 else node.type_length
    return [data[pos + i * width : pos + (i + 1) * width] for i in range(count)]


@dataclass(slots=True)
class _Column:
    """Decoded (repetition, definition, value) triples of one leaf column."""

    reps: list[int] = field(default_factory=list)
    defs: list[int] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    """Non-null values only, in order."""


def _values(
    data: bytes, pos: int, encoding: int, count: int, node: Node, dictionary: list[Any] | None
) -> list[Any]:
    if count == 0:
        return []
    assert node.kind is not None
    if encoding == PLAIN:
        return _plain(data, pos, node.kind, count, node)
    if encoding in (PLAIN_DICTIONARY, RLE_DICTIONARY):
        if dictionary is None:
            raise ParquetError(f"column {node.name}: dictionary-encoded page without dictionary")
        width = data[pos]
        indices = _hybrid(data, pos + 1, len(data), width, count)
        try:
            return [dictionary[i] for i in indices]
        except IndexError:
            raise ParquetError(f"column {node.name}: dictionary index out of range") from None
    if encoding == RLE and node.kind == BOOLEAN:
        (length,) = struct.unpack_from("<I", data, pos)
        return [bool(v) for v in _hybrid(data, pos + 4, pos + 4 + length, 1, count)]
    raise ParquetError(f"column {node.name}: encoding {encoding} is not supported")


def _read_column(data: bytes, meta: dict[int, Any], node: Node) -> _Column:
    codec = meta.get(4, 0)
    total = meta.get(5, 0)
    start = meta.get(11) or meta[9]
    if meta.get(11) and meta[9] < start:
        start = meta[9]
    column = _Column()
    dictionary: list[Any] | None = None
    pos = start
    max_def = node.definition
    max_rep = node.repeat
    while len(column.defs) < total:
        reader = Reader(data, pos)
        header = reader.struct()
        pos = reader.pos
        size = header[3]
        if size < 0 or pos + size > len(data) or header[2] > MAX_PAGE:
            raise ParquetError(f"column {node.name}: page sizes out of range")
        body = memoryview(data)[pos : pos + size]
        pos += size
        page_type = header[1]
        if page_type == DICTIONARY_PAGE:
            info = header[7]
            page = decompress(codec, body, header[2])
            dictionary = _plain(page, 0, node.kind or 0, info[1], node)
        elif page_type == DATA_PAGE:
            info = header[5]
            count = info[1]
            page = decompress(codec, body, header[2])
            reps, at = _levels(page, 0, max_rep, count, True)
            defs, at = _levels(page, at, max_def, count, True)
            present = sum(1 for d in defs if d == max_def)
            column.values += _values(page, at, info[2], present, node, dictionary)
            column.reps += reps
            column.defs += defs
        elif page_type == DATA_PAGE_V2:
            info = header[8]
            count = info[1]
            rep_length, def_length = info[6], info[5]
            raw = bytes(body)
            reps, _ = _levels(raw, 0, max_rep, count, False, rep_length)
            defs, _ = _levels(raw, rep_length, max_def, count, False, rep_length + def_length)
            rest = raw[rep_length + def_length :]
            if info.get(7, True):
                rest = decompress(codec, rest, header[2] - rep_length - def_length)
            present = sum(1 for d in defs if d == max_def)
            column.values += _values(rest, 0, info[4], present, node, dictionary)
            column.reps += reps
            column.defs += defs
        elif page_type != INDEX_PAGE:
            raise ParquetError(f"column {node.name}: unknown page type {page_type}")
    return column


@dataclass(slots=True)
class _Rows:
    """A leaf's triples split into rows: per row, a list of (definition, value)."""

    rows: list[list[tuple[int, Any]]]


def _split_rows(column: _Column, node: Node) -> _Rows:
    rows: list[list[tuple[int, Any]]] = []
    values = iter(column.values)
    for rep, definition in zip(column.reps, column.defs, strict=True):
        value = next(values) if definition == node.definition else None
        if rep == 0:
            rows.append([])
        elif rep > 1:
            raise ParquetError(f"column {'.'.join(node.path)}: nested lists are not supported")
        rows[-1].append((definition, value))
    return _Rows(rows)


def _element(list_node: Node) -> tuple[Node, Node]:
    """(the repeated node, the element node) of a LIST-annotated group (modern and legacy)."""
    repeated = list_node.children[0]
    if repeated.kind is not None or len(repeated.children) != 1:
        return repeated, repeated
    if repeated.name in ("array", f"{list_node.name}_tuple"):
        return repeated, repeated
    return repeated, repeated.children[0]


class _Assembler:
    def __init__(self, leaves: dict[int, _Rows]) -> None:
        self.leaves = leaves
        self._first: dict[int, _Rows] = {}

    def first(self, node: Node) -> _Rows:
        found = self._first.get(id(node))
        if found is None:
            found = self._first[id(node)] = self.leaves[id(next(node.leaves()))]
        return found

    def value(self, node: Node, row: int, slot: int, in_element: bool = False) -> Any:
        triples = self.first(node).rows[row]
        definition = triples[slot][0]
        if node.repetition == OPTIONAL and definition < node.definition:
            return None
        if node.kind is not None:
            if node.repetition == REPEATED and not in_element:
                if definition < node.definition:
                    return []
                return [value for _, value in triples]
            return triples[slot][1] if definition >= node.definition else None
        if node.is_list and node.children:
            repeated, element = _element(node)
            if definition < repeated.definition:
                return []
            if element is repeated and repeated.kind is None:
                return [self.struct(repeated, row, i) for i in range(len(triples))]
            return [self.value(element, row, i, True) for i in range(len(triples))]
        if node.repetition == REPEATED and not in_element:
            if definition < node.definition:
                return []
            return [self.struct(node, row, i) for i in range(len(triples))]
        return self.struct(node, row, slot)

    def struct(self, node: Node, row: int, slot: int) -> dict[str, Any]:
        return {child.name: self.value(child, row, slot) for child in node.children}


def read_table(data: bytes) -> list[dict[str, Any]]:
    """All rows of a parquet file, as ``{column: value}`` dicts in file order."""
    if len(data) < 12 or data[:4] != MAGIC or data[-4:] != MAGIC:
        raise ParquetError("not a parquet file (no PAR1 magic)")
    (footer_length,) = struct.unpack_from("<I", data, len(data) - 8)
    footer_start = len(data) - 8 - footer_length
    if footer_start < 4:
        raise ParquetError("corrupt parquet footer")
    try:
        meta = Reader(data, footer_start).struct()
        schema = _schema(meta[2])
        leaves = list(schema.leaves())
        rows: list[dict[str, Any]] = []
        for group in meta.get(4) or []:
            split: dict[int, _Rows] = {}
            chunks = group[1]
            if len(chunks) != len(leaves):
                raise ParquetError("row group columns do not match the schema")
            for leaf, chunk in zip(leaves, chunks, strict=True):
                if chunk.get(1):
                    raise ParquetError("columns in external files are not supported")
                split[id(leaf)] = _split_rows(_read_column(data, chunk[3], leaf), leaf)
            assembler = _Assembler(split)
            count = len(split[id(leaves[0])].rows) if leaves else 0
            rows.extend(assembler.struct(schema, row, 0) for row in range(count))
    except (
        ThriftError,
        CodecError,
        struct.error,
        KeyError,
        IndexError,
        StopIteration,
        TypeError,
        AttributeError,
        RecursionError,
        UnicodeDecodeError,
    ) as exc:
        raise ParquetError(f"cannot read parquet: {exc!r}") from None
    return rows
