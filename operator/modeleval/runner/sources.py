"""Where dataset bytes come from: a local file (PVC or ConfigMap mount), HTTP(S), S3, inline."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from modeleval.runner.datasets import (
    DatasetError,
    FieldMapping,
    Item,
    detect_format,
    parse_items,
    rows_to_items,
)


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


def load_dataset(source: DatasetSource) -> list[Item]:
    """Fetch and parse a dataset (blocking; call before the event loop gets busy)."""
    given = [x for x in (source.path, source.url, source.inline) if x is not None]
    if len(given) != 1:
        raise DatasetError("dataset: set exactly one of path, url or inline")
    if source.inline is not None:
        rows = enumerate(source.inline, start=1)
        return rows_to_items(rows, name="inline", mapping=source.mapping, limit=source.limit)
    if source.path is not None:
        name = source.path
        data = _read_path(source.path)
    else:
        assert source.url is not None
        name = source.url
        scheme = urlparse(source.url).scheme
        if scheme in ("http", "https"):
            data = _read_http(source.url, source.http_headers, source.timeout_s)
        elif scheme == "s3":
            data = _read_s3(source.url, source.s3)
        else:
            raise DatasetError(f"{name}: unsupported URL scheme {scheme!r} (http, https, s3)")
    fmt = detect_format(name, source.format)
    return parse_items(data, name=name, fmt=fmt, mapping=source.mapping, limit=source.limit)


def _read_path(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: dataset file not found") from None
    except IsADirectoryError:
        raise DatasetError(f"{path}: is a directory, expected a dataset file") from None


def _read_http(url: str, headers: dict[str, str], timeout_s: float) -> bytes:
    import httpx

    try:
        # No redirects: the operator allowed this URL (MODELEVAL_ALLOWED_DATASET_URLS), not
        # wherever it points to (a metadata endpoint, an in-cluster service).
        response = httpx.get(url, headers=headers, timeout=timeout_s, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise DatasetError(f"{url}: download failed: {exc}") from None
    if response.is_redirect:
        where = response.headers.get("location", "?")
        raise DatasetError(
            f"{url}: download failed: HTTP {response.status_code} redirects to {where!r}; "
            "give the final URL (redirects are not followed)"
        )
    if response.status_code != 200:
        raise DatasetError(f"{url}: download failed: HTTP {response.status_code}")
    return response.content


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


def _read_s3(url: str, settings: S3Settings) -> bytes:
    from botocore.exceptions import BotoCoreError, ClientError

    parsed = urlparse(url)
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    if not bucket or not key:
        raise DatasetError(f"{url}: expected s3://bucket/key")
    client = s3_client(settings)
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        return bytes(body.read())
    except (BotoCoreError, ClientError) as exc:
        raise DatasetError(f"{url}: download failed: {exc}") from None
