"""Results in an S3-compatible bucket (``spec.results.type: S3``): the phase's view.

With S3 storage every phase pod starts with an empty ``/results`` (an emptyDir). A phase
first downloads ``s3://bucket/prefix/…`` into it (a retried inference pod gets its checkpoint
back, the scoring pod gets the predictions), uploads while it runs (``s3sync``: the new lines of
its checkpoints every second as part objects) and uploads everything whole when it ends,
stopped by SIGTERM included. Where the bucket is: ``s3bucket``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeleval.runner.plan import PLAN_VERSION
from modeleval.runner.s3bucket import S3Results, S3ResultsError
from modeleval.runner.s3sync import (
    COMPACT_INTERVAL_S,
    MAX_PARTS,
    PART_INTERVAL_S,
    PARTS_SUFFIX,
    UPLOAD_INTERVAL_S,
    WHOLE_INTERVAL_S,
    ResultsSync,
    part_key,
)

if TYPE_CHECKING:
    from modeleval.api.datasets import ResultsStorage

__all__ = [
    "COMPACT_INTERVAL_S",
    "MAX_PARTS",
    "PARTS_SUFFIX",
    "PART_INTERVAL_S",
    "UPLOAD_INTERVAL_S",
    "WHOLE_INTERVAL_S",
    "LocatingSink",
    "PeriodicUpload",
    "ResultsSync",
    "S3Results",
    "S3ResultsError",
    "download_prefix",
    "part_key",
    "results_from_task",
    "synced_results",
    "upload_dir",
]

log = logging.getLogger("modeleval.runner")


def results_from_task(
    task: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> S3Results | None:
    """The S3 results location of a task.json object, or None when results are not in S3."""
    plan = task.get("plan")
    if isinstance(plan, Mapping) and plan.get("version") == PLAN_VERSION:
        return S3Results.from_plan(plan.get("results"), env)
    raw = (task.get("spec") or {}).get("results")
    if not raw:
        return None
    from modeleval.api.datasets import ResultsStorage

    try:
        storage = ResultsStorage.model_validate(raw)
    except ValueError as exc:
        raise S3ResultsError(f"spec.results: {exc}") from None
    return S3Results.from_storage(storage, env)


def download_prefix(
    storage: ResultsStorage, local_dir: Path, env: Mapping[str, str] | None = None
) -> list[str]:
    """Fetch a task's results from its bucket into ``local_dir`` (no-op unless S3)."""
    remote = S3Results.from_storage(storage, env)
    return ResultsSync(remote, local_dir).download() if remote else []


def upload_dir(
    storage: ResultsStorage, local_dir: Path, env: Mapping[str, str] | None = None
) -> list[str]:
    """Upload every file under ``local_dir`` to the task's bucket (no-op unless S3)."""
    remote = S3Results.from_storage(storage, env)
    return ResultsSync(remote, local_dir).upload() if remote else []


class PeriodicUpload:
    """A daemon thread calling ``sync.upload_parts()`` every ``interval_s`` until ``stop()``."""

    def __init__(self, sync: ResultsSync, interval_s: float) -> None:
        self.sync = sync
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="results-upload", daemon=True)

    def start(self) -> PeriodicUpload:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sync.upload_parts()
            except S3ResultsError as exc:  # the final upload reports it if it persists
                log.warning("periodic results upload failed: %s", exc)
            except OSError as exc:  # a file that went away between listing and reading
                log.warning("periodic results upload: %s", exc)


class LocatingSink:
    """A status sink naming ``inferenceResults[].location`` by its ``s3://`` URL."""

    def __init__(self, inner: Any, sync: ResultsSync) -> None:
        self.inner = inner
        self.sync = sync

    async def patch_status(self, patch: dict[str, Any]) -> None:
        entries = patch.get("inferenceResults")
        if isinstance(entries, list):
            located = [
                {**e, "location": self.sync.location(e["location"])}
                if isinstance(e, dict) and e.get("location")
                else e
                for e in entries
            ]
            patch = {**patch, "inferenceResults": located}
        if inspect.iscoroutinefunction(self.inner.patch_status):
            await self.inner.patch_status(patch)
        else:
            await asyncio.to_thread(self.inner.patch_status, patch)

    async def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None and inspect.iscoroutinefunction(close):  # as ProgressReporter does
            await close()


@asynccontextmanager
async def synced_results(
    remote: S3Results | None, local_dir: Path, *, interval_s: float | None = None
) -> AsyncIterator[ResultsSync | None]:
    """Download before the block, upload during it (every ``interval_s``) and after it.

    Yields None (and does nothing) when ``remote`` is None. An upload failure after the block
    raises ``S3ResultsError``; after a block that raised, it is logged and the block's error
    propagates.
    """
    if remote is None:
        yield None
        return
    sync = ResultsSync(remote, local_dir)
    await asyncio.to_thread(sync.download)
    uploader = PeriodicUpload(sync, interval_s).start() if interval_s else None
    finished = False
    try:
        yield sync
        finished = True
    finally:
        if uploader is not None:
            await asyncio.to_thread(uploader.stop)
        try:
            sent = await asyncio.to_thread(sync.upload)
            log.info("results: %d files uploaded to %s", len(sent), remote.url(""))
        except S3ResultsError as exc:
            if finished:
                raise
            log.error("%s", exc)
