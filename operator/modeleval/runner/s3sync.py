"""Copying a results directory to and from its bucket: whole files and checkpoint parts.

Object keys are ``<prefix>/<path relative to the results dir>``.

While it runs, the new complete lines of every ``.jsonl`` file (append-only checkpoints) go up
every ``interval_s`` (``PART_INTERVAL_S``) as a part object ``<key>.parts/<offset>.jsonl``
holding the file's bytes from ``offset`` (15 digits) to the end of its last complete line, so
a pod killed without warning loses at most that much checkpoint. A file goes up whole (and its
parts are deleted) every ``COMPACT_INTERVAL_S``, at ``MAX_PARTS`` parts, at the end, or when
it is not an append (it shrank, was replaced, or the bytes already sent changed: sizes, inode
and samples of the sent bytes are compared). Other files go up whole every
``WHOLE_INTERVAL_S``. ``download`` rebuilds a ``.jsonl`` file from its base object and the
bytes of its parts beyond it, in offset order, stopping (with a warning) at a gap.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from modeleval.runner.s3bucket import S3Results, S3ResultsError
from modeleval.runner.s3bucket import describe as _describe
from modeleval.runner.sources import s3_client

log = logging.getLogger("modeleval.runner")

PART_INTERVAL_S = 1.0
"""How often a running phase uploads the new lines of its ``.jsonl`` files as part objects."""

UPLOAD_INTERVAL_S = PART_INTERVAL_S
"""The ``interval_s`` an inference phase passes to ``synced_results`` (the part interval)."""

COMPACT_INTERVAL_S = 60.0
"""How often, at most, a ``.jsonl`` file with parts is uploaded whole while the phase runs."""

MAX_PARTS = 50
"""A ``.jsonl`` file with this many parts is uploaded whole at the next tick."""

WHOLE_INTERVAL_S = 15.0
"""How often other changed files (not ``.jsonl``) are uploaded while the phase runs."""

PARTS_SUFFIX = ".parts"
_PART_DIGITS = 15
_SAMPLE = 4096
"""Bytes compared at each end of the uploaded prefix to tell an append from a rewrite."""


def part_key(key: str, offset: int) -> str:
    """The key of the part object holding a ``.jsonl`` object's bytes from ``offset`` on."""
    return f"{key}{PARTS_SUFFIX}/{offset:0{_PART_DIGITS}d}.jsonl"


def _part_of(relative: PurePosixPath) -> tuple[str, int] | None:
    """``(file, offset)`` for a part object's relative path, else None."""
    parent, name = relative.parent.name, relative.name
    stem = name.removesuffix(".jsonl")
    if not parent.endswith(f".jsonl{PARTS_SUFFIX}") or name == stem:
        return None
    if len(stem) != _PART_DIGITS or not (stem.isascii() and stem.isdigit()):
        return None
    file = relative.parent.with_name(parent.removesuffix(PARTS_SUFFIX))
    return file.as_posix(), int(stem)


def _in_parts_dir(relative: PurePosixPath) -> bool:
    return any(part.endswith(f".jsonl{PARTS_SUFFIX}") for part in relative.parts[:-1])


def _complete_lines(data: bytes) -> bytes:
    """``data`` up to the end of its last complete line."""
    return data[: data.rfind(b"\n") + 1]


@dataclass(slots=True)
class _Appended:
    """What the bucket holds of one local ``.jsonl`` file."""

    sent: int
    """Bytes ``[0, sent)`` are in the bucket (base object and parts)."""
    base: int
    """Bytes ``[0, base)`` are in the base object."""
    parts: dict[int, int]
    """Offset -> size of the file's part objects known to be in the bucket."""
    ident: tuple[int, int] | None
    """``(st_dev, st_ino)`` of the file sent (None: unknown, the next upload is whole)."""
    head: bytes
    """The first bytes of the sent prefix (up to ``_SAMPLE``)."""
    tail: bytes
    """The last bytes of the sent prefix (up to ``_SAMPLE``)."""
    compacted_at: float
    """``time.monotonic()`` of the last whole upload (or of the download)."""

    @classmethod
    def of(cls, data: bytes, ident: tuple[int, int] | None, base: int) -> _Appended:
        return cls(
            sent=len(data),
            base=base,
            parts={},
            ident=ident,
            head=data[:_SAMPLE],
            tail=data[-_SAMPLE:],
            compacted_at=time.monotonic(),
        )

    @classmethod
    def of_file(cls, path: Path, base: int) -> _Appended:
        stat = path.stat()
        with path.open("rb") as fh:
            head = fh.read(_SAMPLE)
            fh.seek(max(0, stat.st_size - _SAMPLE))
            tail = fh.read()
        state = cls.of(b"", (stat.st_dev, stat.st_ino), base)
        state.sent, state.head, state.tail = stat.st_size, head, tail
        return state

    def appended_to(self, path: Path, stat: os.stat_result) -> bool:
        """Whether the file still starts with the bytes sent (it only grew since)."""
        if self.ident != (stat.st_dev, stat.st_ino) or stat.st_size < self.sent:
            return False
        with path.open("rb") as fh:
            head = fh.read(len(self.head))
            fh.seek(self.sent - len(self.tail))
            return head == self.head and fh.read(len(self.tail)) == self.tail


class ResultsSync:
    """Copies one local results directory to and from its bucket prefix (thread-safe).

    ``.jsonl`` files are append-only checkpoints: ``upload_parts`` (the periodic upload) sends
    only their complete new lines, as part objects ``<key>.parts/<offset>.jsonl``, and uploads
    a file whole (then deletes its parts) at most every ``compact_interval_s`` or once it has
    ``max_parts`` parts; ``upload`` (the final one) uploads every changed file whole.
    ``download`` rebuilds each ``.jsonl`` file from its base object and parts.
    """

    def __init__(
        self,
        remote: S3Results,
        local_dir: Path,
        *,
        compact_interval_s: float = COMPACT_INTERVAL_S,
        max_parts: int = MAX_PARTS,
        whole_interval_s: float = WHOLE_INTERVAL_S,
    ) -> None:
        self.remote = remote
        self.local_dir = local_dir
        self.compact_interval_s = compact_interval_s
        self.max_parts = max_parts
        self.whole_interval_s = whole_interval_s
        self._client = s3_client(remote.settings)
        self._sent: dict[str, tuple[int, int]] = {}
        """Relative path -> (size, mtime_ns) of the copy the bucket holds (not ``.jsonl``)."""
        self._appended: dict[str, _Appended] = {}
        """Relative path -> what the bucket holds of a ``.jsonl`` file."""
        self._others_at = time.monotonic()
        self._lock = threading.Lock()

    def location(self, path: str | Path) -> str:
        """The ``s3://`` URL of a file under the local results dir (other paths unchanged)."""
        try:
            relative = Path(path).resolve().relative_to(self.local_dir.resolve())
        except ValueError:
            return str(path)
        return self.remote.url(relative.as_posix())

    def _where(self, key: str) -> str:
        return f"s3://{self.remote.bucket}/{key}"

    # -- download ---------------------------------------------------------------------------

    def download(self) -> list[str]:
        """Fetch every file under the prefix that is not already here; returns their paths.

        A ``.jsonl`` file is its base object followed by the bytes of its parts beyond it.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        prefix = f"{self.remote.prefix}/" if self.remote.prefix else ""
        fetched: list[str] = []
        with self._lock:
            try:
                pages = self._client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.remote.bucket, Prefix=prefix
                )
                listed = [
                    (obj["Key"], int(obj.get("Size", 0)))
                    for page in pages
                    for obj in page.get("Contents", [])
                ]
            except (BotoCoreError, ClientError) as exc:
                where = self.remote.url("")
                raise S3ResultsError(f"{where}: cannot list results: {_describe(exc)}") from None
            bases: dict[str, str] = {}
            parts: dict[str, dict[int, int]] = {}
            for key, size in listed:
                name = PurePosixPath(key[len(prefix) :])
                if key.endswith("/") or ".." in name.parts or not name.parts:
                    continue
                if _in_parts_dir(name):  # never a file of its own
                    part = _part_of(name)
                    if part is not None:
                        parts.setdefault(part[0], {})[part[1]] = size
                    continue
                bases[name.as_posix()] = key
            for relative in sorted(bases.keys() | parts.keys()):
                target = self.local_dir.joinpath(*PurePosixPath(relative).parts)
                if target.exists():  # a local copy is at least as new as the bucket's
                    if relative in parts:  # uploaded whole next time, then these go
                        self._appended[relative] = _Appended(
                            0, 0, dict(parts[relative]), None, b"", b"", time.monotonic()
                        )
                    continue
                if relative.endswith(".jsonl"):
                    got = self._download_appended(
                        relative, bases.get(relative), parts.get(relative, {}), target
                    )
                    if not got:
                        continue
                else:
                    self._download_one(bases[relative], target)
                    stat = target.stat()
                    self._sent[relative] = (stat.st_size, stat.st_mtime_ns)
                fetched.append(relative)
        if fetched:
            log.info("results: downloaded %d files from %s", len(fetched), self.remote.url(""))
        return fetched

    def _download_one(self, key: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.download")
        self._fetch(key, partial)
        partial.replace(target)

    def _fetch(self, key: str, dest: Path) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.download_file(self.remote.bucket, key, str(dest))
        except (BotoCoreError, ClientError) as exc:
            dest.unlink(missing_ok=True)
            raise S3ResultsError(f"{self._where(key)}: download failed: {_describe(exc)}") from None

    def _get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self._client.get_object(Bucket=self.remote.bucket, Key=key)["Body"]
            return bytes(body.read())
        except (BotoCoreError, ClientError) as exc:
            raise S3ResultsError(f"{self._where(key)}: download failed: {_describe(exc)}") from None

    def _download_appended(
        self, relative: str, base_key: str | None, parts: Mapping[int, int], target: Path
    ) -> bool:
        """Rebuild a ``.jsonl`` file from its base and parts; False when there is nothing."""
        key = self.remote.key(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.download")
        if base_key is not None:
            self._fetch(base_key, partial)
        else:
            partial.write_bytes(b"")
        try:
            base = length = partial.stat().st_size
            with partial.open("ab") as fh:
                for offset in sorted(parts):
                    if offset + parts[offset] <= length:
                        continue  # covered by the base (left by a compaction)
                    if offset > length:
                        log.warning(
                            "results: %s: no part holds bytes %d to %d; %s and later ignored",
                            self._where(key),
                            length,
                            offset,
                            self._where(part_key(key, offset)),
                        )
                        break
                    chunk = self._get(part_key(key, offset))[length - offset :]
                    fh.write(chunk)
                    length += len(chunk)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        if base_key is None and length == 0:
            partial.unlink()
            return False
        partial.replace(target)
        state = _Appended.of_file(target, base)
        state.parts = dict(parts)
        self._appended[relative] = state
        return True

    # -- upload -----------------------------------------------------------------------------

    def upload(self) -> list[str]:
        """Upload every file that changed since it was last sent, whole; returns their paths.

        The final upload of a phase: a ``.jsonl`` file with parts is uploaded whole too, and
        its parts deleted.
        """
        return self._upload(parts=False)

    def upload_parts(self) -> list[str]:
        """The periodic upload; returns the paths of the files something was sent for.

        New complete lines of ``.jsonl`` files go up as part objects (a file whose compaction
        is due, or that is not append-only, goes up whole); other changed files go up whole at
        most every ``whole_interval_s``.
        """
        return self._upload(parts=True)

    def _upload(self, *, parts: bool) -> list[str]:
        sent: list[str] = []
        with self._lock:
            if not self.local_dir.is_dir():
                return sent
            now = time.monotonic()
            others = not parts or now - self._others_at >= self.whole_interval_s
            if others:
                self._others_at = now
            for path in sorted(self.local_dir.rglob("*")):
                if not path.is_file() or path.is_symlink() or path.name.endswith(".download"):
                    continue
                relative = path.relative_to(self.local_dir).as_posix()
                if _in_parts_dir(PurePosixPath(relative)):
                    continue
                if path.suffix == ".jsonl":
                    if self._upload_appended(path, relative, parts=parts, now=now):
                        sent.append(relative)
                    continue
                if not others:
                    continue
                stat = path.stat()
                state = (stat.st_size, stat.st_mtime_ns)
                if self._sent.get(relative) == state:
                    continue
                self._put(self.remote.key(relative), path.read_bytes(), path.name)
                self._sent[relative] = state
                sent.append(relative)
        if sent:
            log.debug("results: uploaded %s to %s", ", ".join(sent), self.remote.url(""))
        return sent

    def _upload_appended(self, path: Path, relative: str, *, parts: bool, now: float) -> bool:
        """Send what the bucket lacks of a ``.jsonl`` file; whether anything was sent."""
        stat = path.stat()
        state = self._appended.get(relative)
        if state is None or not state.appended_to(path, stat):
            self._upload_whole(path, relative, state)
            return True
        with path.open("rb") as fh:
            fh.seek(state.sent)
            new = _complete_lines(fh.read())
        due = bool(state.parts) and (
            not parts
            or len(state.parts) >= self.max_parts
            or now - state.compacted_at >= self.compact_interval_s
        )
        if due or (not parts and state.base < state.sent + len(new)):
            self._upload_whole(path, relative, state)
            return True
        if not new:
            return False
        key = self.remote.key(relative)
        self._put(part_key(key, state.sent), new, path.name)
        state.parts[state.sent] = len(new)
        state.sent += len(new)
        state.tail = (state.tail + new)[-_SAMPLE:]
        if len(state.head) < _SAMPLE:
            state.head = (state.head + new)[:_SAMPLE]
        return True

    def _upload_whole(self, path: Path, relative: str, state: _Appended | None) -> None:
        """Upload a ``.jsonl`` file's complete lines as its base object; drop its parts."""
        stat = path.stat()
        data = _complete_lines(path.read_bytes())
        key = self.remote.key(relative)
        self._put(key, data, path.name)
        self._appended[relative] = _Appended.of(data, (stat.st_dev, stat.st_ino), len(data))
        if state is not None and state.parts:
            self._delete_parts(key, sorted(state.parts))

    def _delete_parts(self, key: str, offsets: list[int]) -> None:
        """Delete parts a whole upload replaced; a failure is only logged (readers skip them)."""
        from botocore.exceptions import BotoCoreError, ClientError

        keys = [part_key(key, offset) for offset in offsets]
        failed: list[str] = []
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            try:
                answer = self._client.delete_objects(
                    Bucket=self.remote.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )
            except (BotoCoreError, ClientError) as exc:
                failed.append(_describe(exc))
                continue
            errors = answer.get("Errors") or []
            if errors:
                first = errors[0]
                failed.append(f"{first.get('Code', '?')}: {first.get('Message') or 'no message'}")
        if failed:
            log.warning(
                "results: %s: could not delete its %d parts after uploading it whole (%s)",
                self._where(key),
                len(keys),
                failed[0],
            )

    def _put(self, key: str, data: bytes, name: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if name.endswith(".jsonl"):
            kind = "application/x-ndjson"
        try:
            self._client.put_object(Bucket=self.remote.bucket, Key=key, Body=data, ContentType=kind)
        except (BotoCoreError, ClientError) as exc:
            raise S3ResultsError(f"{self._where(key)}: upload failed: {_describe(exc)}") from None
