"""Where dataset bytes come from: a local file (PVC or ConfigMap mount), HTTP(S), S3, inline.

:func:`open_dataset` gives an :class:`ItemSource`: the items, read again from the start on
every pass and never all held in memory. A local file is read where it is; an HTTP(S) or S3
dataset is streamed once into a spool file (under ``$TMPDIR``, an emptyDir in a runner pod),
which is read from then on and deleted on ``close()``. :func:`load_dataset` is the whole list,
for the small sets that need one (existing results, load tests).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

from modeleval.runner.datasets import (
    DatasetError,
    FieldMapping,
    Item,
    decoded_lines,
    detect_format,
    duplicate_id,
    iter_items,
    iter_rows,
    to_item,
)

CHUNK_BYTES = 1 << 20
"""Download chunk: what a remote dataset costs in memory while it is spooled."""


@dataclass(frozen=True, slots=True)
class S3Settings:
    """How to reach an S3-compatible store; credentials come from environment variables."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_env: str = "AWS_ACCESS_KEY_ID"
    secret_key_env: str = "AWS_SECRET_ACCESS_KEY"


@dataclass(frozen=True, slots=True)
class DatasetSource:
    """One dataset: exactly one of ``path``, ``url`` (http/https/s3) or ``inline``."""

    path: str | None = None
    """Local file: a PVC mount or a ConfigMap-mounted file."""
    url: str | None = None
    """``http(s)://…`` or ``s3://bucket/key``."""
    inline: list[Any] | None = None
    """Rows given directly in the task spec."""
    format: str | None = None
    """``jsonl`` | ``json`` | ``csv``; default from the file name (jsonl if unknown)."""
    mapping: FieldMapping = field(default_factory=FieldMapping)
    limit: int | None = None
    """Use only the first N items."""
    s3: S3Settings = field(default_factory=S3Settings)
    http_headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 60.0


class ItemSource:
    """A dataset's items, read from the start on every :meth:`items` pass."""

    name: str = "inline"
    """Where the items come from, as messages name it (a path, a URL, ``inline``)."""

    def items(self, select: Callable[[int], bool] | None = None) -> Iterator[Item]:
        """The items in dataset order; ``select(position)``: only those it accepts are built
        (a shard reads the others' rows without parsing more than it must)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the source holds (a spool file)."""

    def __enter__(self) -> ItemSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FileItems(ItemSource):
    """Items of a JSONL, CSV or JSON file, streamed from disk on each pass."""

    def __init__(
        self,
        path: Path,
        *,
        name: str,
        fmt: str,
        mapping: FieldMapping,
        limit: int | None,
        spooled: bool = False,
    ) -> None:
        self.path = path
        self.name = name
        self.fmt = fmt
        self.mapping = mapping
        self.limit = limit
        self.spooled = spooled
        """The file is a download of ours: deleted on close."""

    def items(self, select: Callable[[int], bool] | None = None) -> Iterator[Item]:
        with self.path.open("rb") as stream:
            if self.fmt == "jsonl" and select is not None:
                yield from self._selected_jsonl(stream, select)
                return
            rows = iter_rows(stream, name=self.name, fmt=self.fmt)
            yield from iter_items(
                rows, name=self.name, mapping=self.mapping, limit=self.limit, select=select
            )

    def _selected_jsonl(self, stream: IO[bytes], select: Callable[[int], bool]) -> Iterator[Item]:
        """JSONL rows counted without parsing the ones ``select`` turns down (a shard of N
        parses about 1/N of the file)."""
        position = 0
        for number, text in decoded_lines(stream, self.name):
            if not text.strip():
                continue
            if self.limit is not None and position >= self.limit:
                return
            if select(position):
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{self.name}:{number}: invalid JSON: {exc.msg}") from None
                yield to_item(
                    row, position=position, line=number, name=self.name, mapping=self.mapping
                )
            position += 1

    def close(self) -> None:
        if self.spooled:
            self.path.unlink(missing_ok=True)


class RowItems(ItemSource):
    """Items of rows given in the task spec (inline datasets)."""

    def __init__(
        self, rows: Sequence[Any], *, mapping: FieldMapping, limit: int | None, name: str = "inline"
    ) -> None:
        self.rows = rows
        self.mapping = mapping
        self.limit = limit
        self.name = name

    def items(self, select: Callable[[int], bool] | None = None) -> Iterator[Item]:
        rows = enumerate(self.rows, start=1)
        return iter_items(
            rows, name=self.name, mapping=self.mapping, limit=self.limit, select=select
        )


class ListItems(ItemSource):
    """Items prepared by other means (a benchmark's questions), held in a list."""

    def __init__(self, items: Sequence[Item], *, name: str = "items") -> None:
        self.listed = [
            item if item.position == position else dataclasses.replace(item, position=position)
            for position, item in enumerate(items)
        ]
        self.name = name

    def items(self, select: Callable[[int], bool] | None = None) -> Iterator[Item]:
        for item in self.listed:
            if select is None or select(item.position):
                yield item


def open_dataset(source: DatasetSource, *, spool_dir: str | None = None) -> ItemSource:
    """The dataset as an item source; a remote one is downloaded into a spool file first
    (streamed: memory does not grow with its size). Blocking: call it in a thread."""
    given = [x for x in (source.path, source.url, source.inline) if x is not None]
    if len(given) != 1:
        raise DatasetError("dataset: set exactly one of path, url or inline")
    if source.inline is not None:
        return RowItems(source.inline, mapping=source.mapping, limit=source.limit)
    if source.path is not None:
        name = source.path
        path = _local_file(source.path)
        spooled = False
    else:
        assert source.url is not None
        name = source.url
        scheme = urlparse(source.url).scheme
        if scheme not in ("http", "https", "s3"):
            raise DatasetError(f"{name}: unsupported URL scheme {scheme!r} (http, https, s3)")
        path = _spool_path(spool_dir)
        spooled = True
        try:
            if scheme == "s3":
                _download_s3(source.url, source.s3, path)
            else:
                _download_http(source.url, source.http_headers, source.timeout_s, path)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    fmt = detect_format(name, source.format)
    return FileItems(
        path, name=name, fmt=fmt, mapping=source.mapping, limit=source.limit, spooled=spooled
    )


def load_dataset(source: DatasetSource) -> list[Item]:
    """Fetch and parse a whole dataset into a list, ids checked for uniqueness (blocking)."""
    with open_dataset(source) as items:
        listed: list[Item] = []
        seen: dict[str, int] = {}
        for item in items.items():
            if item.id in seen:
                raise duplicate_id(item, seen[item.id])
            seen[item.id] = item.line
            listed.append(item)
        return listed


def _local_file(path: str) -> Path:
    where = Path(path)
    if where.is_dir():
        raise DatasetError(f"{path}: is a directory, expected a dataset file")
    if not where.exists():
        raise DatasetError(f"{path}: dataset file not found")
    return where


def _spool_path(spool_dir: str | None) -> Path:
    fd, name = tempfile.mkstemp(prefix="modeleval-dataset-", suffix=".spool", dir=spool_dir)
    os.close(fd)
    return Path(name)


def _download_http(url: str, headers: dict[str, str], timeout_s: float, dest: Path) -> None:
    import httpx

    try:
        # No redirects: the operator allowed this URL (MODELEVAL_ALLOWED_DATASET_URLS), not
        # wherever it points to (a metadata endpoint, an in-cluster service).
        with httpx.stream(
            "GET", url, headers=headers, timeout=timeout_s, follow_redirects=False
        ) as response:
            if response.is_redirect:
                where = response.headers.get("location", "?")
                raise DatasetError(
                    f"{url}: download failed: HTTP {response.status_code} redirects to "
                    f"{where!r}; give the final URL (redirects are not followed)"
                )
            if response.status_code != 200:
                raise DatasetError(f"{url}: download failed: HTTP {response.status_code}")
            with dest.open("wb") as out:
                for chunk in response.iter_bytes(CHUNK_BYTES):
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise DatasetError(f"{url}: download failed: {exc}") from None


def s3_client(settings: S3Settings) -> Any:
    """A boto3 S3 client; path-style addressing when an S3-compatible endpoint is given."""
    import boto3
    from botocore.config import Config

    style = "path" if settings.endpoint_url else "auto"
    return boto3.client(
        "s3",
        endpoint_url=settings.endpoint_url,
        region_name=settings.region or os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get(settings.access_key_env),
        aws_secret_access_key=os.environ.get(settings.secret_key_env),
        config=Config(s3={"addressing_style": style}),
    )


def _download_s3(url: str, settings: S3Settings, dest: Path) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    parsed = urlparse(url)
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    if not bucket or not key:
        raise DatasetError(f"{url}: expected s3://bucket/key")
    client = s3_client(settings)
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        with dest.open("wb") as out:
            for chunk in body.iter_chunks(CHUNK_BYTES):
                out.write(chunk)
    except (BotoCoreError, ClientError) as exc:
        raise DatasetError(f"{url}: download failed: {exc}") from None
