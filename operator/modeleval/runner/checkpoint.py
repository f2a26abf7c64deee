"""The predictions file is the checkpoint: one JSON line per finished item.

Each line is written and flushed as the item finishes (it survives a process kill); fsync is
batched (every ``fsync_interval_s`` or ``fsync_every`` lines, and on close) so a node crash
loses at most that much. On restart ``load_finished`` returns the finished records; a torn
last line (a kill in the middle of a write) is cut off, so the item is simply sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path
from typing import IO, Any

from modeleval.redact import mask


class CheckpointError(ValueError):
    """A predictions file that is damaged somewhere other than its last line, or that cannot
    be written (disk full, read-only volume): the message names the file."""


def _cannot_write(path: Path, exc: OSError) -> CheckpointError:
    return CheckpointError(
        f"{path}: cannot write the checkpoint: {exc.strerror or exc}; the answers written "
        "before are kept and a restart goes on from them"
    )


def load_finished(path: Path) -> dict[str, dict[str, Any]]:
    """Finished records by item id; repairs a torn last line in place."""
    if not path.exists():
        return {}
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        with path.open("r+b") as fh:
            fh.truncate(cut)
        data = data[:cut]
    records: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            records[str(record["id"])] = record
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{path}:{number}: damaged checkpoint line: {exc}") from None
    return records


class CheckpointWriter:
    """Appends records to a predictions file: ``await start()``, ``append()``, ``await close()``."""

    def __init__(
        self, path: Path, *, fsync_interval_s: float = 0.5, fsync_every: int = 200
    ) -> None:
        self.path = path
        self.fsync_interval_s = fsync_interval_s
        self.fsync_every = fsync_every
        self.written = 0
        self._unsynced = 0
        self._file: IO[str] | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._broken: OSError | None = None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")

    async def start(self) -> None:
        """Open the file and start the background fsync task."""
        if self._file is None:
            self.open()
        self._task = asyncio.create_task(self._sync_loop(), name="checkpoint-fsync")

    def append(self, record: dict[str, Any]) -> None:
        """Write one finished item (never blocks on fsync)."""
        fh = self._file
        if fh is None:
            raise RuntimeError("checkpoint file is not open")
        if self._broken is not None:
            raise _cannot_write(self.path, self._broken)
        try:
            fh.write(mask(json.dumps(record, ensure_ascii=False)) + "\n")
            fh.flush()
        except OSError as exc:  # a torn last line is cut off on restart (load_finished)
            self._broken = exc
            raise _cannot_write(self.path, exc) from None
        self.written += 1
        self._unsynced += 1
        if self._unsynced >= self.fsync_every:
            self._wake.set()

    async def _sync_loop(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.fsync_interval_s):
                    await self._wake.wait()
            self._wake.clear()
            if self._unsynced and self._file is not None and self._broken is None:
                self._unsynced = 0
                try:
                    await asyncio.to_thread(os.fsync, self._file.fileno())
                except OSError as exc:
                    self._broken = exc

    async def close(self) -> None:
        """Stop the fsync task, then flush, fsync and close the file."""
        if self._task is not None:
            self._closing = True
            self._wake.set()
            await self._task
            self._task = None
        self.close_sync()

    def close_sync(self) -> None:
        """Flush, fsync and close; a write that fails raises ``CheckpointError`` (the file is
        closed anyway)."""
        fh, self._file = self._file, None
        if fh is None:
            return
        try:
            fh.flush()
            os.fsync(fh.fileno())
        except OSError as exc:
            self._broken = self._broken or exc
        finally:
            with contextlib.suppress(OSError):
                fh.close()
        if self._broken is not None:
            raise _cannot_write(self.path, self._broken)
