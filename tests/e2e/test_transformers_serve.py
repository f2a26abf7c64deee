"""The rule, judge and performance flows against a model server we did not write: Hugging Face
``transformers serve`` on CPU (modeleval_testkit.hfserve), run by the executor as the pod of a
ModelEvalServiceGroup like any model image, serving a tiny Llama that answers every prompt with
``REPLY``.

What this server does differently from the mock's generic flavour, and the runner copes with:
``top_k``/``repetition_penalty`` refused with 422 (dropped once, reported), ``{"detail": ...}``
errors, stop strings left in the text, ``finish_reason: length``, a role-only first stream chunk,
usage in the finish chunk and no ``[DONE]``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modeleval_testkit.bundle import rbac_manifests
from modeleval_testkit.cluster import LocalCluster
from modeleval_testkit.executor import MOCK_MODEL_SERVER, ExecutorConfig
from modeleval_testkit.hfserve import (
    MODEL_NAME,
    REPLY,
    Serving,
    ServingUnavailable,
    ensure_transformers_serve,
    serve_command,
)
from tests.support.paths import MANIFESTS, REPO
from tests.support.realparts import unavailable
from tests.support.written import WrittenObjects

from .evaltask_helpers import apply, event_reasons, wait_status

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.needs_executor, pytest.mark.realserver]

NS = "hf"
GROUP = "tiny-llama"
ROWS = [
    {"id": "1", "input": "Rate this answer.", "target": "Score: 4"},
    {"id": "2", "input": "What is the capital of France?", "target": "Paris"},
    {"id": "3", "input": "中国的首都是哪里？", "target": "北京"},
    {"id": "4", "input": "Is the answer fine?", "target": "fine"},
]


@pytest.fixture(scope="module")
def serving() -> Serving:
    try:
        return ensure_transformers_serve()
    except ServingUnavailable as exc:
        unavailable(f"transformers serve cannot be set up here: {exc}")


@pytest.fixture(scope="module")
def cluster(
    serving: Serving, tmp_path_factory: pytest.TempPathFactory, written_objects: WrittenObjects
) -> Iterator[LocalCluster]:
    work = tmp_path_factory.mktemp("transformers-serve")
    config = ExecutorConfig(
        time_scale=0.05,
        image_commands={
            "*transformers-serve*": serve_command(serving),
            "*vllm*": MOCK_MODEL_SERVER,
            "*mock*": MOCK_MODEL_SERVER,
        },
        work_dir=work / "executor",
    )
    group = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "ModelEvalServiceGroup",
        "metadata": {"name": GROUP, "namespace": NS},
        "spec": {
            # Any image whose name says transformers-serve: the executor runs the real server.
            "image": "ghcr.io/huggingface/transformers-serve:5.24.0",
            "instances": 1,
            "resources": {"limits": {"cpu": 1, "memory": "2Gi"},
                          "requests": {"cpu": "100m", "memory": "512Mi"}},
            "health": {"livenessPath": "/health", "readinessPath": "/v1/models",
                       "bootTimeSeconds": 180, "periodSeconds": 1},
            "serving": {"port": 8000, "servedModelName": MODEL_NAME},
        },
    }  # fmt: skip
    with LocalCluster(
        work_dir=work / "run",
        crds=[REPO / "crds"],
        namespaces=("default", "modeleval-system", NS),
        rbac_manifests=rbac_manifests(MANIFESTS / "rbac"),
        executor=config,
        record_writes=True,
    ) as local:
        apply(local, group)
        wait_group_ready(local)
        yield local
        written_objects.collect(local)


def wait_group_ready(cluster: LocalCluster) -> None:
    path = f"/apis/modeleval.io/v1alpha1/namespaces/{NS}/modelevalservicegroups/{GROUP}"

    def ready() -> bool:
        with cluster.api() as api:
            status = (api.get(path) or {}).get("status") or {}
        return status.get("phase") == "Running"

    cluster.wait_for(ready, timeout=240, interval=0.5, what=f"group {GROUP} Running")


def task(name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "models": [{"name": "tiny", "serviceGroupRef": {"name": GROUP}}],
        "dataset": {"inline": ROWS},
        "inference": {"promptTemplate": "{input}", "client": {"parallel": 2, "logEveryQuery": 1}},
        "scoring": {"modes": ["rule"], "rule": {"scoreModes": ["accuracy"],
                                                "accuracyMatch": "contains"}},
    }  # fmt: skip
    body.update(spec)
    return {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": name, "namespace": NS},
        "spec": body,
    }


def finished(cluster: LocalCluster, name: str) -> dict[str, Any]:
    final = wait_status(cluster, NS, name, lambda s: s.get("state") in ("Succeeded", "Failed"),
                        timeout=240)  # fmt: skip
    assert final["state"] == "Succeeded", (final.get("message"), cluster.operator_output()[-3000:])
    return final


def local_predictions(cluster: LocalCluster, name: str) -> dict[str, dict[str, Any]]:
    """The task's predictions file on its results claim: id -> row."""
    assert cluster.executor is not None
    [found] = (cluster.executor.work_dir / "pvc" / NS).glob(f"{name}*/**/tiny.jsonl")
    rows = [json.loads(line) for line in Path(found).read_text().splitlines() if line.strip()]
    return {row["id"]: row for row in rows}


def server_log(cluster: LocalCluster) -> str:
    with cluster.api() as api:
        pods = (api.get(f"/api/v1/namespaces/{NS}/pods") or {})["items"]
    [pod] = [p for p in pods if p["metadata"]["name"].startswith(GROUP)]
    return cluster.logs(pod["metadata"]["name"], NS)


def test_a_rule_task_with_top_k_and_repetition_penalty_succeeds_and_says_what_was_dropped(
    cluster: LocalCluster,
) -> None:
    params = {"temperature": 0.5, "topK": 40, "repetitionPenalty": 1.05, "maxNewTokens": 32}
    apply(cluster, task("knobs", inference={"promptTemplate": "{input}", "params": params,
                                            "client": {"parallel": 2}}))  # fmt: skip
    final = finished(cluster, "knobs")
    [dropped] = final["droppedParameters"]
    assert dropped["model"] == "tiny"
    assert sorted(dropped["parameters"]) == ["repetition_penalty", "top_k"]
    assert "HTTP 422: Unexpected fields in the request" in dropped["reason"]
    rows = local_predictions(cluster, "knobs")
    assert {r["output"] for r in rows.values()} == {REPLY}
    assert {r["finish_reason"] for r in rows.values()} == {"stop"}
    assert final["inferenceResults"][0]["truncated"] == 0
    assert final["totalScore"] == 50.0  # "Score: 4" and "fine" are in the reply
    deadline = time.monotonic() + 30
    while "ParametersDropped" not in event_reasons(cluster, NS, "knobs"):
        assert time.monotonic() < deadline, event_reasons(cluster, NS, "knobs")
        time.sleep(0.5)


def test_a_task_that_names_the_server_sends_only_what_it_takes(cluster: LocalCluster) -> None:
    """``server: transformers`` on the endpoint: the plan leaves top_k out (and says so), so the
    server never refuses a request; stop strings the server leaves in the text are cut."""
    with cluster.api() as api:
        url = api.get(f"/apis/modeleval.io/v1alpha1/namespaces/{NS}/modelevalservicegroups/"
                      f"{GROUP}")["status"]["url"]  # fmt: skip
    refusals_before = server_log(cluster).count(" 422")
    endpoint = {"url": url, "model": MODEL_NAME, "server": "transformers"}
    params = {"topK": 5, "stop": ["answer"], "maxNewTokens": 32}
    apply(cluster, task("named", models=[{"name": "tiny", "endpoint": endpoint}],
                        inference={"promptTemplate": "{input}", "params": params}))  # fmt: skip
    final = finished(cluster, "named")
    assert final["droppedParameters"] == [{
        "model": "tiny", "parameters": ["top_k"],
        "reason": "the transformers server flavour does not take them",
    }]  # fmt: skip
    assert server_log(cluster).count(" 422") == refusals_before
    rows = local_predictions(cluster, "named")
    assert {r["output"] for r in rows.values()} == {"Score: 4. The "}


def test_answers_cut_off_at_the_token_limit_are_counted(cluster: LocalCluster) -> None:
    apply(cluster, task("short", inference={"promptTemplate": "{input}",
                                            "params": {"maxNewTokens": 3}}))  # fmt: skip
    final = finished(cluster, "short")
    assert final["inferenceResults"][0]["truncated"] == len(ROWS)
    rows = local_predictions(cluster, "short")
    assert {(r["output"], r["finish_reason"]) for r in rows.values()} == {("Score:", "length")}


def test_a_judge_task_scores_with_the_served_model_as_judge(cluster: LocalCluster) -> None:
    scoring = {
        "modes": ["model"],
        "judge": {"serviceGroupRef": {"name": GROUP}, "promptParam": {"maxScore": 5},
                  "client": {"parallel": 2}},
    }  # fmt: skip
    apply(cluster, task("judged", scoring=scoring))
    final = finished(cluster, "judged")
    assert final["totalScore"] == pytest.approx(80.0)  # "Score: 4" of 5, for every item
    assert final["scores"]["excluded"] == 0


def test_a_performance_task_streams_from_the_real_server(cluster: LocalCluster) -> None:
    spec = {
        "type": "Performance",
        "performance": {"parallel": [1, 2], "requestsPerLevel": 4, "outputTokens": 8},
    }
    body = task("perf", **spec)
    body["spec"].pop("scoring")
    apply(cluster, body)
    final = finished(cluster, "perf")
    levels = final["performance"]["levels"]
    assert [level["parallel"] for level in levels] == [1, 2]
    for level in levels:
        assert level["succeeded"] == 4, level
        assert level["outputTokensPerSecond"] > 0
        assert level["ttftMs"]["p50"] > 0
