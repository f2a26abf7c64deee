"""One checking pass over a dataset before anything is sent, in memory that stays small.

The pass reads every row (a bad row fails the phase before any server is asked anything),
runs the caller's check on each item (the prompt templates' columns), finds duplicate ids, and
keeps an 8-byte hash of each item's id by position. Nothing else is kept: a 1,000,000-item
dataset costs ~8 MB here (and as much again for a moment, to sort them).

Duplicates are found by hash: in a set as the rows come for the first ``SET_LIMIT`` items (the
error names the first duplicate as soon as it is read), beyond that by sorting the hashes once
the pass is done (a set of a million hashes would cost ~60 MB). A hash seen twice is confirmed
by reading the dataset again (rare: true duplicates fail the phase anyway), so two ids that
merely share a hash never fail a run. The hashes are Python's ``hash()`` of the id: stable
within the process, which is all they are used for (matching checkpoint lines to positions,
:mod:`resume`).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass

from modeleval.runner.datasets import Item, duplicate_id
from modeleval.runner.sources import ItemSource


@dataclass(frozen=True, slots=True)
class DatasetIndex:
    """How many items a dataset has and a hash of each one's id, by position."""

    count: int
    id_hashes: array[int]

    def matches(self, position: int, item_id: str) -> bool:
        """Whether ``item_id`` is (as far as its hash tells) the id at ``position``."""
        return 0 <= position < self.count and self.id_hashes[position] == hash(item_id)


SET_LIMIT = 100_000
"""Items whose id hashes are kept in a set while the pass runs (see the module's docstring)."""


def index_dataset(source: ItemSource, check: Callable[[Item], None] | None = None) -> DatasetIndex:
    """Read every item once: ``DatasetError`` at the first bad row or duplicate id (naming its
    line), ``check(item)`` on each. Blocking; call it in a thread."""
    hashes: array[int] = array("q")
    seen: set[int] = set()
    for item in source.items():
        if check is not None:
            check(item)
        key = hash(item.id)
        if len(hashes) < SET_LIMIT:
            if key in seen:
                first = _first_line_of(source, item)
                if first is not None:
                    raise duplicate_id(item, first)
            seen.add(key)
        elif seen:
            seen = set()  # from here on, duplicates are found by sorting
        hashes.append(key)
    if len(hashes) > SET_LIMIT:
        _check_sorted(source, hashes)
    return DatasetIndex(count=len(hashes), id_hashes=hashes)


def _check_sorted(source: ItemSource, hashes: array[int]) -> None:
    """Duplicate ids of a large dataset: hashes seen twice (a sorted copy), then confirmed."""
    import numpy as np

    ordered = np.sort(np.frombuffer(hashes, dtype=np.int64))
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not repeated.size:
        return
    suspects = set(repeated.tolist())
    first: dict[tuple[int, str], Item] = {}
    for item in source.items():
        key = hash(item.id)
        if key not in suspects:
            continue
        earlier = first.setdefault((key, item.id), item)
        if earlier.position != item.position:
            raise duplicate_id(item, earlier.line)


def _first_line_of(source: ItemSource, duplicate: Item) -> int | None:
    """The line of the first item before ``duplicate`` with the same id, if there is one."""
    for item in source.items():
        if item.position >= duplicate.position:
            return None
        if item.id == duplicate.id:
            return item.line
    return None
