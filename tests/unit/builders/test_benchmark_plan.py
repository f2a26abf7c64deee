"""A benchmark task's run plan and Job: the catalogue's defaults, the source, the mirror PVC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modeleval.api import EvalTask, secret_env_name
from modeleval.api.common import SecretKeySelector
from modeleval.builders.jobs import build_job
from modeleval.builders.runplan import build_run_plan
from modeleval.runner.plan import config_from_plan
from modeleval.settings import OperatorSettings

SETTINGS = OperatorSettings(runner_image="registry.local/runner:1")
CHAT = {"name": "chat", "endpoint": {"url": "http://llm/v1", "model": "q"}}


def task(benchmark: dict[str, Any], **spec: Any) -> EvalTask:
    return EvalTask.model_validate(
        {
            "metadata": {"name": "b", "namespace": "ns"},
            "spec": {"models": [CHAT], "benchmark": benchmark, **spec},
        }
    )


def test_the_plan_fills_in_the_catalogue_defaults_and_the_hub() -> None:
    plan = build_run_plan(task({"name": "cmmlu"}, limits=20), None)
    assert plan["dataset"] is None
    assert plan["benchmark"] == {
        "name": "cmmlu",
        "mode": "loglikelihood",
        "subsets": None,
        "fewShot": None,
        "limit": 20,
        "system": None,
        "source": {
            "kind": "hub",
            "endpoint": "https://huggingface.co",
            "repo": "haonan-li/cmmlu",
            "revision": "refs/convert/parquet",
            "token": None,
        },
    }


def test_loglikelihood_mode_calls_the_completions_route_generation_keeps_the_api() -> None:
    ll = build_run_plan(task({"name": "mmlu"}), None)
    assert [m["api"] for m in ll["models"]] == ["completions"]
    gen = build_run_plan(task({"name": "mmlu", "mode": "generate"}), None)
    assert [m["api"] for m in gen["models"]] == ["chat"]


def test_the_system_prompt_is_the_benchmarks_system_instruction() -> None:
    plan = build_run_plan(task({"name": "gsm8k"}, inference={"systemPrompt": "Be terse."}), None)
    assert plan["benchmark"]["system"] == "Be terse."


def test_a_hub_token_and_bucket_credentials_travel_as_secret_references() -> None:
    token = {"name": "hf", "key": "token"}
    hub = task(
        {
            "name": "gsm8k",
            "source": {
                "hub": {
                    "endpoint": "https://hf-mirror.com",
                    "repo": "me/gsm8k",
                    "tokenSecretRef": token,
                }
            },
        }
    )
    source = build_run_plan(hub, None)["benchmark"]["source"]
    env_name = secret_env_name(SecretKeySelector(name="hf", key="token"))
    assert source["token"] == {"env": env_name, "secret": "hf/token"}
    assert (source["endpoint"], source["repo"], source["revision"]) == (
        "https://hf-mirror.com",
        "me/gsm8k",
        "main",
    )
    config = config_from_plan(
        build_run_plan(hub, None), results_dir=Path("/r"), env={env_name: "hf_abc"}
    )
    assert config.benchmark is not None and config.benchmark.source.token == "hf_abc"
    job = build_job(hub, "infer", SETTINGS)
    names = {e["name"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env_name in names


def test_a_mirror_on_a_pvc_is_mounted_and_read_under_the_dataset_dir() -> None:
    mirrored = task({"name": "mmlu", "source": {"pvc": {"claimName": "mirror", "path": "bench"}}})
    job = build_job(mirrored, "infer", SETTINGS)
    pod = job["spec"]["template"]["spec"]
    assert {
        "name": "dataset-pvc",
        "persistentVolumeClaim": {"claimName": "mirror", "readOnly": True},
    } in pod["volumes"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["MODELEVAL_DATASET_PVC_DIR"] == "/mnt/dataset"
    plan = build_run_plan(mirrored, None)
    config = config_from_plan(plan, results_dir=Path("/r"), env={"MODELEVAL_DATASET_PVC_DIR": "/d"})
    assert config.benchmark is not None
    assert (config.benchmark.source.kind, config.benchmark.source.path) == ("dir", "/d/bench")
    local = config_from_plan(plan, results_dir=Path("/r"), env={"MODELEVAL_BENCHMARK_DIR": "/m"})
    assert local.benchmark is not None and local.benchmark.source.path == "/m"


def test_a_mirror_in_a_bucket() -> None:
    """url, endpoint and region reach the runner; the keys travel as secretKeyRef env vars of
    the Job, named in the plan."""
    s3 = {
        "url": "s3://evals/mirror",
        "endpoint": "http://minio:9000",
        "region": "eu-west-1",
        "accessKeyId": {"name": "s3", "key": "id"},
        "secretAccessKey": {"name": "s3", "key": "k"},
    }
    mirrored = task({"name": "hellaswag", "source": {"s3": s3}})
    plan = build_run_plan(mirrored, None)
    assert plan["benchmark"]["source"]["kind"] == "s3"
    access, secret = (secret_env_name(SecretKeySelector(name="s3", key=k)) for k in ("id", "k"))
    config = config_from_plan(plan, results_dir=Path("/r"), env={access: "x", secret: "y"})
    assert config.benchmark is not None
    assert config.benchmark.source.path == "s3://evals/mirror"
    settings = config.benchmark.source.s3
    assert (settings.endpoint_url, settings.region) == ("http://minio:9000", "eu-west-1")
    assert (settings.access_key_env, settings.secret_key_env) == (access, secret)
    container = build_job(mirrored, "infer", SETTINGS)["spec"]["template"]["spec"]["containers"][0]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert refs[access] == {"name": "s3", "key": "id"}
    assert refs[secret] == {"name": "s3", "key": "k"}


def test_a_hub_repo_and_revision_are_the_ones_the_runner_reads() -> None:
    hub = {"repo": "me/mmlu-copy", "revision": "v1.1"}
    pinned = build_run_plan(task({"name": "mmlu", "source": {"hub": hub}}), None)
    source = pinned["benchmark"]["source"]
    assert (source["repo"], source["revision"]) == ("me/mmlu-copy", "v1.1")
    config = config_from_plan(pinned, results_dir=Path("/r"), env={})
    assert config.benchmark is not None
    assert (config.benchmark.source.repo, config.benchmark.source.revision) == (
        "me/mmlu-copy",
        "v1.1",
    )
    default = build_run_plan(task({"name": "mmlu"}), None)["benchmark"]["source"]
    assert (default["repo"], default["revision"]) == ("cais/mmlu", "main")
