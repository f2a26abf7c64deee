"""Where the runner reads a task's data from: every field of a dataset, an existing result set
and the results bucket, through the operator's plan, to what the runner opens."""

from __future__ import annotations

from typing import Any

import pytest

from modeleval.api import EvalTask, SecretKeySelector, secret_env_name
from modeleval.builders.runplan import build_run_plan
from modeleval.runner.plan import config_from_plan, dataset_source
from modeleval.runner.s3bucket import S3Results
from modeleval.runner.sources import S3Settings, s3_client

ACCESS = SecretKeySelector(name="bucket-creds", key="id")
SECRET = SecretKeySelector(name="bucket-creds", key="secret")
ENV = {
    secret_env_name(ACCESS): "AKIA-test",
    secret_env_name(SECRET): "s3cr3t",
    "MODELEVAL_DATASET_DIR": "/mnt/cm",
    "MODELEVAL_DATASET_PVC_DIR": "/mnt/pvc",
}
S3 = {
    "url": "s3://evals/sets/qa.csv",
    "endpoint": "https://minio.example:9000",
    "region": "eu-central-1",
    "accessKeyId": {"name": "bucket-creds", "key": "id"},
    "secretAccessKey": {"name": "bucket-creds", "key": "secret"},
}
MODEL = {"name": "m", "endpoint": {"url": "http://h/v1"}}


def plan_of(spec: dict[str, Any]) -> dict[str, Any]:
    task = EvalTask.model_validate({"metadata": {"name": "t", "namespace": "ns"}, "spec": spec})
    return build_run_plan(task, None)


def bucket_settings(settings: S3Settings) -> tuple[object, ...]:
    """What the runner reaches a bucket with: endpoint, region and the credential env vars."""
    return (
        settings.endpoint_url,
        settings.region,
        settings.access_key_env,
        settings.secret_key_env,
    )


EXPECTED_BUCKET = (
    "https://minio.example:9000",
    "eu-central-1",
    secret_env_name(ACCESS),
    secret_env_name(SECRET),
)


@pytest.mark.parametrize(
    ("dataset", "path", "url"),
    [
        ({"configMap": {"name": "qa", "key": "qa.jsonl"}}, "/mnt/cm/qa.jsonl", None),
        ({"pvc": {"claimName": "data", "path": "/sets/qa.csv"}}, "/mnt/pvc/sets/qa.csv", None),
        ({"url": "https://data.example/qa.json"}, None, "https://data.example/qa.json"),
        ({"s3": S3}, None, "s3://evals/sets/qa.csv"),
    ],
)
def test_dataset_sources_reach_the_runner(
    dataset: dict[str, Any], path: str | None, url: str | None
) -> None:
    """spec.dataset: configMap.key, pvc.path, url, s3.url/endpoint/region/accessKeyId/
    secretAccessKey, and format."""
    spec = {"models": [MODEL], "dataset": {**dataset, "format": "csv"}}
    config = config_from_plan(plan_of(spec), results_dir=None, env=ENV)  # type: ignore[arg-type]
    source = config.dataset
    assert source is not None
    assert (source.path, source.url, source.format) == (path, url, "csv")
    if "s3" in dataset:
        assert bucket_settings(source.s3) == EXPECTED_BUCKET


def test_dataset_columns_reach_the_runner() -> None:
    """spec.dataset.fields: input, target, id, system name the columns the runner reads."""
    fields = {"input": "question", "target": "gold", "id": "key", "system": "persona"}
    spec = {"models": [MODEL], "dataset": {"url": "https://d/x.jsonl", "fields": fields}}
    config = config_from_plan(plan_of(spec), results_dir=None, env={})  # type: ignore[arg-type]
    assert config.dataset is not None
    mapping = config.dataset.mapping
    assert (mapping.input, mapping.target, mapping.id, mapping.system) == (
        "question",
        "gold",
        "key",
        "persona",
    )


def result_set(source: dict[str, Any]) -> dict[str, Any]:
    spec = {"existingResults": [{"name": "run", "source": source}], "scoring": {"modes": ["rule"]}}
    (entry,) = plan_of(spec)["existingResults"]
    return dict(entry)


def test_existing_result_sets_from_urls_and_buckets() -> None:
    """spec.existingResults[].source: url, s3.url/endpoint/region/accessKeyId/secretAccessKey
    and format reach the score phase's reader."""
    from_url = result_set({"url": "https://archive.example/run.jsonl", "format": "json"})
    source = dataset_source(from_url["dataset"], ENV)
    assert (source.url, source.format) == ("https://archive.example/run.jsonl", "json")
    from_bucket = result_set({"s3": S3})
    source = dataset_source(from_bucket["dataset"], ENV)
    assert source.url == "s3://evals/sets/qa.csv"
    assert bucket_settings(source.s3) == EXPECTED_BUCKET
    with pytest.raises(ValueError, match="secret bucket-creds/id not provided"):
        dataset_source(from_bucket["dataset"], {})


def test_existing_result_set_columns() -> None:
    """spec.existingResults[].source.fields: input, target, id and output name the columns."""
    fields = {"input": "q", "target": "ref", "id": "n", "output": "answer"}
    entry = result_set({"url": "https://a/r.jsonl", "fields": fields})
    mapping = dataset_source(entry["dataset"], {}).mapping
    assert (mapping.input, mapping.target, mapping.id) == ("q", "ref", "n")
    assert entry["output"] == "answer"


def test_the_results_bucket_reaches_the_runner() -> None:
    """spec.results.s3: url (bucket and prefix), endpoint, region, accessKeyId and
    secretAccessKey reach every phase's upload and download."""
    results = {"type": "S3", "s3": {**S3, "url": "s3://evals/runs/march"}}
    plan = plan_of({"models": [MODEL], "dataset": {"url": "https://d/x.jsonl"}, "results": results})
    remote = S3Results.from_plan(plan["results"], ENV)
    assert remote is not None
    assert (remote.bucket, remote.prefix) == ("evals", "runs/march")
    assert bucket_settings(remote.settings) == EXPECTED_BUCKET
    assert remote.url("predictions/m.jsonl") == "s3://evals/runs/march/predictions/m.jsonl"


def test_the_bucket_client_uses_the_endpoint_and_region(monkeypatch: pytest.MonkeyPatch) -> None:
    """The boto3 client the runner makes: the endpoint (path-style), the region requests are
    signed for, and the credentials from the env vars the Job fills from the Secrets."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    client = s3_client(S3Settings(*EXPECTED_BUCKET))  # type: ignore[arg-type]
    assert client.meta.endpoint_url == "https://minio.example:9000"
    assert client.meta.region_name == "eu-central-1"
    assert client.meta.config.s3 == {"addressing_style": "path"}
    credentials = client._request_signer._credentials
    assert (credentials.access_key, credentials.secret_key) == ("AKIA-test", "s3cr3t")
    elsewhere = s3_client(S3Settings(None, "ap-southeast-1", *EXPECTED_BUCKET[2:]))  # type: ignore[arg-type]
    assert elsewhere.meta.region_name == "ap-southeast-1"
    assert elsewhere.meta.endpoint_url == "https://s3.ap-southeast-1.amazonaws.com"


def test_the_dataset_file_variable_overrides_the_source() -> None:
    """MODELEVAL_DATASET_FILE: the runner reads this file whatever the dataset's source (not
    for existing result sets, which have their own mounts)."""
    spec = {"models": [MODEL], "dataset": {"configMap": {"name": "qa", "key": "qa.jsonl"}}}
    env = {**ENV, "MODELEVAL_DATASET_FILE": "/tmp/override.jsonl"}
    config = config_from_plan(plan_of(spec), results_dir=None, env=env)  # type: ignore[arg-type]
    assert config.dataset is not None and config.dataset.path == "/tmp/override.jsonl"
    entry = result_set({"configMap": {"name": "runs", "key": "a.jsonl"}})
    assert dataset_source(entry["dataset"], env).path == "/mnt/existing/0/a.jsonl"
