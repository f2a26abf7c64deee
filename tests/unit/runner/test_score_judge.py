"""The score phase's view of a task: which judge it calls, with what, and which stop words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modeleval.api import SecretKeySelector, secret_env_name
from modeleval.runner.score import judge_from_task, scoring_config

KEY = {"name": "judge-creds", "key": "token"}
TENANT = {"name": "judge-creds", "key": "tenant"}
ENV = {
    secret_env_name(SecretKeySelector.model_validate(KEY)): "sk-judge",
    secret_env_name(SecretKeySelector.model_validate(TENANT)): "team-7",
}


def task(judge: dict[str, Any], resolved: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"spec": {"scoring": {"modes": ["model"], "judge": judge}}}
    if resolved is not None:
        doc["resolved"] = {"judge": resolved}
    return doc


def test_the_judge_is_reached_as_the_task_says() -> None:
    """spec.scoring.judge: endpoint.url, model, requestHeaders, requestHeadersFrom and
    apiKeySecretRef; apiName when the endpoint names no model; a serviceGroupRef's URL and
    served model (resolved by the operator) over both."""
    endpoint = {
        "url": "https://judge.example/v1",
        "model": "judge-70b",
        "requestHeaders": {"X-Route": "eval"},
        "requestHeadersFrom": [{"name": "X-Tenant", "secretKeyRef": TENANT}],
        "apiKeySecretRef": KEY,
    }
    judge = judge_from_task(task({"apiName": "judge-l", "endpoint": endpoint}), ENV)
    assert judge is not None
    assert judge.url == "https://judge.example/v1/chat/completions"
    assert judge.model == "judge-70b"
    assert judge.headers == {
        "X-Route": "eval",
        "X-Tenant": "team-7",
        "Authorization": "Bearer sk-judge",
    }
    unnamed = {"url": "https://judge.example/v1"}
    named_by_api_name = judge_from_task(task({"apiName": "judge-l", "endpoint": unnamed}), {})
    assert named_by_api_name is not None and named_by_api_name.model == "judge-l"
    served = {"url": "http://judge-group.ns.svc:8000/v1", "model": "Qwen2-72B"}
    grouped = judge_from_task(task({"serviceGroupRef": {"name": "judge-group"}}, served), {})
    assert grouped is not None
    assert (grouped.url, grouped.model) == (
        "http://judge-group.ns.svc:8000/v1/chat/completions",
        "Qwen2-72B",
    )
    assert judge_from_task(task({"serviceGroupRef": {"name": "judge-group"}}), {}) is None


def test_the_mounted_stop_word_file_wins_over_stop_words_path(tmp_path: Path) -> None:
    """scoring.rule.stopWordsFrom is mounted and named by MODELEVAL_STOPWORDS_FILE; a relative
    stopWordsPath is read inside the results directory."""
    spec = {"scoring": {"modes": ["rule"], "rule": {"stopWordsPath": "stop/words.txt"}}}
    relative = scoring_config(spec, tmp_path, {})
    assert relative.rule.stop_words_path == str(tmp_path / "stop/words.txt")
    mounted = scoring_config(spec, tmp_path, {"MODELEVAL_STOPWORDS_FILE": "/mnt/stopwords/zh.txt"})
    assert mounted.rule.stop_words_path == "/mnt/stopwords/zh.txt"
