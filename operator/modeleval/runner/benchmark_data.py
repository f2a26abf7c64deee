"""A benchmark task's items: its files from the Hub, a mirror folder or a bucket -> ``Item``s.

The Hub is read through its HTTP API (``GET {endpoint}/api/datasets/{repo}/tree/{revision}/
{folder}`` lists a folder, ``GET {endpoint}/datasets/{repo}/resolve/{revision}/{path}`` fetches
a file), so a Hub mirror with the same API (hf-mirror.com, an internal proxy) works too. A
mirror folder or bucket prefix holds ``<owner>/<name>/<path in the repository>`` (what
``modeleval benchmarks mirror`` writes). Files are parquet, read with
``modeleval.benchmarks.parquet`` (no pyarrow, no ``datasets``). Subsets are fetched in parallel
from the Hub or a bucket.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote, urlparse

from modeleval.benchmarks import DataError, DirectoryStore, FileStore, RunSpec, load_requests
from modeleval.benchmarks import resolve as resolve_benchmark
from modeleval.runner.config import BenchmarkRun, BenchmarkSource
from modeleval.runner.datasets import Item

HUB_RETRIES = 4
"""Attempts per Hub request on 429 / 5xx / connection errors (backoff 1, 2, 4 s)."""
READ_THREADS = 8


class HubStore:
    """One dataset repository on the Hub (or a Hub mirror), read over HTTPS."""

    def __init__(
        self,
        repo: str,
        revision: str,
        *,
        endpoint: str = "https://huggingface.co",
        token: str | None = None,
        client: Any = None,
        timeout_s: float = 60.0,
    ) -> None:
        import httpx

        self.repo = repo
        self.revision = quote(revision, safe="")
        self.endpoint = endpoint.rstrip("/")
        self.where = f"{self.endpoint}/datasets/{repo}@{revision}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = client or httpx.Client(
            headers=headers, timeout=timeout_s, follow_redirects=True
        )

    def _get(self, url: str) -> Any:
        import httpx

        for attempt in range(HUB_RETRIES):
            try:
                response = self._client.get(url)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    return response
                if response.status_code == 404:
                    return None
                error = f"HTTP {response.status_code}"
                if response.status_code not in (408, 429) and response.status_code < 500:
                    break
            if attempt + 1 < HUB_RETRIES:
                time.sleep(2.0**attempt)
        raise DataError(f"{url}: {error}")

    def list(self, directory: str) -> list[str]:
        url: str | None = (
            f"{self.endpoint}/api/datasets/{self.repo}/tree/{self.revision}/{quote(directory)}"
        )
        paths: list[str] = []
        while url:
            response = self._get(url)
            if response is None:
                return []
            entries = response.json()
            if not isinstance(entries, list):
                raise DataError(f"{url}: expected a list of files")
            paths += [e["path"] for e in entries if isinstance(e, dict) and e.get("type") == "file"]
            url = response.links.get("next", {}).get("url")
        return paths

    def read(self, path: str) -> bytes:
        url = f"{self.endpoint}/datasets/{self.repo}/resolve/{self.revision}/{quote(path)}"
        response = self._get(url)
        if response is None:
            raise DataError(f"{url}: not found")
        return bytes(response.content)

    def close(self) -> None:
        self._client.close()


class S3Store:
    """A mirror in a bucket: ``s3://bucket/prefix/<owner>/<name>/<path>``."""

    def __init__(self, url: str, repo: str, client: Any) -> None:
        parsed = urlparse(url)
        self.bucket = parsed.netloc
        prefix = parsed.path.strip("/")
        self.base = f"{prefix}/{repo}" if prefix else repo
        self.where = f"s3://{self.bucket}/{self.base}"
        self._client = client

    def list(self, directory: str) -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        prefix = f"{self.base}/{directory}/" if directory else f"{self.base}/"
        paths: list[str] = []
        token: str | None = None
        try:
            while True:
                extra = {"ContinuationToken": token} if token else {}
                page = self._client.list_objects_v2(
                    Bucket=self.bucket, Prefix=prefix, Delimiter="/", **extra
                )
                paths += [o["Key"][len(self.base) + 1 :] for o in page.get("Contents", [])]
                token = page.get("NextContinuationToken")
                if not token:
                    return paths
        except (BotoCoreError, ClientError) as exc:
            raise DataError(f"s3://{self.bucket}/{prefix}: {exc}") from None

    def read(self, path: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self._client.get_object(Bucket=self.bucket, Key=f"{self.base}/{path}")["Body"]
            return bytes(body.read())
        except (BotoCoreError, ClientError) as exc:
            raise DataError(f"s3://{self.bucket}/{self.base}/{path}: {exc}") from None


def open_store(source: BenchmarkSource, repo: str, revision: str) -> FileStore:
    """The store of one repository, as the task's source says."""
    if source.kind == "dir":
        return DirectoryStore(source.path or ".", repo)
    if source.kind == "s3":
        from modeleval.runner.sources import s3_client

        return S3Store(source.path or "", repo, s3_client(source.s3))
    return HubStore(
        source.repo or repo,
        source.revision or revision,
        endpoint=source.endpoint,
        token=source.token,
    )


def run_spec(run: BenchmarkRun) -> RunSpec:
    """The catalogue's view of the task; ``DataError`` names a bad subset or shot count."""
    try:
        return resolve_benchmark(
            run.name,
            mode=run.mode,
            subsets=run.subsets,
            shots=run.few_shot,
            limit=run.limit,
            system=run.system,
        )
    except ValueError as exc:
        raise DataError(str(exc)) from None


def load_benchmark_items(run: BenchmarkRun) -> list[Item]:
    """Every item of the run, subset by subset, with its prepared request (blocking)."""
    spec = run_spec(run)
    data = spec.benchmark.data
    store = open_store(run.source, data.repo, data.revision)
    try:
        if run.source.kind == "dir":  # local files: threads would only add their start-up
            requests = load_requests(spec, store)
        else:  # network round trips overlap
            with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
                requests = load_requests(spec, store, map_subsets=lambda f, n: list(pool.map(f, n)))
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()
    return [
        Item(id=r.id, input=r.question, target=r.target, fields={}, request=r) for r in requests
    ]
