"""A benchmark's files -> rows -> requests, from any store of the repository's files.

A store answers two questions about one dataset repository: which files are in a folder, and
what a file holds. The Hub (online), a directory (a PVC mirror) and an S3 prefix are stores;
the runner has the network ones, :class:`DirectoryStore` is here. Mirror layout (what
``modeleval benchmarks mirror`` writes): ``<root>/<owner>/<name>/<path in the repository>``,
e.g. ``<root>/cais/mmlu/abstract_algebra/test-00000-of-00001.parquet``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from modeleval.benchmarks.definitions import Benchmark
from modeleval.benchmarks.parquet import ParquetError, read_table
from modeleval.benchmarks.records import RecordError, to_docs
from modeleval.benchmarks.requests import Request, RunSpec, build_requests

MANIFEST = ".modeleval-mirror.json"
"""Written by the mirror command next to a repository's files: source, revision, checksums."""


class DataError(ValueError):
    """A benchmark's files are missing or unreadable; the message names the file."""


class FileStore(Protocol):
    """The files of one dataset repository (paths relative to its root, ``/``-separated)."""

    def list(self, directory: str) -> list[str]:
        """Paths of the files directly in ``directory`` (empty when it does not exist)."""
        ...

    def read(self, path: str) -> bytes: ...


class DirectoryStore:
    """A repository mirrored into ``<root>/<owner>/<name>/``."""

    def __init__(self, root: str | Path, repo: str) -> None:
        self.base = Path(root) / repo
        self.where = str(self.base)

    def list(self, directory: str) -> list[str]:
        folder = self.base / directory
        if not folder.is_dir():
            return []
        prefix = f"{directory}/" if directory else ""
        return sorted(prefix + p.name for p in folder.iterdir() if p.is_file())

    def read(self, path: str) -> bytes:
        try:
            return (self.base / path).read_bytes()
        except OSError as exc:
            raise DataError(f"{self.base / path}: {exc.strerror or exc}") from None


def split_files(benchmark: Benchmark, store: FileStore, subset: str, split: str) -> list[str]:
    """The files of one split, in name order; :class:`DataError` when there are none."""
    data = benchmark.data
    names = sorted(
        p for p in store.list(data.directory(subset, split)) if data.matches(p, subset, split)
    )
    if not names:
        where = getattr(store, "where", data.repo)
        raise DataError(
            f"{where}: no files for {benchmark.name} {subset}/{split} "
            f"(looked for {data.pattern.format(subset=subset, split=split)})"
        )
    return names


def read_split(
    benchmark: Benchmark, store: FileStore, subset: str, split: str
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in split_files(benchmark, store, subset, split):
        try:
            rows.extend(read_table(store.read(path)))
        except ParquetError as exc:
            raise DataError(f"{benchmark.data.repo}/{path}: {exc}") from None
    return rows


def subset_requests(spec: RunSpec, store: FileStore, subset_name: str) -> list[Request]:
    """The requests of one subset: its evaluated split, and shots from its few-shot split."""
    benchmark = spec.benchmark
    subset = benchmark.subset(subset_name)
    try:
        docs = to_docs(
            benchmark.record,
            subset.name,
            read_split(benchmark, store, subset.name, benchmark.data.eval_split),
        )
        pool = []
        if spec.needs_pool and benchmark.data.fewshot_split:
            split = benchmark.data.fewshot_split
            pool = to_docs(
                benchmark.record, subset.name, read_split(benchmark, store, subset.name, split)
            )
    except RecordError as exc:
        raise DataError(f"{benchmark.data.repo}: {exc}") from None
    return build_requests(spec, subset, docs, pool)


def load_requests(
    spec: RunSpec,
    store: FileStore,
    *,
    map_subsets: Callable[[Callable[[str], list[Request]], list[str]], list[list[Request]]]
    | None = None,
) -> list[Request]:
    """Every request of the run, subset by subset (``map_subsets`` may read them in parallel,
    e.g. ``ThreadPoolExecutor.map``; the order of the result is the subsets' order)."""
    names = [s.name for s in spec.subsets]

    def one(name: str) -> list[Request]:
        return subset_requests(spec, store, name)

    parts = map_subsets(one, names) if map_subsets else [one(n) for n in names]
    return [request for part in parts for request in part]
