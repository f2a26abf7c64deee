"""The vendor APIs with the real operator: a model service deployed and evaluated through
ZStack's DeployModelEvalService alone, read back through ZStack and Qianfan while the operator,
the executor and the runner Jobs do the work.

The facade writes the group and its two tasks (synchronous, as ZStack documents); the operator
deploys the model (the executor runs the mock OpenAI server for ``*mock*`` images), adopts the
two tasks it would have created itself — and creates no others — and runs them to Succeeded.
ZStack's queries, Qianfan's DescribeEvalTask and kubectl then say the same thing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from modeleval_testkit.bundle import rbac_manifests
from modeleval_testkit.cluster import LocalCluster
from modeleval_testkit.executor import MOCK_MODEL_SERVER, ExecutorConfig
from tests.support.paths import MANIFESTS, REPO
from tests.support.written import WrittenObjects

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.needs_executor]

NS = "default"
UUID = "5e7a0c1d2b3f40718293a4b5c6d7e8f9"
QA = '{"input": "Say hello", "target": "Say hello"}\n{"input": "ping", "target": "pong"}\n'
MATH = '{"input": "1 + 1 = ?", "target": "1 + 1 = ?"}\n'


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, written_objects: WrittenObjects
) -> Iterator[LocalCluster]:
    work: Path = tmp_path_factory.mktemp("vendor-e2e")
    executor = ExecutorConfig(
        image_commands={"*mock*": MOCK_MODEL_SERVER}, time_scale=0.05, work_dir=work / "executor"
    )
    with LocalCluster(
        work_dir=work,
        crds=[REPO / "crds"],
        rbac_manifests=rbac_manifests(MANIFESTS / "rbac"),
        executor=executor,
        console=True,
        console_rbac=MANIFESTS / "console" / "rbac.yaml",
        record_writes=True,
    ) as local:
        yield local
        written_objects.collect(local)


def dataset(name: str, text: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS},
        "data": {"data.jsonl": text},
    }


def test_a_group_deployed_and_evaluated_through_zstack_reads_the_same_everywhere(
    cluster: LocalCluster,
) -> None:
    for doc in (dataset("qa-set", QA), dataset("math-set", MATH)):
        cluster.apiserver.apply_object(doc)
    cluster.apiserver.apply_object(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "dataset-reader"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
        }
    )
    token = cluster.user_token("zoe", cluster_role="modeleval-editor")
    cluster.user_token("zoe", cluster_role="dataset-reader")
    oauth = {"Authorization": f"OAuth {token}"}
    body = {
        "name": "mockeval",
        "description": "deployed through ZStack's API",
        "projectUuid": NS,
        "dockerImage": "registry.example.com/mock-llm:1.0",
        "startupParameters": {"served-model-name": "mock-llm"},
        "model": "mock-llm",
        "cpuNum": 1,
        "memorySize": 1 << 30,
        "serviceLivez": "/health",
        "serviceReadyz": "/ready",
        "serviceBootUptime": 60,
        "limits": 10,
        "datasetUuids": ["qa-set", "math-set"],
        "taskType": "Quality",
        "prompt": "{input}",
        "parallel": 2,
    }
    put = httpx.put(
        f"{cluster.console_url}/zstack/v1/ai/model-services/eval/{UUID}",
        headers=oauth,
        json=body,
        timeout=60,
    )
    assert put.status_code == 200, put.text
    planned = {t["uuid"]: t for t in put.json()["tasks"]}
    assert len(planned) == 2 and {t["status"] for t in planned.values()} == {"Queued"}

    listing = f"/apis/modeleval.io/v1alpha1/namespaces/{NS}/evaltasks"
    listing += "?labelSelector=modeleval.io/service-group%3Dmockeval"

    def finished() -> list[dict[str, Any]] | None:
        with cluster.api() as api:
            found = api.get(listing)
        tasks = (found or {}).get("items") or []
        states = [(t.get("status") or {}).get("state") for t in tasks]
        if any(s == "Failed" for s in states):
            raise AssertionError(f"a task failed: {[t.get('status') for t in tasks]}")
        return tasks if tasks and all(s == "Succeeded" for s in states) else None

    tasks = cluster.wait_for(finished, timeout=240, interval=1, what="both tasks Succeeded")
    # the operator adopted the two tasks the facade made: same uids, no others
    assert {t["metadata"]["uid"].replace("-", "") for t in tasks} == set(planned)

    queried = httpx.get(
        f"{cluster.console_url}/zstack/v1/model-evaluation-tasks",
        headers=oauth,
        params={"q": f"modelServiceGroupUuid={UUID}"},
        timeout=60,
    ).json()["inventories"]
    by_uuid = {t["uuid"]: t for t in queried}
    for task in tasks:
        inventory = by_uuid[task["metadata"]["uid"].replace("-", "")]
        status = task["status"]
        assert inventory["status"] == status["state"] == "Succeeded"
        assert inventory["totalScore"] == status["totalScore"]
        assert inventory["percentage"] == status["percentage"] == 100
        assert inventory["evaluatedServiceGroupUuid"] == UUID  # it evaluated its own group

        described = httpx.post(
            f"{cluster.console_url}/v2/eval?Action=DescribeEvalTask",
            headers={"Authorization": f"Bearer {token}"},
            json={"taskId": task["metadata"]["uid"]},
            timeout=60,
        ).json()["result"]
        assert described["state"] == "Succeeded" and described["evalType"] == "auto"
        assert described["inferDatasetList"] == [
            {"inferDatasetId": r["location"], "modelId": r["model"]}
            for r in status["inferenceResults"]
        ]
    group = httpx.get(
        f"{cluster.console_url}/zstack/v1/ai/model-eval-services/instances/groups/{UUID}",
        headers=oauth,
        timeout=60,
    ).json()["inventories"][0]
    assert group["status"] == "Running" and group["modelServiceUuid"] == "mockeval"
    assert [i["status"] for i in group["instances"]] == ["Running"]
    assert len(group["datasetRefInventories"]) == 2
