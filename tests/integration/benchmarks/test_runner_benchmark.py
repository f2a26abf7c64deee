"""The runner's phases on benchmark tasks, as processes, against the mock model server.

Log-likelihood: the mock returns prompt log-probabilities (``echo`` + ``logprobs``) and
prefers, per item, the continuation the test chose (the gold letter for some items, a wrong
one for the others), so the expected accuracy per subject is known exactly. Generation: the
mock answers each chat question with a chosen text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modeleval.benchmarks import DirectoryStore, Request, load_requests, resolve
from modeleval.localrun import prepare_task_file
from modeleval_testkit.mockserver import MockModelServer
from tests.support.benchmarks import HUB
from tests.support.paths import REPO

pytestmark = pytest.mark.timeout(180)

SUBJECTS = ["abstract_algebra", "nutrition"]


def task(url: str, benchmark: dict[str, Any], api: str = "openai-completions") -> dict[str, Any]:
    return {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": "bench", "namespace": "default"},
        "spec": {
            "models": [{"name": "mock", "endpoint": {"url": url, "model": "m", "api": api}}],
            "benchmark": benchmark,
            "inference": {"client": {"parallel": 4, "logEveryQuery": 5}},
        },
    }


def run_phases(doc: dict[str, Any], out: Path, shards: int = 1) -> dict[str, Any]:
    task_file, _ = prepare_task_file(doc, out, {})
    env = {
        **os.environ,
        "MODELEVAL_TASK_FILE": str(task_file),
        "MODELEVAL_RESULTS_DIR": str(out),
        "MODELEVAL_BENCHMARK_DIR": str(HUB),
        "MODELEVAL_TERMINATION_LOG": str(out / "termination.log"),
        "PYTHONPATH": str(REPO / "operator"),
    }
    env.pop("KUBECONFIG", None)
    runs = [
        ("infer", {"MODELEVAL_SHARDS": str(shards), "JOB_COMPLETION_INDEX": str(index)})
        for index in range(shards)
    ] + [("score", {})]
    for phase, extra in runs:
        done = subprocess.run(
            [sys.executable, "-m", "modeleval.runner", phase],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text("utf-8"))
    return summary


def requests(name: str, **options: Any) -> list[Request]:
    spec = resolve(name, **options)
    return load_requests(spec, DirectoryStore(HUB, spec.benchmark.data.repo))


@pytest.fixture
def mmlu_5shot() -> list[Request]:
    return requests("mmlu", mode="loglikelihood", subsets=SUBJECTS, shots=5)


@pytest.fixture
def preferring(mmlu_5shot: list[Request]) -> Iterator[MockModelServer]:
    """The mock prefers the gold letter on even rows and the next letter on odd rows."""
    answers = {}
    for r in mmlu_5shot:
        gold = r.meta["gold"]
        row = int(r.id.rpartition("/")[2])
        answers[r.text] = "ABCD"[gold if row % 2 == 0 else (gold + 1) % 4]
    with MockModelServer(answers=answers).running() as server:
        yield server


def test_loglikelihood_mode_scores_from_prompt_logprobs(
    preferring: MockModelServer, mmlu_5shot: list[Request], tmp_path: Path
) -> None:
    benchmark = {"name": "mmlu", "subsets": SUBJECTS, "fewShot": 5}
    summary = run_phases(task(preferring.url, benchmark, api="openai-chat"), tmp_path)
    lines = [json.loads(x) for x in (tmp_path / "predictions/mock.jsonl").read_text().splitlines()]
    assert len(lines) == len(mmlu_5shot) == 14
    first = lines[0]
    assert len(first["logprobs"]) == 4 and first["benchmark"]["choices"] == list("ABCD")
    even = {r.id for r in mmlu_5shot if int(r.id.rpartition("/")[2]) % 2 == 0}
    expected = {s: sum(r.id in even for r in mmlu_5shot if r.meta["subset"] == s) for s in SUBJECTS}
    sizes = {s: sum(r.meta["subset"] == s for r in mmlu_5shot) for s in SUBJECTS}
    model = summary["perModel"]["mock"]
    assert {s["name"]: s["scores"]["acc"] for s in model["subsets"]} == {
        s: round(expected[s] / sizes[s] * 100, 4) for s in SUBJECTS
    }
    assert summary["totalScore"] == round(len(even) / len(mmlu_5shot) * 100, 4)
    assert summary["benchmark"] == {
        "name": "mmlu",
        "mode": "loglikelihood",
        "fewShot": 5,
        "metric": "acc",
        "reference": "lm-eval 0.4.13 mmlu",
    }
    assert [c["name"] for c in model["categories"]] == ["stem", "other"]
    # one completions request per item (all four choices in it), whatever the model's API
    assert preferring.stats().requests == len(mmlu_5shot)
    scores = [json.loads(x) for x in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert {s["models"]["mock"]["metrics"]["acc"] for s in scores} == {0.0, 1.0}
    assert "abstract_algebra" in (tmp_path / "report.html").read_text("utf-8")


def test_generation_mode_sends_chat_turns_and_extracts_numbers(tmp_path: Path) -> None:
    items = requests("gsm8k", shots=2)
    answers = {}
    for number, r in enumerate(items):
        final = r.meta["reference"].split("####")[-1].strip()
        answers[r.messages[-1]["content"]] = (
            f"Some steps.\n#### {final}" if number % 3 else f"I think it is {final}."
        )
    with MockModelServer(answers=answers).running() as server:
        summary = run_phases(
            task(server.url, {"name": "gsm8k", "fewShot": 2}, api="openai-chat"), tmp_path
        )
        sent = server.stats().by_prompt
    strict = sum(1 for n in range(len(items)) if n % 3)
    model = summary["perModel"]["mock"]
    assert model["metrics"] == {
        "exact_match_strict": round(strict / len(items) * 100, 4),
        "exact_match_flexible": 100.0,
    }
    assert summary["totalScore"] == model["metrics"]["exact_match_strict"]
    assert len(sent) == len(items)
    assert all(prompt.count("Question:") == 3 for prompt in sent)  # two shots, one question


def test_a_sharded_benchmark_scores_as_the_unsharded_one(
    preferring: MockModelServer, mmlu_5shot: list[Request], tmp_path: Path
) -> None:
    benchmark = {"name": "mmlu", "subsets": SUBJECTS, "fewShot": 5}
    whole = run_phases(task(preferring.url, benchmark), tmp_path / "whole")
    sent_whole = preferring.stats().requests
    sharded = run_phases(task(preferring.url, benchmark), tmp_path / "sharded", shards=3)
    files = sorted((tmp_path / "sharded/predictions/mock.shards").glob("*.jsonl"))
    assert len(files) == 3
    ids = [json.loads(x)["id"] for f in files for x in f.read_text().splitlines()]
    assert sorted(ids) == sorted(r.id for r in mmlu_5shot)  # every item once, over 3 shards
    assert preferring.stats().requests == 2 * sent_whole
    assert sharded["perModel"] == whole["perModel"]
    assert sharded["totalScore"] == whole["totalScore"]
