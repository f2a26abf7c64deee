"""``modeleval benchmarks mirror|verify``: prepare and check an air-gapped benchmark mirror.

A mirror is a folder holding the benchmarks' Hub files under ``<owner>/<name>/<path in the
repository>`` (exactly the paths the runner lists and reads), plus
``<owner>/<name>/.modeleval-mirror.json`` recording the source, revision, date and each file's
size and SHA-256. Copy the folder to a PVC (``spec.benchmark.source.pvc``) or sync it to a
bucket prefix (``source.s3``); ``verify`` reads every file back with the runner's own reader.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from modeleval.benchmarks import BENCHMARKS, Benchmark, DataError, DirectoryStore, get_benchmark
from modeleval.benchmarks.data import MANIFEST, FileStore, read_split, split_files
from modeleval.runner.benchmark_data import HubStore

Say = Callable[[str], None]


def splits_of(benchmark: Benchmark) -> list[str]:
    data = benchmark.data
    return [data.eval_split] + ([data.fewshot_split] if data.fewshot_split else [])


def subset_names(benchmark: Benchmark, subsets: Sequence[str] | None) -> list[str]:
    return (
        [benchmark.subset(s).name for s in subsets]
        if subsets
        else [s.name for s in benchmark.subsets]
    )


@dataclass(frozen=True, slots=True)
class Mirrored:
    benchmark: str
    files: int
    bytes: int


def mirror(
    names: Iterable[str],
    out: Path,
    *,
    endpoint: str = "https://huggingface.co",
    token: str | None = None,
    subsets: Sequence[str] | None = None,
    revision: str | None = None,
    store_factory: Callable[[str, str], FileStore] | None = None,
    say: Say = print,
) -> list[Mirrored]:
    """Download the named benchmarks' files into ``out`` (again when already there)."""
    done = []
    for name in names:
        benchmark = get_benchmark(name)
        repo = benchmark.data.repo
        rev = revision or benchmark.data.revision
        store = (
            store_factory(repo, rev)
            if store_factory
            else HubStore(repo, rev, endpoint=endpoint, token=token)
        )
        base = out / repo
        manifest_path = base / MANIFEST
        manifest = _load(manifest_path)
        known = manifest.get("files")
        files: dict[str, object] = dict(known) if isinstance(known, dict) else {}
        total = count = 0
        for subset in subset_names(benchmark, subsets):
            for split in splits_of(benchmark):
                for path in split_files(benchmark, store, subset, split):
                    data = store.read(path)
                    target = base / path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    partial = target.with_name(target.name + ".partial")
                    partial.write_bytes(data)
                    partial.replace(target)
                    files[path] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                    total += len(data)
                    count += 1
            say(f"{benchmark.name}: {subset} ({count} files so far)")
        manifest_path.parent.mkdir(parents=True, exist_ok=True)
        manifest_path.write_text(
            json.dumps(
                {
                    "repo": repo,
                    "revision": rev,
                    "source": endpoint,
                    "mirroredAt": datetime.now(UTC).isoformat(timespec="seconds"),
                    "files": dict(sorted(files.items())),
                },
                indent=1,
            ),
            encoding="utf-8",
        )
        close = getattr(store, "close", None)
        if close is not None:
            close()
        done.append(Mirrored(benchmark.name, count, total))
    return done


def _load(path: Path) -> dict[str, object]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


@dataclass(frozen=True, slots=True)
class Checked:
    benchmark: str
    subset: str
    split: str
    rows: int | None
    error: str | None = None


def verify(
    root: Path, names: Iterable[str] | None = None, subsets: Sequence[str] | None = None
) -> list[Checked]:
    """Read every split of the named benchmarks (default: those present) from the mirror."""
    chosen = list(names or [b.name for b in BENCHMARKS.values() if (root / b.data.repo).is_dir()])
    checked = []
    for name in chosen:
        benchmark = get_benchmark(name)
        store = DirectoryStore(root, benchmark.data.repo)
        manifest = _load(root / benchmark.data.repo / MANIFEST)
        sums = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
        for subset in subset_names(benchmark, subsets):
            for split in splits_of(benchmark):
                try:
                    for path in split_files(benchmark, store, subset, split):
                        expected = sums.get(path) if isinstance(sums, dict) else None
                        if isinstance(expected, dict):
                            digest = hashlib.sha256(store.read(path)).hexdigest()
                            if digest != expected.get("sha256"):
                                raise DataError(f"{path}: checksum differs from the manifest")
                    rows = len(read_split(benchmark, store, subset, split))
                except DataError as exc:
                    checked.append(Checked(name, subset, split, None, str(exc)))
                else:
                    checked.append(Checked(name, subset, split, rows))
    return checked
