"""Shards: one runner pod's slice of a sharded phase, and where each shard keeps its files.

A task with ``spec.runner.shards: N`` (N > 1) runs its inference (and judge) phase as one
Indexed Job of N completions. Kubernetes gives each pod its index in ``JOB_COMPLETION_INDEX``;
the operator puts N in ``MODELEVAL_SHARDS``. Shard ``k`` takes the items whose dataset
position ``p`` has ``p % N == k`` (round robin: a dataset sorted by length or difficulty is
spread evenly), for every model. The slice is a function of the position only, so a retried
shard pod takes exactly the same items and finds its own checkpoint.

Files (under ``$MODELEVAL_RESULTS_DIR/predictions``)::

    <model>.jsonl                        an unsharded run's predictions
    <model>.shards/<k>-of-<N>.jsonl      shard k's predictions (its checkpoint)

Every line carries the item's dataset ``index``; the score phase reads all of a model's files
and orders the items by it, so a sharded run's results are the unsharded run's, line for line.
A shard reads every file of its model at start (a shard count changed between a stop and a
resume still finds every answered item) but writes only its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SHARDS_ENV = "MODELEVAL_SHARDS"
"""How many shards the phase has (set by the operator on a sharded Job)."""
INDEX_ENV = "JOB_COMPLETION_INDEX"
"""This pod's shard (set by Kubernetes in every pod of an Indexed Job)."""
SHARDS_SUFFIX = ".shards"
"""``predictions/<model>.shards/``: the folder of a model's shard files."""


class ShardError(ValueError):
    """The shard environment is inconsistent (an index outside the shard count)."""


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` of ``count``; ``Shard(0, 1)`` is an unsharded run."""

    index: int = 0
    count: int = 1

    @property
    def sharded(self) -> bool:
        return self.count > 1

    def owns(self, position: int) -> bool:
        """Whether the item at dataset ``position`` is this shard's."""
        return position % self.count == self.index

    def size(self, total: int) -> int:
        """How many of ``total`` items are this shard's."""
        if total <= self.index:
            return 0
        return (total - self.index + self.count - 1) // self.count

    @property
    def label(self) -> str:
        """``shard 2 of 4`` (for logs and messages)."""
        return f"shard {self.index} of {self.count}"

    @property
    def file_name(self) -> str:
        """``00002-of-00004.jsonl``: sorted by index, one name per shard count."""
        return f"{self.index:05d}-of-{self.count:05d}.jsonl"

    def predictions_path(self, predictions_dir: Path, model: str) -> Path:
        """Where this shard writes ``model``'s predictions."""
        if not self.sharded:
            return predictions_dir / f"{model}.jsonl"
        return predictions_dir / f"{model}{SHARDS_SUFFIX}" / self.file_name


def shard_from_env(env: Mapping[str, str] | None = None) -> Shard:
    """This pod's shard: ``Shard(JOB_COMPLETION_INDEX, MODELEVAL_SHARDS)``; unsharded when
    ``MODELEVAL_SHARDS`` is unset or 1."""
    env = os.environ if env is None else env
    try:
        count = int(env.get(SHARDS_ENV) or 1)
        index = int(env.get(INDEX_ENV) or 0) if count > 1 else 0
    except ValueError as exc:
        raise ShardError(f"{SHARDS_ENV} / {INDEX_ENV}: not a number: {exc}") from None
    if count < 1 or not 0 <= index < count:
        raise ShardError(f"{INDEX_ENV}={index} is not a shard of {SHARDS_ENV}={count}")
    return Shard(index, count)


def prediction_files(predictions_dir: Path, model: str) -> list[Path]:
    """Every predictions file of ``model``: the unsharded file first, then the shard files in
    name order (an existing one only)."""
    files = []
    single = predictions_dir / f"{model}.jsonl"
    if single.is_file():
        files.append(single)
    folder = predictions_dir / f"{model}{SHARDS_SUFFIX}"
    if folder.is_dir():
        files.extend(sorted(p for p in folder.glob("*.jsonl") if p.is_file()))
    return files


def predictions_location(predictions_dir: Path, model: str, shard: Shard) -> Path:
    """What ``status.inferenceResults[].location`` names: the file, or a sharded model's
    folder of shard files."""
    if shard.sharded:
        return predictions_dir / f"{model}{SHARDS_SUFFIX}"
    return predictions_dir / f"{model}.jsonl"
