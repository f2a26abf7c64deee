"""What an earlier run of this shard already answered, read from the checkpoints by streaming.

A model's checkpoints are all its predictions files (:func:`shards.prediction_files`): this
shard's own file and, after a change of the shard count, those of other shard layouts. Each
line is read once; what is kept is one byte per dataset position (answered, or failed and to be
tried again), so resuming a 1,000,000-item run costs ~1 MB per model.

A line names its item by ``index`` (dataset position) and ``id``; it counts for that position
when the id's hash matches the one the dataset has there (:class:`DatasetIndex`). A line
without an index (written before lines had one), or whose item moved (the dataset was edited
between a stop and a resume), is matched by id in one more pass over the dataset, so an
answered item is never sent again, wherever it now is. Lines of items no longer in the dataset
are ignored.

Only this shard's own file is repaired (a torn last line cut off); a torn last line in another
file is another pod's write in progress and is skipped, never cut.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modeleval.runner.checkpoint import CheckpointError
from modeleval.runner.dataset_index import DatasetIndex
from modeleval.runner.shards import Shard
from modeleval.runner.sources import ItemSource

ANSWERED = 1
FAILED = 2


@dataclass(slots=True)
class Resumed:
    """This shard's finished items of one model, by dataset position."""

    state: bytearray
    """Per position: 0 not tried, ``FAILED`` (tried, to be sent again), ``ANSWERED``."""
    answered: int = 0
    retried: int = 0
    """Items whose earlier attempts failed: they are sent again."""
    lines: int = 0
    """Checkpoint lines read."""
    unmatched: dict[str, bool] = field(default_factory=dict)
    """Ids of lines that did not name their position (id -> answered), until matched."""

    def done(self, position: int) -> bool:
        return self.state[position] == ANSWERED

    def mark(self, position: int, ok: bool) -> None:
        current = self.state[position]
        if current == ANSWERED:
            return  # an answer is never undone by a later failed line
        if ok:
            self.state[position] = ANSWERED
            self.answered += 1
            if current == FAILED:
                self.retried -= 1
        elif current == 0:
            self.state[position] = FAILED
            self.retried += 1


def read_checkpoints(
    files: Sequence[Path],
    *,
    own: Path,
    index: DatasetIndex,
    shard: Shard,
    source: ItemSource,
) -> Resumed:
    """What the checkpoint ``files`` hold for this ``shard``'s positions (blocking)."""
    resumed = Resumed(state=bytearray(index.count))
    for path in files:
        for record in _records(path, repair=path == own):
            resumed.lines += 1
            item_id = str(record["id"])
            ok = record.get("error") is None
            position = record.get("index")
            if isinstance(position, int) and index.matches(position, item_id):
                if shard.owns(position):
                    resumed.mark(position, ok)
                continue
            resumed.unmatched[item_id] = resumed.unmatched.get(item_id, False) or ok
    if resumed.unmatched:
        _match_by_id(resumed, source, shard)
    return resumed


def _match_by_id(resumed: Resumed, source: ItemSource, shard: Shard) -> None:
    """Positions of the unmatched lines' ids, found in one pass over this shard's items."""
    pending = resumed.unmatched
    for item in source.items(select=shard.owns):
        ok = pending.pop(item.id, None)
        if ok is not None:
            resumed.mark(item.position, ok)
        if not pending:
            break
    resumed.unmatched = {}


def _records(path: Path, *, repair: bool) -> Iterator[dict[str, Any]]:
    """Complete lines of one checkpoint file; ``repair``: cut a torn last line off in place."""
    if not path.exists():
        return
    with path.open("rb") as fh:
        good_end = 0
        for number, line in enumerate(fh, start=1):
            if not line.endswith(b"\n"):
                break  # a torn last line: the item is simply sent again
            good_end += len(line)
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or "id" not in record:
                    raise ValueError("not an object with an id")
            except ValueError as exc:
                raise CheckpointError(f"{path}:{number}: damaged checkpoint line: {exc}") from None
            yield record
    if repair and path.stat().st_size > good_end:
        with path.open("r+b") as fh:
            fh.truncate(good_end)
