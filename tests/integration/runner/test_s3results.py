"""Results in an S3-compatible bucket (moto server on loopback): upload, resume, scoring."""

from __future__ import annotations

import asyncio
import json
import logging
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
    PeriodicUpload,
    ResultsSync,
    S3Results,
    S3ResultsError,
    download_prefix,
    synced_results,
    upload_dir,
)
from modeleval.runner.score import main as score_main
from modeleval_testkit.mockserver import MockModelServer
from tests.support.runner import RecordingSink

moto_server = pytest.importorskip("moto.server")

KEY_REF = SecretKeySelector(name="s3-creds", key="id")
SECRET_REF = SecretKeySelector(name="s3-creds", key="secret")
PREFIX = "runs/t1"
ROWS = [
    {"id": "1", "input": "q1", "target": "Paris", "output": "Paris"},
    {"id": "2", "input": "q2", "target": "Rome", "output": "Madrid"},
]
"""Predictions the score-phase tests put in the bucket."""


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
    body = "".join(json.dumps(r) + "\n" for r in ROWS)
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
    assert keys_under(s3) == ["predictions/m1.jsonl"]  # the exit upload is whole, no parts


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


# -- append-only .jsonl files: part objects ------------------------------------------------

PREDICTIONS = "predictions/m1.jsonl"


def line(i: int) -> str:
    return json.dumps({"id": f"q{i}", "output": f"answer é {i}"}, ensure_ascii=False) + "\n"


def keys_under(s3: Bucket, relative: str = "") -> list[str]:
    listed = s3.list_objects_v2(Bucket=s3.bucket, Prefix=f"{PREFIX}/{relative}")
    return sorted(obj["Key"][len(PREFIX) + 1 :] for obj in listed.get("Contents", []))


def parts_of(s3: Bucket, relative: str = PREDICTIONS) -> dict[str, bytes]:
    return {
        key: s3.get_object(Bucket=s3.bucket, Key=f"{PREFIX}/{key}")["Body"].read()
        for key in keys_under(s3, f"{relative}.parts/")
    }


def part_name(offset: int, relative: str = PREDICTIONS) -> str:
    return f"{relative}.parts/{offset:015d}.jsonl"


def new_sync(endpoint: str, s3: Bucket, local: Path, **kwargs: Any) -> ResultsSync:
    remote = S3Results.from_storage(storage(endpoint, s3.bucket))
    assert remote is not None
    return ResultsSync(remote, local, **kwargs)


def append(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


def test_parts_carry_only_the_new_complete_lines(s3: Bucket, endpoint: str, tmp_path: Path) -> None:
    local = tmp_path / "pod"
    predictions = local / PREDICTIONS
    sync = new_sync(endpoint, s3, local)
    append(predictions, line(0) + line(1))
    assert sync.upload_parts() == [PREDICTIONS]  # a new file goes up whole
    first = len((line(0) + line(1)).encode())
    assert object_text(s3, PREDICTIONS) == line(0) + line(1)
    assert parts_of(s3) == {}

    assert sync.upload_parts() == []  # nothing new, nothing sent
    torn = line(3)
    append(predictions, line(2) + torn[:7])  # the last line is being written
    assert sync.upload_parts() == [PREDICTIONS]
    assert parts_of(s3) == {part_name(first): line(2).encode()}
    assert sync.upload_parts() == []  # the torn line waits for its end

    append(predictions, torn[7:] + line(4))
    assert sync.upload_parts() == [PREDICTIONS]
    second = first + len(line(2).encode())
    assert parts_of(s3) == {
        part_name(first): line(2).encode(),
        part_name(second): (torn + line(4)).encode(),
    }
    assert object_text(s3, PREDICTIONS) == line(0) + line(1)  # the base is not re-sent
    head = s3.head_object(Bucket=s3.bucket, Key=f"{PREFIX}/{part_name(first)}")
    assert head["ContentType"] == "application/x-ndjson"


def test_a_fresh_pod_downloads_base_and_parts_byte_for_byte(
    s3: Bucket, endpoint: str, tmp_path: Path
) -> None:
    pod1 = tmp_path / "pod1"
    sync = new_sync(endpoint, s3, pod1, whole_interval_s=0)
    (pod1 / "task.json").parent.mkdir(parents=True)
    (pod1 / "task.json").write_text("{}")
    for i in range(6):
        append(pod1 / PREDICTIONS, line(i))
        sync.upload_parts()
    assert len(parts_of(s3)) == 5
    expected = (pod1 / PREDICTIONS).read_bytes()

    pod2 = tmp_path / "pod2"
    resumed = new_sync(endpoint, s3, pod2)
    assert resumed.download() == [PREDICTIONS, "task.json"]
    assert (pod2 / PREDICTIONS).read_bytes() == expected
    assert not [p for p in pod2.rglob("*") if ".parts" in p.name or p.name.endswith(".download")]

    # the resumed pod goes on appending from where the bucket ends ...
    append(pod2 / PREDICTIONS, line(6))
    assert resumed.upload_parts() == [PREDICTIONS]
    assert parts_of(s3)[part_name(len(expected))] == line(6).encode()
    # ... and its final upload puts the whole file in the base and removes the parts
    assert resumed.upload() == [PREDICTIONS]
    assert object_text(s3, PREDICTIONS) == expected.decode() + line(6)
    assert parts_of(s3) == {}
    assert resumed.upload() == []


def test_a_killed_pod_loses_no_uploaded_line(s3: Bucket, endpoint: str, tmp_path: Path) -> None:
    pod1 = tmp_path / "pod1"
    uploader = PeriodicUpload(new_sync(endpoint, s3, pod1), 0.01).start()
    written = ""
    try:
        for i in range(30):
            append(pod1 / PREDICTIONS, line(i))
            written += line(i)
            time.sleep(0.005)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            parts = parts_of(s3)
            if any(body.endswith(line(29).encode()) for body in parts.values()):
                break
            time.sleep(0.01)
    finally:
        uploader.stop()  # SIGKILL: the uploads just stop, no final whole upload
    assert len(parts_of(s3)) > 1

    pod2 = tmp_path / "pod2"
    assert new_sync(endpoint, s3, pod2).download() == [PREDICTIONS]
    assert (pod2 / PREDICTIONS).read_text(encoding="utf-8") == written


def test_compaction_uploads_the_whole_file_and_removes_its_parts(
    s3: Bucket, endpoint: str, tmp_path: Path
) -> None:
    local = tmp_path / "pod"
    sync = new_sync(endpoint, s3, local, max_parts=3)
    append(local / PREDICTIONS, line(0))
    sync.upload_parts()
    for i in range(1, 4):
        append(local / PREDICTIONS, line(i))
        sync.upload_parts()
    assert len(parts_of(s3)) == 3
    assert object_text(s3, PREDICTIONS) == line(0)

    append(local / PREDICTIONS, line(4))
    assert sync.upload_parts() == [PREDICTIONS]  # three parts: the next tick compacts
    assert object_text(s3, PREDICTIONS) == "".join(line(i) for i in range(5))
    assert parts_of(s3) == {}

    timed = new_sync(endpoint, s3, tmp_path / "timed", compact_interval_s=0.05)
    assert timed.download() == [PREDICTIONS]
    append(tmp_path / "timed" / PREDICTIONS, line(5))
    timed.upload_parts()
    assert list(parts_of(s3)) == [part_name(len(object_text(s3, PREDICTIONS).encode()))]
    time.sleep(0.06)
    assert timed.upload_parts() == [PREDICTIONS]  # nothing new, but the compaction is due
    assert object_text(s3, PREDICTIONS) == "".join(line(i) for i in range(6))
    assert parts_of(s3) == {}


def test_parts_that_cannot_be_deleted_are_skipped_by_readers(
    s3: Bucket,
    endpoint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from botocore.exceptions import ClientError

    local = tmp_path / "pod"
    sync = new_sync(endpoint, s3, local)
    for i in range(3):
        append(local / PREDICTIONS, line(i))
        sync.upload_parts()

    def denied(**_: Any) -> None:
        error = {"Error": {"Code": "AccessDenied", "Message": "no s3:DeleteObject"}}
        raise ClientError(error, "DeleteObjects")

    monkeypatch.setattr(sync._client, "delete_objects", denied)
    with caplog.at_level(logging.WARNING, logger="modeleval.runner"):
        assert sync.upload() == [PREDICTIONS]
    assert f"s3://{s3.bucket}/{PREFIX}/{PREDICTIONS}: could not delete" in caplog.text
    assert "AccessDenied" in caplog.text
    assert len(parts_of(s3)) == 2  # left behind, covered by the base

    fresh = tmp_path / "fresh"
    assert new_sync(endpoint, s3, fresh).download() == [PREDICTIONS]
    assert (fresh / PREDICTIONS).read_bytes() == (local / PREDICTIONS).read_bytes()


def test_a_gap_in_the_parts_stops_the_reassembly_with_a_warning(
    s3: Bucket, endpoint: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = (line(0) + line(1)).encode()
    overlapping = (line(1) + line(2)).encode()  # starts inside the base: only line 2 is new
    after = len(base) + len(line(2).encode())
    objects = {
        PREDICTIONS: base,
        part_name(len(line(0).encode())): overlapping,
        part_name(after + 10): line(9).encode(),  # bytes [after, after + 10) are missing
        part_name(after + 10 + len(line(9).encode())): line(10).encode(),
    }
    for relative, body in objects.items():
        s3.put_object(Bucket=s3.bucket, Key=f"{PREFIX}/{relative}", Body=body)
    s3.put_object(Bucket=s3.bucket, Key=f"{PREFIX}/{PREDICTIONS}.parts/notes.txt", Body=b"x")

    local = tmp_path / "pod"
    with caplog.at_level(logging.WARNING, logger="modeleval.runner"):
        assert new_sync(endpoint, s3, local).download() == [PREDICTIONS]
    assert (local / PREDICTIONS).read_text(encoding="utf-8") == line(0) + line(1) + line(2)
    assert f"no part holds bytes {after} to {after + 10}" in caplog.text
    assert f"s3://{s3.bucket}/{PREFIX}/{part_name(after + 10)}" in caplog.text
    assert sorted(p.relative_to(local).as_posix() for p in local.rglob("*")) == [
        "predictions",
        PREDICTIONS,
    ]


def test_parts_without_a_base_and_readers_of_results(
    s3: Bucket, endpoint: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=s3.bucket, Key=f"{PREFIX}/{part_name(0)}", Body=line(0).encode())
    second = part_name(len(line(0).encode()))
    s3.put_object(Bucket=s3.bucket, Key=f"{PREFIX}/{second}", Body=line(1).encode())
    orphan = part_name(10**14, "predictions/m2.jsonl")  # a gap from byte 0: no file
    s3.put_object(Bucket=s3.bucket, Key=f"{PREFIX}/{orphan}", Body=line(5).encode())
    local = tmp_path / "reader"
    assert download_prefix(storage(endpoint, s3.bucket), local) == [PREDICTIONS]
    assert (local / PREDICTIONS).read_text(encoding="utf-8") == line(0) + line(1)
    assert not (local / "predictions" / "m2.jsonl").exists()


def test_a_rewritten_file_is_uploaded_whole(s3: Bucket, endpoint: str, tmp_path: Path) -> None:
    local = tmp_path / "pod"
    predictions = local / PREDICTIONS
    sync = new_sync(endpoint, s3, local)
    for i in range(3):
        append(predictions, line(i))
        sync.upload_parts()
    assert len(parts_of(s3)) == 2

    predictions.write_text(line(7), encoding="utf-8")  # shorter, same inode
    assert sync.upload_parts() == [PREDICTIONS]
    assert object_text(s3, PREDICTIONS) == line(7)
    assert parts_of(s3) == {}  # stale parts go too

    append(predictions, line(8))
    sync.upload_parts()
    assert list(parts_of(s3)) == [part_name(len(line(7).encode()))]
    # same length and more, but the sent prefix changed: whole again
    with predictions.open("r+b") as fh:
        fh.write(b'{"id": "zz"')
    append(predictions, line(9))
    assert sync.upload_parts() == [PREDICTIONS]
    assert object_text(s3, PREDICTIONS) == predictions.read_text(encoding="utf-8")
    assert parts_of(s3) == {}

    replaced = local / "new.jsonl"
    replaced.write_text(line(1) + line(2) + line(3), encoding="utf-8")
    replaced.replace(predictions)  # a new file under the old name (larger, new inode)
    assert sync.upload_parts() == [PREDICTIONS]
    assert object_text(s3, PREDICTIONS) == line(1) + line(2) + line(3)
    assert parts_of(s3) == {}


def test_other_files_keep_their_slower_whole_upload(
    s3: Bucket, endpoint: str, tmp_path: Path
) -> None:
    local = tmp_path / "pod"
    sync = new_sync(endpoint, s3, local, whole_interval_s=3600)
    (local / "predictions").mkdir(parents=True)
    (local / "summary.json").write_text("{}")
    append(local / PREDICTIONS, line(0))
    assert sync.upload_parts() == [PREDICTIONS]
    assert keys_under(s3) == [PREDICTIONS]
    assert sync.upload() == ["summary.json"]
    assert keys_under(s3) == [PREDICTIONS, "summary.json"]


def test_the_score_phase_scores_the_lines_held_in_parts(
    s3: Bucket, endpoint: str, tmp_path: Path
) -> None:
    first, second = (json.dumps(r) + "\n" for r in ROWS)
    s3.put_object(Bucket=s3.bucket, Key=f"{PREFIX}/{PREDICTIONS}", Body=first.encode())
    key = f"{PREFIX}/{part_name(len(first.encode()))}"
    s3.put_object(Bucket=s3.bucket, Key=key, Body=second.encode())
    spec = {"models": [{"name": "m1", "endpoint": {"url": "http://127.0.0.1:9/v1"}}]}
    task_file = write_task(tmp_path / "task.json", endpoint, s3.bucket, spec)

    assert score_main(str(task_file), str(tmp_path / "score-pod")) == 0

    assert jsonl_ids(object_text(s3, "scores.jsonl")) == ["1", "2"]
    assert object_text(s3, PREDICTIONS) == first + second  # compacted by the exit upload
    assert parts_of(s3) == {}
