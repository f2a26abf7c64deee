"""Predictions files in, item records out in dataset order, a batch at a time.

A model's predictions may be one file or many (one per shard, in any order of completion), and
an item may have several lines (an attempt that failed, then a retry). Every line the inference
phase writes carries the item's dataset ``index``; records come out ordered by it, so a sharded
run and an unsharded run of the same task give the same records in the same order.

Two passes, memory independent of the number of items:

1. every line is read once and appended to the bucket of its index (``index // BUCKET`` items
   per bucket: kept in memory for small tasks, spilled to files under a temporary folder
   beyond ``MEMORY_BYTES``); one byte per index and model records whether it was answered (for
   counting judge calls ahead);
2. each bucket in order is read back, its lines reduced to one per (item, model) and its items
   sorted: an answer beats a failure, otherwise the later line wins (as in the checkpoint).

Lines without an index (existing results imported from elsewhere, files of older runs) make
the whole set ordered by first appearance instead (model by model, file by file), which needs a
map of ids: such sets are held to that memory.

Judgment files (:mod:`modeleval.scoring.judgments`) go into the same buckets: a kept verdict
comes out already set on its record when it answers the record's question as it is.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from modeleval.scoring.judgments import apply_line
from modeleval.scoring.records import ItemRecord, ModelResult, Prediction

BUCKET = 4096
"""Items per bucket: what pass 2 holds at a time (times the number of models)."""
MEMORY_BYTES = 32 << 20
"""Buckets stay in memory up to this many bytes of lines, then go to files."""
OPEN_FILES = 64
"""Bucket files kept open at once (least recently used closed first)."""
SPARSE_FACTOR = 512
"""An index beyond this many times the lines read so far (plus ``SPARSE_SLACK``) is not a
dataset position the inference phase wrote: the set is ordered by first appearance."""
SPARSE_SLACK = 1 << 22


class PredictionsError(ValueError):
    """A predictions file that cannot be read; the message names the file and the line."""


def answered(line: Mapping[str, Any]) -> bool:
    """A predictions line with an answer (no error, an output)."""
    return not line.get("error") and line.get("output") is not None


class _Buckets:
    """Byte lines by bucket number, in memory until ``limit`` bytes, then in files."""

    def __init__(self, spill_dir: Path | None, limit: int) -> None:
        self.spill_dir = spill_dir
        self.limit = limit
        self.size = 0
        self.memory: dict[int, list[bytes]] = {}
        self.folder: Path | None = None
        self.open: OrderedDict[int, IO[bytes]] = OrderedDict()
        self.numbers: set[int] = set()

    def add(self, number: int, line: bytes) -> None:
        self.numbers.add(number)
        if self.folder is None:
            self.memory.setdefault(number, []).append(line)
            self.size += len(line)
            if self.size > self.limit:
                self._spill()
            return
        self._file(number).write(line)

    def _spill(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="modeleval-scoring-", dir=self.spill_dir))
        memory, self.memory = self.memory, {}
        for number, lines in sorted(memory.items()):
            handle = self._file(number)
            for line in lines:
                handle.write(line)

    def _file(self, number: int) -> IO[bytes]:
        handle = self.open.get(number)
        if handle is not None:
            self.open.move_to_end(number)
            return handle
        if len(self.open) >= OPEN_FILES:
            _, oldest = self.open.popitem(last=False)
            oldest.close()
        assert self.folder is not None
        handle = (self.folder / f"{number:012d}").open("ab")
        self.open[number] = handle
        return handle

    def read(self, number: int) -> list[bytes]:
        if self.folder is None:
            return self.memory.pop(number, [])
        handle = self.open.pop(number, None)
        if handle is not None:
            handle.close()
        path = self.folder / f"{number:012d}"
        with path.open("rb") as fh:
            lines = fh.readlines()
        path.unlink()
        return lines

    def close(self) -> None:
        for handle in self.open.values():
            handle.close()
        self.open.clear()
        self.memory.clear()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class OrderedPredictions:
    """The records of a set of predictions files, ready to be read in order (:meth:`batches`)."""

    models: list[str]
    records: int
    """How many items (records) there are."""
    answered: dict[str, int]
    """Answered items per model."""
    both_answered: dict[tuple[str, str], int] = field(default_factory=dict)
    """Items answered by both models of a pair (asked for in :func:`order_predictions`)."""
    marks: dict[str, bytearray] = field(default_factory=dict)
    """Per model, one byte per key: 1 when that item was answered."""
    pair: tuple[str, str] | None = None
    fingerprint: str = ""
    """The judge settings kept verdicts must have been given under."""
    kept_verdicts: int = 0
    """Kept judge verdicts put on records so far."""
    _buckets: _Buckets | None = None

    def keyed_batches(self, size: int = BUCKET) -> Iterator[list[tuple[int, ItemRecord]]]:
        """``(key, record)`` pairs in order (the key: the item's dataset index, or its place of
        first appearance), ``size`` at most per batch (each bucket read once)."""
        assert self._buckets is not None
        pending: list[tuple[int, ItemRecord]] = []
        for number in sorted(self._buckets.numbers):
            found, kept = _bucket_records(
                self._buckets.read(number), self.models, self.fingerprint, self.pair
            )
            self.kept_verdicts += kept
            pending.extend(found)
            while len(pending) >= size:
                yield pending[:size]
                pending = pending[size:]
        if pending:
            yield pending

    def batches(self, size: int = BUCKET) -> Iterator[list[ItemRecord]]:
        """The records in order, ``size`` at most per batch (each bucket read once)."""
        for batch in self.keyed_batches(size):
            yield [record for _, record in batch]

    def close(self) -> None:
        if self._buckets is not None:
            self._buckets.close()

    def __enter__(self) -> OrderedPredictions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _ById(Exception):
    """A line without an index: order the whole set by first appearance instead."""


def order_predictions(
    files_by_model: Mapping[str, Sequence[Path]],
    *,
    spill_dir: Path | None = None,
    pair: tuple[str, str] | None = None,
    memory_bytes: int = MEMORY_BYTES,
    judgments: Sequence[Path] = (),
    fingerprint: str = "",
) -> OrderedPredictions:
    """Pass 1 over every file (blocking). ``pair``: also count the items both answered.
    ``judgments``: files of kept verdicts given under the judge settings ``fingerprint``."""
    try:
        ordered = _order(
            files_by_model, spill_dir, pair, memory_bytes, by_id=False, judgments=judgments
        )
    except _ById:
        ordered = _order(
            files_by_model, spill_dir, pair, memory_bytes, by_id=True, judgments=judgments
        )
    ordered.pair = pair
    ordered.fingerprint = fingerprint
    return ordered


def _order(
    files_by_model: Mapping[str, Sequence[Path]],
    spill_dir: Path | None,
    pair: tuple[str, str] | None,
    memory_bytes: int,
    *,
    by_id: bool,
    judgments: Sequence[Path],
) -> OrderedPredictions:
    models = list(files_by_model)
    buckets = _Buckets(spill_dir, memory_bytes)
    seen = bytearray()
    marks = {model: bytearray() for model in models}
    keys: dict[str, int] = {}
    lines = 0
    try:
        for number, model in enumerate(models):
            mark = marks[model]
            tag = b"%d\t" % number
            for path in files_by_model[model]:
                for raw, line in _lines(path):
                    lines += 1
                    index = line.get("index")
                    if by_id:
                        key = keys.setdefault(str(line["id"]), len(keys))
                    elif (
                        isinstance(index, int)
                        and not isinstance(index, bool)
                        and 0 <= index <= SPARSE_FACTOR * lines + SPARSE_SLACK
                    ):
                        key = index
                    else:
                        raise _ById
                    buckets.add(key // BUCKET, tag + b"%d\t" % key + raw)
                    if key >= len(seen):
                        seen.extend(bytes(key + 1 - len(seen)))
                    seen[key] = 1
                    if answered(line):
                        if key >= len(mark):
                            mark.extend(bytes(key + 1 - len(mark)))
                        mark[key] = 1
        for path in judgments:
            for raw, line in _lines(path):
                index = line.get("index")
                if by_id:
                    found = keys.get(str(line["id"]))
                elif isinstance(index, int) and not isinstance(index, bool) and index >= 0:
                    found = index
                else:
                    found = None
                if found is not None and found < len(seen) and seen[found]:
                    buckets.add(found // BUCKET, b"j\t%d\t" % found + raw)
    except BaseException:
        buckets.close()
        raise
    both: dict[tuple[str, str], int] = {}
    if pair is not None:
        a, b = marks[pair[0]], marks[pair[1]]
        both[pair] = sum(x & y for x, y in zip(a, b, strict=False))
    return OrderedPredictions(
        models=models,
        records=seen.count(1),
        answered={model: mark.count(1) for model, mark in marks.items()},
        both_answered=both,
        marks=marks,
        _buckets=buckets,
    )


def _lines(path: Path) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """``(raw, parsed)`` of each non-blank line of a predictions file."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
                if not isinstance(line, dict) or "id" not in line:
                    raise ValueError("not an object with an id")
            except ValueError as exc:
                where = f"{path}:{number}"
                raise PredictionsError(f"{where}: damaged predictions line: {exc}") from None
            if not raw.endswith(b"\n"):
                raw += b"\n"
            yield raw, line


def _bucket_records(
    lines: list[bytes], models: list[str], fp: str, pair: tuple[str, str] | None
) -> tuple[list[tuple[int, ItemRecord]], int]:
    """One bucket's lines as ``(key, record)`` sorted by key (one line per item and model), with
    the kept verdicts that still apply set on them; and how many were."""
    chosen: dict[int, dict[int, dict[str, Any]]] = {}
    verdicts: dict[int, list[dict[str, Any]]] = {}
    for raw in lines:
        model_part, key_part, body = raw.split(b"\t", 2)
        line = json.loads(body)
        if model_part == b"j":
            verdicts.setdefault(int(key_part), []).append(line)
            continue
        by_model = chosen.setdefault(int(key_part), {})
        number = int(model_part)
        old = by_model.get(number)
        if old is None or not answered(old) or answered(line):
            by_model[number] = line
    records = []
    kept = 0
    for key in sorted(chosen):
        by_model = chosen[key]
        first = by_model[min(by_model)]
        head = Prediction.from_dict(first)
        record = ItemRecord(id=head.id, input=head.input, target=head.target)
        for number, model in enumerate(models):
            found = by_model.get(number)
            if found is None:
                record.models[model] = ModelResult(answer=None, error="no prediction")
                continue
            prediction = Prediction.from_dict(found)
            if prediction.error or prediction.output is None:
                why = prediction.error or "no output"
                record.models[model] = ModelResult(
                    answer=prediction.output, error=f"inference failed: {why}"
                )
            else:
                record.models[model] = ModelResult(answer=prediction.output)
        for verdict in verdicts.get(key, ()):
            kept += apply_line(record, verdict, fp, pair)
        records.append((key, record))
    return records, kept
