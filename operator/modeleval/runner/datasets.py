"""Dataset parsing: JSONL, JSON and CSV rows → ``Item`` with a field mapping and a limit.

Bad rows raise ``DatasetError`` naming the source and the line (or element) number.
Where the bytes come from (path, URL, S3, inline) is ``sources.py``'s concern.

JSONL and CSV are read as streams, a line at a time (:func:`iter_rows`), so a dataset of any
size is read in constant memory; a JSON document (one array) is parsed whole — give large
datasets as JSONL or CSV.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from modeleval.text import decode_utf8

INPUT_FIELDS = ("input", "prompt", "question", "query", "instruction")
TARGET_FIELDS = ("target", "response", "answer", "output", "expected", "reference")
ID_FIELDS = ("id", "uid", "item_id")


class DatasetError(ValueError):
    """A dataset that cannot be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """Which row fields hold the input, the reference answer and the item id.

    ``None`` means "first present of the usual names" (input/prompt/question...,
    target/response/answer..., id). Rows in Qianfan's layout (a list of
    ``{"prompt", "response"}`` turns) are understood without configuration.
    """

    input: str | None = None
    target: str | None = None
    id: str | None = None
    system: str | None = None
    """Column of a per-item system prompt (``dataset.fields.system``); none by default."""


@dataclass(frozen=True, slots=True)
class Item:
    """One dataset item, as sent to each model."""

    id: str
    input: str
    target: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    """The whole source row (template variables other than ``{input}`` come from here)."""
    system: str | None = None
    """This item's system prompt (from the ``fields.system`` column), if the dataset has one."""
    where: str = ""
    """``<source>:<line>`` of the row, for messages about it."""
    request: Any = None
    """A benchmark item's prepared request (``modeleval.benchmarks.Request``); None for a
    dataset row, whose prompt is the model's template applied to ``input``."""
    position: int = 0
    """The item's place in the dataset (0-based, after blank lines and before ``limit``): the
    order of the results, and what a shard's slice is cut by."""
    line: int = 0
    """The row's line (or element) number in its source."""


def detect_format(name: str, explicit: str | None = None) -> str:
    """``jsonl`` | ``json`` | ``csv`` from an explicit setting or the file name."""
    if explicit:
        fmt = explicit.lower()
        if fmt not in ("jsonl", "json", "csv"):
            raise DatasetError(f"{name}: unknown dataset format {explicit!r} (jsonl, json, csv)")
        return fmt
    lower = name.lower().split("?", 1)[0]
    for suffix, fmt in (
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "json"),
        (".csv", "csv"),
    ):
        if lower.endswith(suffix):
            return fmt
    return "jsonl"


def parse_items(
    data: bytes | str,
    *,
    name: str,
    fmt: str,
    mapping: FieldMapping | None = None,
    limit: int | None = None,
) -> list[Item]:
    """Parse a whole dataset held in memory; ``limit`` keeps the first N items."""
    stream = io.BytesIO(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    rows = iter_rows(stream, name=name, fmt=fmt)
    return rows_to_items(rows, name=name, mapping=mapping or FieldMapping(), limit=limit)


def iter_rows(stream: IO[bytes], *, name: str, fmt: str) -> Iterator[tuple[int, Any]]:
    """``(line, row)`` pairs of a dataset read from a binary stream (JSONL and CSV line by
    line; JSON whole)."""
    if fmt == "jsonl":
        return _jsonl_rows(decoded_lines(stream, name), name)
    if fmt == "json":
        return _json_rows(decode(stream.read(), name), name)
    if fmt == "csv":
        return _csv_rows(decoded_lines(stream, name), name)
    raise DatasetError(f"{name}: unknown dataset format {fmt!r}")


def decoded_lines(stream: IO[bytes], name: str) -> Iterator[tuple[int, str]]:
    """``(number, text)`` of each line, line ends kept; a first-line BOM is dropped, bytes that
    are not UTF-8 name their line and column."""
    for number, raw in enumerate(stream, start=1):
        yield number, decode_utf8(raw, name, error=DatasetError, first_line=number)


def decode(data: bytes, name: str) -> str:
    """UTF-8 text (a BOM is dropped); bytes that are not UTF-8 name their line and column."""
    return decode_utf8(data, name, error=DatasetError)


def rows_to_items(
    rows: Iterable[tuple[int, Any]], *, name: str, mapping: FieldMapping, limit: int | None
) -> list[Item]:
    """Map ``(line, row)`` pairs to items, checking fields and id uniqueness."""
    items: list[Item] = []
    seen: dict[str, int] = {}
    for item in iter_items(rows, name=name, mapping=mapping, limit=limit):
        if item.id in seen:
            raise duplicate_id(item, seen[item.id])
        seen[item.id] = item.line
        items.append(item)
    return items


def duplicate_id(item: Item, first_line: int) -> DatasetError:
    return DatasetError(
        f"{item.where}: duplicate item id {item.id!r} (first seen at line {first_line})"
    )


def iter_items(
    rows: Iterable[tuple[int, Any]],
    *,
    name: str,
    mapping: FieldMapping,
    limit: int | None,
    select: Callable[[int], bool] | None = None,
) -> Iterator[Item]:
    """Map ``(line, row)`` pairs to items as they come (ids are not checked for uniqueness
    here: ``runner.dataset_index`` does that over the whole stream). ``select(position)``:
    only the items it accepts are built (the others are still counted)."""
    for position, (line, row) in enumerate(rows):
        if limit is not None and position >= limit:
            return
        if select is None or select(position):
            yield to_item(row, position=position, line=line, name=name, mapping=mapping)


def to_item(row: Any, *, position: int, line: int, name: str, mapping: FieldMapping) -> Item:
    """One row as an item (``DatasetError`` naming ``name:line`` when it does not fit)."""
    return _to_item(row, index=position, line=line, where=f"{name}:{line}", mapping=mapping)


def _jsonl_rows(lines: Iterable[tuple[int, str]], name: str) -> Iterator[tuple[int, Any]]:
    for number, raw in lines:
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{name}:{number}: invalid JSON: {exc.msg}") from None


def _json_rows(text: str, name: str) -> Iterator[tuple[int, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{name}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if isinstance(data, dict):
        for key in ("data", "items", "rows"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if not isinstance(data, list):
        raise DatasetError(
            f"{name}:1: a JSON dataset must be a list of rows (or {{'data': [...]}})"
        )
    # JSON arrays have no row lines; element numbers (1-based) name the bad row instead.
    yield from enumerate(data, start=1)


class _CsvRow(dict[Any, Any]):
    """A CSV row (its cells are never None; a None means a missing cell)."""


def _from_csv(row: dict[Any, Any]) -> bool:
    return isinstance(row, _CsvRow)


def _csv_rows(lines: Iterable[tuple[int, str]], name: str) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(text for _, text in lines)
    try:
        for row in reader:
            yield reader.line_num, _CsvRow(row)  # the line the row ends on (header is line 1)
    except csv.Error as exc:
        raise DatasetError(f"{name}:{reader.line_num}: invalid CSV: {exc}") from None


def _to_item(row: Any, *, index: int, line: int, where: str, mapping: FieldMapping) -> Item:
    if isinstance(row, list):
        row = _qianfan_row(row, where)
    if not isinstance(row, dict):
        raise DatasetError(f"{where}: a row must be an object, got {type(row).__name__}")
    if None in row:  # csv.DictReader puts surplus cells under the key None
        raise DatasetError(f"{where}: more cells than header columns")
    missing = [key for key, value in row.items() if value is None and _from_csv(row)]
    if missing:  # csv.DictReader fills the columns of a short row with None
        raise DatasetError(
            f"{where}: fewer cells than header columns (no {', '.join(map(repr, missing))})"
        )
    input_value = _pick(row, mapping.input, INPUT_FIELDS, where, "input", required=True)
    if input_value is None:
        raise DatasetError(f"{where}: the input is null (a question is needed)")
    target_value = _pick(row, mapping.target, TARGET_FIELDS, where, "target", required=False)
    id_value = _pick(row, mapping.id, ID_FIELDS, where, "id", required=False)
    system = (
        _pick(row, mapping.system, (), where, "system", required=True) if mapping.system else None
    )
    return Item(
        id=str(id_value) if id_value not in (None, "") else str(index),
        input=as_text(input_value),
        target=None if target_value is None else as_text(target_value),
        fields=row,
        system=None if system in (None, "") else as_text(system),
        where=where,
        position=index,
        line=line,
    )


def _qianfan_row(turns: list[Any], where: str) -> dict[str, Any]:
    """Qianfan prompt/response layout: ``[{"prompt": q, "response": [[a]]}, ...]`` (last turn)."""
    if not turns or not all(isinstance(t, dict) for t in turns):
        raise DatasetError(f"{where}: a list row must hold {{prompt, response}} turns")
    last = dict(turns[-1])
    if len(turns) > 1:
        last["history"] = turns[:-1]
    return last


def _pick(
    row: dict[str, Any],
    configured: str | None,
    defaults: tuple[str, ...],
    where: str,
    role: str,
    *,
    required: bool,
) -> Any:
    if configured is not None:
        if configured not in row:
            if required:
                raise DatasetError(f"{where}: missing {role} field {configured!r}")
            return None
        return row[configured]
    for name in defaults:
        if name in row:
            return row[name]
    if required:
        raise DatasetError(f"{where}: no {role} field (looked for {', '.join(defaults)})")
    return None


def as_text(value: Any) -> str:
    """Flatten Qianfan's ``[["answer"]]`` response and other non-string values."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
