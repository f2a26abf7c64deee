"""One checking pass over a dataset before anything is sent, in memory that stays small.

The pass reads every row (a bad row fails the phase before any server is asked anything),
runs the caller's check on each item (the prompt templates' columns), finds duplicate ids, and
keeps an 8-byte hash of each item's id by position. Nothing else is kept: a 1,000,000-item
dataset costs ~8 MB here, plus a set of hashes while the pass runs.

Duplicates are found by hash; a hash seen twice is confirmed by reading the dataset again up to
that row (rare: true duplicates fail the phase anyway), so two ids that merely share a hash
never fail a run. The hashes are Python's ``hash()`` of the id: stable within the process,
which is all they are used for (matching checkpoint lines to positions, :mod:`resume`).
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


def index_dataset(source: ItemSource, check: Callable[[Item], None] | None = None) -> DatasetIndex:
    """Read every item once: ``DatasetError`` at the first bad row or duplicate id (naming its
    line), ``check(item)`` on each. Blocking; call it in a thread."""
    hashes: array[int] = array("q")
    seen: set[int] = set()
    for item in source.items():
        if check is not None:
            check(item)
        key = hash(item.id)
        if key in seen:
            first = _first_line_of(source, item)
            if first is not None:
                raise duplicate_id(item, first)
        seen.add(key)
        hashes.append(key)
    return DatasetIndex(count=len(hashes), id_hashes=hashes)


def _first_line_of(source: ItemSource, duplicate: Item) -> int | None:
    """The line of the first item before ``duplicate`` with the same id, if there is one."""
    for item in source.items():
        if item.position >= duplicate.position:
            return None
        if item.id == duplicate.id:
            return item.line
    return None
