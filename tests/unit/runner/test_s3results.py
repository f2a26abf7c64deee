"""Results in an S3-compatible bucket (moto server on loopback): upload, resume, scoring."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from modeleval.api import SecretKeySelector, secret_env_name
from modeleval.api.datasets import ResultsStorage, S3Source, StorageType
from modeleval.runner.phases import EXIT_OK, EXIT_STOPPED, PhaseError, run_phase
from modeleval.runner.s3results import (
    S3Results,
    S3ResultsError,
    download_prefix,
    synced_results,
    upload_dir,
)
from modeleval.scoring.phase import main as score_main
from modeleval.testing.mockserver import MockModelServer

from .helpers import RecordingSink

moto_server = pytest.importorskip("moto.server")

KEY_REF = SecretKeySelector(name="s3-creds", key="id")
SECRET_REF = SecretKeySelector(name="s3-creds", key="secret")
PREFIX = "runs/t1"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class Bucket:
    client: Any
    bucket: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@pytest.fixture
def s3(endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Bucket:
    """A fresh bucket and a client for it (``s3.bucket``); the runner's credential env vars
    are set."""
    import boto3

    monkeypatch.setenv(secret_env_name(KEY_REF), "testing")
    monkeypatch.setenv(secret_env_name(SECRET_REF), "testing")
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MODELEVAL_TERMINATION_LOG", str(tmp_path / "termination-log"))
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket = Bucket(client, f"results-{uuid.uuid4().hex[:8]}")
    client.create_bucket(Bucket=bucket.bucket)
    return bucket


def storage(endpoint: str, bucket: str) -> ResultsStorage:
    source = S3Source(
        url=f"s3://{bucket}/{PREFIX}",
        endpoint=endpoint,
        access_key_id=KEY_REF,
        secret_access_key=SECRET_REF,
    )
    return ResultsStorage(type=StorageType.S3, s3=source)


def write_task(path: Path, endpoint: str, bucket: str, spec: dict[str, Any]) -> Path:
    results = storage(endpoint, bucket).model_dump(by_alias=True, exclude_none=True, mode="json")
    task = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": "t1", "namespace": "ns"},
        "spec": {**spec, "results": results},
    }
    path.write_text(json.dumps(task))
    return path


def object_text(s3: Bucket, relative: str) -> str:
    body = s3.get_object(Bucket=s3.bucket, Key=f"{PREFIX}/{relative}")["Body"]
    return str(body.read().decode())


def jsonl_ids(text: str) -> list[str]:
    return [json.loads(line)["id"] for line in text.splitlines() if line.strip()]


async def test_infer_uploads_and_a_second_pod_resumes_from_the_bucket(
    s3: Bucket, endpoint: str, tmp_path: Path
) -> None:
    items = [{"id": f"q{i}", "input": f"question {i}", "target": "x"} for i in range(40)]
    server = await MockModelServer(latency_s=0.01).start()
    try:
        spec = {
            "models": [{"name": "m1", "endpoint": {"url": server.url, "model": "mock"}}],
            "dataset": {"inline": items},
            "inference": {"client": {"parallel": 2, "maxRetries": 0}},
        }
        task_file = write_task(tmp_path / "task.json", endpoint, s3.bucket, spec)
        stop = asyncio.Event()

        async def stop_midway() -> None:
            for _ in range(2000):  # at most ~10 s
                if len(server.stats().completed_by_item) >= 12:
                    break
                await asyncio.sleep(0.005)
            stop.set()

        watcher = asyncio.create_task(stop_midway())
        first = await run_phase("infer", str(task_file), str(tmp_path / "pod1"), lambda: stop)
        await watcher
        assert first == EXIT_STOPPED
        uploaded = jsonl_ids(object_text(s3, "predictions/m1.jsonl"))
        assert 12 <= len(uploaded) < 40
        assert sorted(uploaded) == sorted(server.stats().completed_by_item)

        sink = RecordingSink()
        second = await run_phase(
            "infer", str(task_file), str(tmp_path / "pod2"), asyncio.Event, sink=sink
        )
        assert second == EXIT_OK
    finally:
        await server.stop()
    counts = server.stats().completed_by_item
    assert sorted(counts) == sorted(i["id"] for i in items)
    assert set(counts.values()) == {1}, "an item was sent twice"
    assert sorted(jsonl_ids(object_text(s3, "predictions/m1.jsonl"))) == sorted(counts)
    located = [p["inferenceResults"] for p in sink.patches if "inferenceResults" in p]
    assert located[-1][0]["location"] == f"s3://{s3.bucket}/{PREFIX}/predictions/m1.jsonl"


def test_score_phase_reads_predictions_from_the_bucket_and_uploads_the_report(
    s3: Bucket, endpoint: str, tmp_path: Path
) -> None:
    rows = [
        {"id": "1", "input": "q1", "target": "Paris", "output": "Paris"},
        {"id": "2", "input": "q2", "target": "Rome", "output": "Madrid"},
    ]
    body = "".join(json.dumps(r) + "\n" for r in rows)
    s3.put_object(Bucket=s3.bucket, Key=f"{PREFIX}/predictions/m1.jsonl", Body=body.encode())
    spec = {"models": [{"name": "m1", "endpoint": {"url": "http://127.0.0.1:9/v1"}}]}
    task_file = write_task(tmp_path / "task.json", endpoint, s3.bucket, spec)
    local = tmp_path / "score-pod"

    assert score_main(str(task_file), str(local)) == 0

    summary = json.loads(object_text(s3, "summary.json"))
    assert summary == json.loads((local / "summary.json").read_text())
    assert [json.loads(x)["id"] for x in object_text(s3, "scores.jsonl").splitlines()] == [
        "1",
        "2",
    ]
    assert "<html" in object_text(s3, "report.html").lower()
    head = s3.head_object(Bucket=s3.bucket, Key=f"{PREFIX}/report.html")
    assert head["ContentType"] == "text/html"


def test_periodic_upload_sends_complete_lines_while_the_phase_runs(
    s3: Bucket, endpoint: str, tmp_path: Path
) -> None:
    remote = S3Results.from_storage(storage(endpoint, s3.bucket))
    predictions = tmp_path / "predictions" / "m1.jsonl"

    async def phase() -> None:
        async with synced_results(remote, tmp_path, interval_s=0.05):
            predictions.parent.mkdir()
            predictions.write_text('{"id": "a"}\n{"id": "b"}\n{"id": ')  # a line being written
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                listed = s3.list_objects_v2(Bucket=s3.bucket, Prefix=PREFIX).get("Contents", [])
                if listed:
                    break
                await asyncio.sleep(0.02)
            assert jsonl_ids(object_text(s3, "predictions/m1.jsonl")) == ["a", "b"]
            with predictions.open("a") as fh:
                fh.write('"c"}\n')

    asyncio.run(phase())
    assert jsonl_ids(object_text(s3, "predictions/m1.jsonl")) == ["a", "b", "c"]


def test_download_and_upload_functions_copy_the_prefix(
    s3: Bucket, endpoint: str, tmp_path: Path
) -> None:
    results = storage(endpoint, s3.bucket)
    source = tmp_path / "a"
    (source / "predictions").mkdir(parents=True)
    (source / "predictions" / "m1.jsonl").write_text('{"id": "1"}\n')
    (source / "summary.json").write_text("{}")
    assert upload_dir(results, source) == ["predictions/m1.jsonl", "summary.json"]
    s3.put_object(Bucket=s3.bucket, Key=f"{PREFIX}/../escape.txt", Body=b"no")

    fresh = tmp_path / "b"
    assert sorted(download_prefix(results, fresh)) == ["predictions/m1.jsonl", "summary.json"]
    assert (fresh / "predictions" / "m1.jsonl").read_text() == '{"id": "1"}\n'
    assert not (tmp_path / "escape.txt").exists()
    assert download_prefix(ResultsStorage(type=StorageType.PVC), tmp_path / "c") == []
    assert not (tmp_path / "c").exists()


def test_wrong_credentials_and_missing_secrets_name_the_bucket(
    s3: Bucket, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = storage(endpoint, s3.bucket)
    monkeypatch.setenv(secret_env_name(KEY_REF), "AKIAWRONGKEY")
    previous = httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"0").json()
    try:
        with pytest.raises(S3ResultsError) as caught:
            download_prefix(results, tmp_path / "pod")
        (tmp_path / "x.json").write_text("{}")
        with pytest.raises(S3ResultsError, match=rf"s3://{s3.bucket}/{PREFIX}/x\.json: upload"):
            upload_dir(results, tmp_path)
    finally:
        restore = str(previous["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]).encode()
        httpx.post(f"{endpoint}/moto-api/reset-auth", content=restore)
    message = str(caught.value)
    assert message.startswith(f"s3://{s3.bucket}/{PREFIX}/: cannot list results: ")
    assert "InvalidAccessKeyId" in message
    assert "AKIAWRONGKEY" not in message

    monkeypatch.delenv(secret_env_name(SECRET_REF))
    task_file = write_task(tmp_path / "task.json", endpoint, s3.bucket, {"models": []})
    with pytest.raises(S3ResultsError, match=r"secret s3-creds/secret not provided \(env "):
        S3Results.from_storage(results)
    spec = {"models": [{"name": "m1", "endpoint": {"url": "http://127.0.0.1:9/v1"}}]}
    write_task(task_file, endpoint, s3.bucket, {**spec, "dataset": {"inline": [{"input": "q"}]}})
    with pytest.raises(PhaseError, match=rf"s3://{s3.bucket}/{PREFIX}: secret s3-creds/secret"):
        asyncio.run(run_phase("infer", str(task_file), str(tmp_path / "r"), asyncio.Event))
