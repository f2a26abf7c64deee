"""S3-compatible dataset source against a local moto server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modeleval.runner.datasets import DatasetError
from modeleval.runner.sources import DatasetSource, S3Settings, load_dataset

moto_server = pytest.importorskip("moto.server")


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    monkeypatch.setenv("TEST_S3_KEY", "testing")
    monkeypatch.setenv("TEST_S3_SECRET", "testing")
    yield f"http://{host}:{port}"
    server.stop()


def test_s3_source_reads_the_object(s3_endpoint: str) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket="evals")
    client.put_object(Bucket="evals", Key="sets/d.csv", Body=b"input,target\nq,a\n")
    settings = S3Settings(
        endpoint_url=s3_endpoint, access_key_env="TEST_S3_KEY", secret_key_env="TEST_S3_SECRET"
    )
    (item,) = load_dataset(DatasetSource(url="s3://evals/sets/d.csv", s3=settings))
    assert (item.input, item.target) == ("q", "a")
    with pytest.raises(DatasetError, match=r"s3://evals/nope\.jsonl: download failed"):
        load_dataset(DatasetSource(url="s3://evals/nope.jsonl", s3=settings))
