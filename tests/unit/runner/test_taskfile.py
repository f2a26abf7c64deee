"""task.json (EvalTask + resolved targets + the operator's run plan) → RunConfig.

Every test runs twice: with the plan the operator writes (the runner starts without pydantic)
and without one (the runner plans from the spec itself); both must give the same RunConfig.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modeleval.api import EvalTask, SecretKeySelector, secret_env_name
from modeleval.builders.runplan import PLAN_VERSION, build_run_plan
from modeleval.runner import kubestatus
from modeleval.runner import plan as runner_plan
from modeleval.runner.payloads import ApiFlavour
from modeleval.runner.taskfile import TaskFileError, load_run_config, start_phase
from tests.support.tasks import task

Writer = Callable[[Path, dict[str, Any]], Path]


@pytest.fixture(params=["operator-plan", "no-plan"])
def write(request: pytest.FixtureRequest) -> Writer:
    """Writes task.json as the operator renders it (with its plan), or as written by hand."""
    planned = request.param == "operator-plan"

    def writer(tmp_path: Path, doc: dict[str, Any]) -> Path:
        if planned:
            try:
                task = EvalTask.model_validate(doc)
            except ValueError:
                pass  # the operator never plans an invalid task; the runner reports it
            else:
                doc = {**doc, "plan": build_run_plan(task, doc.get("resolved"))}
        path = tmp_path / "task.json"
        path.write_text(json.dumps(doc))
        return path

    return writer


def test_runner_and_operator_agree_on_the_plan_version() -> None:
    assert runner_plan.PLAN_VERSION == PLAN_VERSION


def test_a_plan_of_another_version_is_ignored(tmp_path: Path) -> None:
    spec = {
        "models": [{"name": "m", "endpoint": {"url": "http://h/v1"}}],
        "dataset": {"url": "http://h/d.jsonl"},
    }
    doc = task(spec)
    doc["plan"] = {"version": PLAN_VERSION + 1, "models": "not understood"}
    path = tmp_path / "task.json"
    path.write_text(json.dumps(doc))
    config = load_run_config(path, results_dir=tmp_path, env={})
    assert [m.url for m in config.models] == ["http://h/v1"]


KEY_REF = SecretKeySelector(name="llm", key="token")


def test_full_mapping(tmp_path: Path, write: Writer) -> None:
    spec = {
        "models": [
            {
                "name": "deployed",
                "serviceGroupRef": {"name": "qwen"},
                "params": {"temperature": 0.3, "penaltyScore": 1.2},
            },
            {
                "name": "external",
                "promptTemplate": "Q: {input}",
                "endpoint": {
                    "url": "https://api.example.com/v1",
                    "api": "openai-completions",
                    "model": "gpt-x",
                    "requestHeaders": {"X-A": "1"},
                    "requestHeadersFrom": [
                        {"name": "X-Tenant-Key", "secretKeyRef": {"name": "llm", "key": "tenant"}}
                    ],
                    "apiKeySecretRef": {"name": "llm", "key": "token"},
                },
            },
        ],
        "dataset": {"configMap": {"name": "qa", "key": "qa.csv"}, "fields": {"preset": "qianfan"}},
        "limits": 50,
        "inference": {
            "promptTemplate": "Answer: {input}",
            "systemPrompt": "be brief",
            "params": {
                "temperature": 0.9,
                "topP": 0.8,
                "maxNewTokens": 64,
                "extra": {"enable_thinking": False},
            },
            "client": {
                "parallel": 16,
                "logEveryQuery": 25,
                "connectTimeoutSeconds": 3,
                "readTimeoutSeconds": 30,
                "requestTimeoutSeconds": 120,
                "maxRetries": 5,
                "maxErrorRatio": 0.2,
            },
        },
    }
    resolved = [
        {
            "name": "deployed",
            "url": "http://qwen.team.svc:8000/v1",
            "model": "qwen",
            "api": "openai-chat",
        }
    ]
    env = {
        "MODELEVAL_DATASET_DIR": "/mnt/cm",
        secret_env_name(KEY_REF): "sk-secret",
        secret_env_name(SecretKeySelector(name="llm", key="tenant")): "t-42",
    }
    config = load_run_config(write(tmp_path, task(spec, resolved)), results_dir=tmp_path, env=env)
    deployed, external = config.models
    assert (deployed.url, deployed.model, deployed.api) == (
        "http://qwen.team.svc:8000/v1",
        "qwen",
        ApiFlavour.CHAT,
    )
    assert deployed.params == {
        "temperature": 0.3,
        "top_p": 0.8,
        "max_tokens": 64,
        "enable_thinking": False,
        "penalty_score": 1.2,
    }
    assert deployed.prompt.render("x") == "Answer: x"
    assert deployed.prompt.system == "be brief"
    assert external.api == ApiFlavour.COMPLETIONS
    assert external.model == "gpt-x"
    assert external.prompt.render("x") == "Q: x"
    assert external.client.api_key == "sk-secret"
    # requestHeadersFrom: the header's value is the Secret's, from the Job's environment
    assert external.client.headers == {"X-A": "1", "X-Tenant-Key": "t-42"}
    assert (external.client.parallel, external.client.max_retries) == (16, 5)
    assert (external.client.connect_timeout_s, external.client.read_timeout_s) == (3, 30)
    assert external.client.request_timeout_s == 120  # requestTimeoutSeconds: the whole request
    assert (
        load_run_config(
            write(tmp_path, task({**spec, "inference": {}}, resolved)),
            results_dir=tmp_path,
            env=env,
        )
        .models[1]
        .client.request_timeout_s
        is None
    )
    assert config.settings.log_every == 25
    assert config.settings.max_error_ratio == 0.2
    assert config.dataset is not None
    assert config.dataset.path == "/mnt/cm/qa.csv"
    assert (config.dataset.mapping.input, config.dataset.mapping.target) == ("prompt", "response")
    assert config.dataset.limit == 50
    assert (config.task_name, config.namespace) == ("t1", "team")


def test_inline_dataset_and_defaults(tmp_path: Path, write: Writer) -> None:
    spec = {
        "models": [{"name": "m", "endpoint": {"url": "http://h/v1"}}],
        "dataset": {"inline": [{"id": "a", "input": "x", "target": "y", "topic": "t"}]},
    }
    config = load_run_config(write(tmp_path, task(spec)), results_dir=tmp_path, env={})
    assert config.dataset is not None
    assert config.dataset.inline == [{"id": "a", "input": "x", "target": "y", "topic": "t"}]
    (model,) = config.models
    # endpoint.model unset: the runner asks the server (modeleval.runner.discovery).
    assert (model.model, model.model_field) == ("", "spec.models[0].endpoint.model")
    assert model.client.parallel == 8
    assert config.predictions_path(model) == tmp_path / "predictions" / "m.jsonl"


def test_each_model_may_have_its_own_parallel(tmp_path: Path, write: Writer) -> None:
    spec = {
        "models": [
            {"name": "a", "endpoint": {"url": "http://a/v1"}, "parallel": 32},
            {"name": "b", "endpoint": {"url": "http://b/v1"}},
        ],
        "dataset": {"inline": [{"input": "x"}]},
        "inference": {"client": {"parallel": 4}},
    }
    config = load_run_config(write(tmp_path, task(spec)), results_dir=tmp_path, env={})
    assert [m.client.parallel for m in config.models] == [32, 4]


def test_missing_secret_is_reported(tmp_path: Path, write: Writer) -> None:
    spec = {
        "models": [
            {
                "name": "m",
                "endpoint": {
                    "url": "http://h/v1",
                    "apiKeySecretRef": {"name": "llm", "key": "token"},
                },
            }
        ],
        "dataset": {"url": "http://h/d.jsonl"},
    }
    with pytest.raises(TaskFileError, match="secret llm/token not provided"):
        load_run_config(write(tmp_path, task(spec)), results_dir=tmp_path, env={})


def test_unresolved_service_group_and_bad_files(tmp_path: Path, write: Writer) -> None:
    spec = {
        "models": [{"name": "m", "serviceGroupRef": {"name": "g"}}],
        "dataset": {"url": "http://h/d.jsonl"},
    }
    with pytest.raises(TaskFileError, match="no URL"):
        load_run_config(write(tmp_path, task(spec)), results_dir=tmp_path, env={})
    with pytest.raises(TaskFileError, match="task file not found"):
        load_run_config(tmp_path / "missing.json", results_dir=tmp_path, env={})
    with pytest.raises(TaskFileError, match="invalid EvalTask"):
        load_run_config(write(tmp_path, task({"models": []})), results_dir=tmp_path, env={})


def test_performance_settings(tmp_path: Path, write: Writer) -> None:
    spec = {
        "type": "Performance",
        "models": [{"name": "m", "endpoint": {"url": "http://h/v1"}}],
        "dataset": {"inline": [{"input": "hi"}]},
        "performance": {
            "parallel": [1, 8],
            "requestsPerLevel": 20,
            "stream": False,
            "durationSeconds": 30,
            "syntheticInputTokens": 100,
            "outputTokens": 16,
            "latencyBudgetMs": 500,
        },
    }
    perf = load_run_config(write(tmp_path, task(spec)), results_dir=tmp_path, env={}).performance
    assert perf is not None
    assert (perf.levels, perf.requests_per_level, perf.stream) == ((1, 8), 20, False)
    assert perf.duration_s == 30
    assert (perf.synthetic_input_tokens, perf.output_tokens, perf.latency_budget_ms) == (
        100,
        16,
        500,
    )
    spec["performance"].pop("stream")  # type: ignore[attr-defined]
    default = load_run_config(write(tmp_path, task(spec)), results_dir=tmp_path, env={}).performance
    assert default is not None and default.stream is True


def test_a_phase_starts_from_the_task_file_its_results_and_the_status_sink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    connection = kubestatus.KubeConnection(server="https://10.0.0.1")
    monkeypatch.setattr(kubestatus, "in_cluster_connection", lambda: connection)
    raw = {"metadata": {"name": "t", "namespace": "ns"}, "spec": {}}
    path = tmp_path / "task.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    env = {"MODELEVAL_TASK_FILE": str(path), "MODELEVAL_RESULTS_DIR": str(tmp_path / "r")}
    start = start_phase(None, None, env)
    assert (start.task, start.results) == (raw, tmp_path / "r")
    assert isinstance(start.sink, kubestatus.HttpStatusSink)
    assert start.sink.url == "https://10.0.0.1" + kubestatus.status_path("ns", "t")


def test_a_phase_without_a_task_name_or_credentials_has_no_sink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    path = tmp_path / "task.json"
    path.write_text(json.dumps({"metadata": {}}), encoding="utf-8")
    start = start_phase(path, tmp_path, {"MODELEVAL_TASK_NAME": "t"})
    assert (start.results, start.sink) == (tmp_path, None)
    with pytest.raises(TaskFileError, match="task file not found"):
        start_phase(tmp_path / "missing.json", tmp_path, {})
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(TaskFileError, match="expected a JSON object"):
        start_phase(path, tmp_path, {})
