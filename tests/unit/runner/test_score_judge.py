"""The score phase's view of a task: which judge it calls, with what, and which stop words."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from modeleval.api import SecretKeySelector, secret_env_name
from modeleval.runner.score import judge_from_task, run_score_phase, scoring_config
from tests.support.judges import ScriptedJudge

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


def test_the_judges_api_and_connect_timeout_come_from_the_task() -> None:
    """endpoint.api (or the judge group's serving.api, resolved) picks chat or completions;
    client.connectTimeoutSeconds bounds the TCP connect (default 10 s)."""
    endpoint = {"url": "https://judge.example/v1", "api": "openai-completions"}
    judge = judge_from_task(
        task({"endpoint": endpoint, "client": {"connectTimeoutSeconds": 2.5}}), {}
    )
    assert judge is not None
    assert judge.url == "https://judge.example/v1/completions" and not judge.chat
    assert judge.connect_timeout_s == 2.5
    served = {"url": "http://g/v1", "model": "m", "api": "openai-completions"}
    grouped = judge_from_task(task({"serviceGroupRef": {"name": "g"}}, served), {})
    assert grouped is not None and grouped.url == "http://g/v1/completions"
    chat = judge_from_task(task({"endpoint": {"url": "https://judge.example/v1"}}), {})
    assert chat is not None and chat.chat and chat.connect_timeout_s == 10.0


async def test_log_every_query_judge_calls_log_the_scoring_progress(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """scoring.judge.client.logEveryQuery: a progress line every N judge calls (and at the
    end)."""
    rows = [{"id": str(i), "input": f"q{i}", "target": "t", "output": f"a {i} q=4"}
            for i in range(12)]  # fmt: skip
    (tmp_path / "predictions").mkdir()
    (tmp_path / "predictions" / "m.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
    )
    judge = {"endpoint": {"url": "http://judge/v1"}, "client": {"logEveryQuery": 5}}
    doc = {"metadata": {"name": "t"},
           "spec": {"models": [{"name": "m", "endpoint": {"url": "http://m/v1"}}],
                    "scoring": {"modes": ["model"], "judge": judge}}}  # fmt: skip
    with caplog.at_level(logging.INFO, logger="modeleval.scoring"):
        await run_score_phase(doc, tmp_path, env={}, judge_client=ScriptedJudge())
    lines = [r.getMessage() for r in caplog.records if "judge calls" in r.getMessage()]
    assert lines == [
        "scoring: 5/12 judge calls",
        "scoring: 10/12 judge calls",
        "scoring: 12/12 judge calls",
    ]


def test_the_mounted_stop_word_file_wins_over_stop_words_path(tmp_path: Path) -> None:
    """scoring.rule.stopWordsFrom is mounted and named by MODELEVAL_STOPWORDS_FILE; a relative
    stopWordsPath is read inside the results directory."""
    spec = {"scoring": {"modes": ["rule"], "rule": {"stopWordsPath": "stop/words.txt"}}}
    relative = scoring_config(spec, tmp_path, {})
    assert relative.rule.stop_words_path == str(tmp_path / "stop/words.txt")
    mounted = scoring_config(spec, tmp_path, {"MODELEVAL_STOPWORDS_FILE": "/mnt/stopwords/zh.txt"})
    assert mounted.rule.stop_words_path == "/mnt/stopwords/zh.txt"
