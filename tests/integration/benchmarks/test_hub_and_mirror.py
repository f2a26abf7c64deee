"""Benchmark files online (the Hub's HTTP API) and air-gapped (a mirror folder or bucket).

A fake Hub serves the fixture mirror over HTTP; the runner's stores read it; ``modeleval
benchmarks mirror`` copies it into a folder that reads back the same items.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modeleval.benchmarks import DataError, DirectoryStore, load_requests, resolve
from modeleval.runner import benchmark_data
from modeleval.runner.benchmark_data import HubStore, S3Store, load_benchmark_items
from modeleval.runner.benchmark_mirror import mirror, verify
from modeleval.runner.config import BenchmarkRun, BenchmarkSource
from modeleval.runner.sources import S3Settings, s3_client
from tests.support.benchmarks import HUB
from tests.support.fake_hub import FakeHub

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub(HUB, page_size=2).running() as server:
        yield server


def ids_and_texts(items: list[object]) -> list[tuple[str, str]]:
    return [(i.id, i.request.text) for i in items]  # type: ignore[attr-defined]


def test_the_hub_store_lists_page_by_page_and_reads_files(hub: FakeHub) -> None:
    store = HubStore("cais/mmlu", "main", endpoint=hub.url)
    names = store.list("abstract_algebra")
    assert names == [
        "abstract_algebra/dev-00000-of-00001.parquet",
        "abstract_algebra/test-00000-of-00001.parquet",
        "abstract_algebra/validation-00000-of-00001.parquet",
    ]
    assert sum("cursor=" in r for r in hub.requests) == 1  # three entries, pages of two
    data = store.read("abstract_algebra/test-00000-of-00001.parquet")
    assert data == (HUB / "cais/mmlu/abstract_algebra/test-00000-of-00001.parquet").read_bytes()
    assert store.list("no_such_subject") == []
    store.close()


def test_hub_items_equal_the_mirror_items_and_the_revision_is_sent(hub: FakeHub) -> None:
    run = BenchmarkRun(
        name="cmmlu",
        mode="generate",
        source=BenchmarkSource(kind="hub", endpoint=hub.url),
        subsets=("agronomy", "anatomy"),
        few_shot=5,
    )
    online = load_benchmark_items(run)
    spec = resolve("cmmlu", mode="generate", subsets=["agronomy", "anatomy"], shots=5)
    offline = load_requests(spec, DirectoryStore(HUB, "haonan-li/cmmlu"))
    assert [(i.id, i.request.text) for i in online] == [(r.id, r.text) for r in offline]
    assert hub.revisions == {"refs/convert/parquet"}


def test_a_token_is_sent_and_a_busy_hub_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(benchmark_data.time, "sleep", lambda _: None)
    with FakeHub(HUB, token="hf_secret", fail_first=2).running() as hub:
        store = HubStore("openai/gsm8k", "main", endpoint=hub.url, token="hf_secret")
        assert store.list("main") == [
            "main/test-00000-of-00001.parquet",
            "main/train-00000-of-00001.parquet",
        ]
        wrong = HubStore("openai/gsm8k", "main", endpoint=hub.url, token="nope")
        with pytest.raises(DataError, match="HTTP 401"):
            wrong.list("main")


def test_a_missing_subset_fails_naming_the_files_looked_for(hub: FakeHub) -> None:
    run = BenchmarkRun(
        name="mmlu",
        mode="loglikelihood",
        source=BenchmarkSource(kind="hub", endpoint=hub.url),
        subsets=("anatomy",),
    )
    with pytest.raises(DataError, match=r"no files for mmlu anatomy/test \(looked for"):
        load_benchmark_items(run)


def test_mirror_copies_what_the_runner_reads_and_verify_reads_it_back(
    hub: FakeHub, tmp_path: Path
) -> None:
    done = mirror(["gsm8k", "hellaswag"], tmp_path, endpoint=hub.url, say=lambda _: None)
    assert [(m.benchmark, m.files) for m in done] == [("gsm8k", 2), ("hellaswag", 2)]
    manifest = json.loads((tmp_path / "openai/gsm8k/.modeleval-mirror.json").read_text())
    assert manifest["revision"] == "main" and manifest["source"] == hub.url
    assert set(manifest["files"]) == {
        "main/test-00000-of-00001.parquet",
        "main/train-00000-of-00001.parquet",
    }
    checked = verify(tmp_path, ["gsm8k", "hellaswag"])
    assert [(c.subset, c.split, c.rows, c.error) for c in checked] == [
        ("main", "test", 14, None),
        ("main", "train", 9, None),
        ("default", "validation", 9, None),
        ("default", "train", 7, None),
    ]
    run = BenchmarkRun(
        name="gsm8k", mode="generate", source=BenchmarkSource("dir", path=str(tmp_path))
    )
    hub_run = BenchmarkRun(
        name="gsm8k", mode="generate", source=BenchmarkSource("hub", endpoint=hub.url)
    )
    assert ids_and_texts(load_benchmark_items(run)) == ids_and_texts(load_benchmark_items(hub_run))
    (tmp_path / "openai/gsm8k/main/test-00000-of-00001.parquet").write_bytes(b"PAR1 broken")
    (bad,) = [c for c in verify(tmp_path, ["gsm8k"]) if c.error]
    assert "checksum differs" in str(bad.error)


def test_the_cli_mirrors_and_verifies(hub: FakeHub, tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "modeleval.cli", "benchmarks"]
    done = subprocess.run(
        [*cli, "mirror", "arc_challenge", "--dir", str(tmp_path), "--endpoint", hub.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "arc_challenge: 2 files" in done.stdout
    checked = subprocess.run(
        [*cli, "verify", "--dir", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout
    assert "arc_challenge ARC-Challenge/test: 9 rows" in checked.stdout


moto_server = pytest.importorskip("moto.server")


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Settings]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    monkeypatch.setenv("TEST_S3_KEY", "testing")
    monkeypatch.setenv("TEST_S3_SECRET", "testing")
    yield S3Settings(
        endpoint_url=f"http://{host}:{port}",
        access_key_env="TEST_S3_KEY",
        secret_key_env="TEST_S3_SECRET",
    )
    server.stop()


def test_a_mirror_in_a_bucket_reads_like_the_folder(bucket: S3Settings) -> None:
    client = s3_client(bucket)
    client.create_bucket(Bucket="evals")
    for path in (HUB / "allenai").rglob("*.parquet"):
        key = f"mirror/{path.relative_to(HUB).as_posix()}"
        client.put_object(Bucket="evals", Key=key, Body=path.read_bytes())
    store = S3Store("s3://evals/mirror", "allenai/ai2_arc", client)
    assert store.list("ARC-Challenge") == [
        "ARC-Challenge/test-00000-of-00001.parquet",
        "ARC-Challenge/train-00000-of-00001.parquet",
        "ARC-Challenge/validation-00000-of-00001.parquet",
    ]
    run = BenchmarkRun(
        name="arc_challenge",
        mode="loglikelihood",
        source=BenchmarkSource("s3", path="s3://evals/mirror", s3=bucket),
        few_shot=3,
    )
    folder = BenchmarkRun(
        name="arc_challenge",
        mode="loglikelihood",
        source=BenchmarkSource("dir", path=str(HUB)),
        few_shot=3,
    )
    assert ids_and_texts(load_benchmark_items(run)) == ids_and_texts(load_benchmark_items(folder))
