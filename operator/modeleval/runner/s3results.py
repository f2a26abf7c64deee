"""Results in an S3-compatible bucket (``spec.results.type: S3``).

With S3 storage every phase pod starts with an empty ``/results`` (an emptyDir). A phase
first downloads ``s3://bucket/prefix/…`` into it (a retried inference pod gets its checkpoint
back, the scoring pod gets the predictions), uploads what changed every ``interval_s`` while
it runs (a killed pod loses at most that much checkpoint) and uploads again when it ends,
stopped by SIGTERM included. Object keys are ``<prefix>/<path relative to the results dir>``.

Credentials come from the environment variables named by ``modeleval.api.secret_env_name``
for ``accessKeyId`` / ``secretAccessKey`` (the Job maps the Secrets to them); without those
references boto3's usual ``AWS_*`` variables apply. Secret values are never logged.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import mimetypes
import os
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from modeleval.runner.plan import PLAN_VERSION, PlanError, s3_settings
from modeleval.runner.sources import S3Settings, s3_client

if TYPE_CHECKING:
    from modeleval.api.datasets import ResultsStorage

log = logging.getLogger("modeleval.runner")

UPLOAD_INTERVAL_S = 15.0
"""How often a running inference phase uploads its checkpoint."""


class S3ResultsError(Exception):
    """The bucket cannot be read or written; the message names the bucket and key."""


@dataclass(frozen=True, slots=True)
class S3Results:
    """Where a task's results live in a bucket, and how to reach it."""

    bucket: str
    prefix: str
    """Key prefix without leading or trailing ``/`` (may be empty)."""
    settings: S3Settings

    @classmethod
    def from_plan(
        cls, results: Mapping[str, Any] | None, env: Mapping[str, str] | None = None
    ) -> S3Results | None:
        """The bucket of a run plan's ``results`` (``{"s3": {...}}``); None for a volume."""
        s3 = (results or {}).get("s3")
        if not s3:
            return None
        env = os.environ if env is None else env
        parsed = urlparse(s3["url"])
        if parsed.scheme != "s3" or not parsed.netloc:
            raise S3ResultsError(f"{s3['url']}: expected s3://bucket/prefix")
        try:
            settings = s3_settings(s3, env)
        except PlanError as exc:
            raise S3ResultsError(f"{s3['url']}: {exc}") from None
        return cls(parsed.netloc, parsed.path.strip("/"), settings)

    @classmethod
    def from_storage(
        cls, storage: ResultsStorage | None, env: Mapping[str, str] | None = None
    ) -> S3Results | None:
        """The bucket of an S3 ``ResultsStorage``; None for any other storage."""
        from modeleval.builders.runplan import results_plan

        return cls.from_plan(results_plan(storage), env)

    def key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def url(self, relative: str = "") -> str:
        return f"s3://{self.bucket}/{self.key(relative)}"


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


def _describe(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', '?')}: {error.get('Message') or 'no message'}"
    return str(exc)


class ResultsSync:
    """Copies one local results directory to and from its bucket prefix (thread-safe)."""

    def __init__(self, remote: S3Results, local_dir: Path) -> None:
        self.remote = remote
        self.local_dir = local_dir
        self._client = s3_client(remote.settings)
        self._sent: dict[str, tuple[int, int]] = {}
        """Relative path -> (size, mtime_ns) of the copy the bucket holds."""
        self._lock = threading.Lock()

    def location(self, path: str | Path) -> str:
        """The ``s3://`` URL of a file under the local results dir (other paths unchanged)."""
        try:
            relative = Path(path).resolve().relative_to(self.local_dir.resolve())
        except ValueError:
            return str(path)
        return self.remote.url(relative.as_posix())

    def download(self) -> list[str]:
        """Fetch every object under the prefix that is not already here; returns their paths."""
        from botocore.exceptions import BotoCoreError, ClientError

        prefix = f"{self.remote.prefix}/" if self.remote.prefix else ""
        fetched: list[str] = []
        with self._lock:
            try:
                pages = self._client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.remote.bucket, Prefix=prefix
                )
                keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
            except (BotoCoreError, ClientError) as exc:
                where = self.remote.url("")
                raise S3ResultsError(f"{where}: cannot list results: {_describe(exc)}") from None
            for key in keys:
                relative = PurePosixPath(key[len(prefix) :])
                if key.endswith("/") or ".." in relative.parts or not relative.parts:
                    continue
                target = self.local_dir.joinpath(*relative.parts)
                if target.exists():  # a local copy is at least as new as the bucket's
                    continue
                self._download_one(key, target)
                stat = target.stat()
                self._sent[relative.as_posix()] = (stat.st_size, stat.st_mtime_ns)
                fetched.append(relative.as_posix())
        if fetched:
            log.info("results: downloaded %d files from %s", len(fetched), self.remote.url(""))
        return fetched

    def _download_one(self, key: str, target: Path) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.download")
        try:
            self._client.download_file(self.remote.bucket, key, str(partial))
        except (BotoCoreError, ClientError) as exc:
            partial.unlink(missing_ok=True)
            where = f"s3://{self.remote.bucket}/{key}"
            raise S3ResultsError(f"{where}: download failed: {_describe(exc)}") from None
        partial.replace(target)

    def upload(self) -> list[str]:
        """Upload every file that changed since it was last sent; returns their paths."""
        sent: list[str] = []
        with self._lock:
            if not self.local_dir.is_dir():
                return sent
            for path in sorted(self.local_dir.rglob("*")):
                if not path.is_file() or path.is_symlink() or path.name.endswith(".download"):
                    continue
                relative = path.relative_to(self.local_dir).as_posix()
                stat = path.stat()
                state = (stat.st_size, stat.st_mtime_ns)
                if self._sent.get(relative) == state:
                    continue
                self._upload_one(path, relative)
                self._sent[relative] = state
                sent.append(relative)
        if sent:
            log.debug("results: uploaded %s to %s", ", ".join(sent), self.remote.url(""))
        return sent

    def _upload_one(self, path: Path, relative: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        data = path.read_bytes()
        if path.suffix == ".jsonl" and data and not data.endswith(b"\n"):
            data = data[: data.rfind(b"\n") + 1]  # a line being written: send it next time
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix == ".jsonl":
            kind = "application/x-ndjson"
        key = self.remote.key(relative)
        try:
            self._client.put_object(Bucket=self.remote.bucket, Key=key, Body=data, ContentType=kind)
        except (BotoCoreError, ClientError) as exc:
            where = f"s3://{self.remote.bucket}/{key}"
            raise S3ResultsError(f"{where}: upload failed: {_describe(exc)}") from None


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
    """A daemon thread calling ``sync.upload()`` every ``interval_s`` until ``stop()``."""

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
                self.sync.upload()
            except S3ResultsError as exc:  # the final upload reports it if it persists
                log.warning("periodic results upload failed: %s", exc)


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
