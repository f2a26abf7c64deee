"""The vendor APIs of a live console (``modeleval console``, its own process, logged in as its
ServiceAccount with the RBAC we ship) against the API emulator:

- the official ``qianfan`` SDK from PyPI, pointed at the console with its own base-URL setting
  and signing with an access key kept as a Secret, creates, lists, describes and stops a task;
  a wrong secret key is refused and changes nothing;
- ZStack's PUT with an OAuth token deploys a group with two datasets, and the ZStack queries
  read its two tasks back;
- kubectl (the real binary, as an administrator) shows the same objects and states;
- every write was made as the caller, never as the console; the console used only rights it
  is granted; after a console restart every id still resolves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from modeleval import constants as c
from modeleval_testkit.apiserver import (
    ThreadedApiServer,
    compare_with_manifests,
    load_documents,
    run_in_thread,
    service_account_user,
)
from modeleval_testkit.console import ConsoleProcess
from tests.support.kube import require_kube_tools
from tests.support.paths import MANIFESTS, REPO
from tests.support.vendors import configmap, group_manifest

pytestmark = pytest.mark.slow

NS = "team-a"
SYSTEM = "modeleval-system"
AK, SK = "AKqianfanci0001", "SKqianfanci0001secret"
GROUP_UUID = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
CONSOLE_RBAC = [
    MANIFESTS / "console" / "rbac.yaml",
    MANIFESTS / "overlays" / "console-access-keys" / "access-keys-rbac.yaml",
]
EVALUATOR = f"system:serviceaccount:{NS}:evaluator"
CREATE = {
    "taskName": "自动评估_停止测试0910",
    "description": "created through the Qianfan SDK",
    "evalObjectType": "model",
    "evalObjectConfig": {
        "evalModelConfig": {
            "versionId": "demo-qa-dataset",
            "storageType": "sysStorage",
            "evalModelConfigList": [
                {"modelId": "amv-qwen", "promptTemplate": "{input}", "params": {"top_p": 0.9}}
            ],
        }
    },
    "evalConfig": {"evalMode": "rule", "autoRuleEvalConfig": {"scoreModes": ["accuracy"]}},
}


def bind(subject: dict[str, str], role: str, kind: str = "ClusterRole") -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"{role}-{subject['name']}", "namespace": NS},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
        "subjects": [subject],
    }


def access_key_secret(secret_key: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "qianfan-ci",
            "namespace": SYSTEM,
            "labels": {"modeleval.io/access-key": "true"},
            "annotations": {"modeleval.io/service-account": f"{NS}/evaluator"},
        },
        "type": "modeleval.io/access-key",
        "stringData": {"accessKey": AK, "secretKey": secret_key},
    }


@dataclass
class Stack:
    server: ThreadedApiServer
    console: ConsoleProcess
    kubectl: Path
    admin: Path
    anna: str
    work: Path

    def kubectl_json(self, *args: str) -> Any:
        result = subprocess.run(
            [str(self.kubectl), "--kubeconfig", str(self.admin), *args, "-o", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(result.stdout)

    def sdk(self, *calls: tuple[str, dict[str, Any]], secret_key: str = SK) -> list[Any]:
        """The qianfan SDK, configured only through its documented environment variables."""
        env = {
            **os.environ,
            "QIANFAN_CONSOLE_API_BASE_URL": self.console.url,
            "QIANFAN_ACCESS_KEY": AK,
            "QIANFAN_SECRET_KEY": secret_key,
            "QIANFAN_CONSOLE_API_RETRY_COUNT": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "PYTHONPATH": str(REPO),
        }
        result = subprocess.run(
            [sys.executable, "-m", "tests.support.qianfan_sdk", json.dumps(list(calls))],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=self.work,  # no stray .env for the SDK to read
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]

    def zstack(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"OAuth {self.anna}"}
        return httpx.request(
            method, f"{self.console.url}/zstack/v1/{path}", headers=headers, timeout=30, **kwargs
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    kubectl, _helm = require_kube_tools()
    work = tmp_path_factory.mktemp("vendor-apis")
    with run_in_thread(crds=[REPO / "crds"]) as server:
        server.load_manifests(
            [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SYSTEM}},
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
                *CONSOLE_RBAC,
                MANIFESTS / "rbac" / "user_clusterroles.yaml",
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": "evaluator", "namespace": NS},
                },
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "Role",
                    "metadata": {"name": "read-datasets", "namespace": NS},
                    "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
                },
                bind({"kind": "User", "name": "anna"}, "modeleval-editor"),
                bind({"kind": "User", "name": "anna"}, "read-datasets", "Role"),
                bind({"kind": "User", "name": "vera"}, "modeleval-viewer"),
                bind(
                    {"kind": "ServiceAccount", "name": "evaluator", "namespace": NS},
                    "modeleval-editor",
                ),
                bind(
                    {"kind": "ServiceAccount", "name": "evaluator", "namespace": NS},
                    "read-datasets",
                    "Role",
                ),
                access_key_secret(SK),
                configmap("demo-qa-dataset", NS),
                configmap("second-set", NS, **{"b.jsonl": '{"input": "2+2?", "target": "4"}\n'}),
                group_manifest("qwen-7b", NS, modelId="amv-qwen"),
            ]
        )
        token = server.issue_service_account_token(SYSTEM, "modeleval-console")
        kubeconfig = server.write_kubeconfig(work / "console.kubeconfig", token)
        console = ConsoleProcess(
            work / "console",
            kubeconfig,
            env={
                "MODELEVAL_CONSOLE_ACCESS_KEY_NAMESPACE": SYSTEM,
                "MODELEVAL_CONSOLE_VENDOR_NAMESPACE": NS,
                "MODELEVAL_CONSOLE_SYNC_SECONDS": "0",
            },
        )
        console.start()
        try:
            yield Stack(
                server=server,
                console=console,
                kubectl=kubectl,
                admin=server.write_kubeconfig(work / "admin.kubeconfig"),
                anna=server.issue_token("anna"),
                work=work,
            )
        finally:
            console.stop()


def writers(stack: Stack, resource: str) -> set[str]:
    return {
        r.user
        for r in stack.server.request_log
        if r.resource == resource and r.verb in ("create", "update", "patch", "delete")
    }


def test_the_qianfan_sdk_creates_lists_describes_and_stops_a_task(stack: Stack) -> None:
    [created] = stack.sdk(("CreateEvalTask", CREATE))
    assert created["ok"], created
    task_id = created["body"]["result"]
    listed, described = stack.sdk(
        ("DescribeEvalTasks", {"evalType": "auto", "keyFilter": "0910"}),
        ("DescribeEvalTask", {"taskId": task_id}),
    )
    assert [t["taskId"] for t in listed["body"]["result"]["evalTaskList"]] == [task_id]
    result = described["body"]["result"]
    assert result["taskName"] == CREATE["taskName"] and result["state"] == "Queued"

    # kubectl shows the same task; once the operator (here: an administrator) moves it, so
    # does DescribeEvalTask
    [task] = [
        t
        for t in stack.kubectl_json("get", "evaltasks", "-n", NS)["items"]
        if t["metadata"]["uid"] == task_id
    ]
    assert task["spec"]["displayName"] == CREATE["taskName"]
    assert task["spec"]["models"][0]["serviceGroupRef"] == {"name": "qwen-7b"}
    assert task["metadata"]["labels"]["modeleval.io/vendor-api"] == "qianfan"
    name = task["metadata"]["name"]
    stack.server.patch_object(
        c.API_VERSION,
        c.EVAL_TASK_KIND,
        name,
        {
            "status": {
                "state": "Running",
                "percentage": 40,
                "lastUpdateTime": "2026-12-02T10:00:00Z",
            }
        },
        namespace=NS,
        subresource="status",
    )
    [again, stopped] = stack.sdk(
        ("DescribeEvalTask", {"taskId": task_id}), ("StopEvalTask", {"taskId": task_id})
    )
    assert again["body"]["result"]["state"] == "Running"
    assert again["body"]["result"]["updateTime"] == "2026-12-02 10:00:00"
    assert stopped["body"]["result"] == {}
    shown = stack.kubectl_json("get", "evaltask", name, "-n", NS)
    assert shown["spec"]["suspend"] is True and shown["status"]["state"] == "Running"

    # made as the access key's ServiceAccount, which the API server and RBAC saw
    assert writers(stack, "evaltasks") == {EVALUATOR}
    assert any(
        r.user == EVALUATOR and r.resource == "configmaps" and r.verb == "get"
        for r in stack.server.request_log
    )  # the dataset id was resolved with the key's rights, not the console's


def test_a_wrong_secret_key_is_refused_and_changes_nothing(stack: Stack) -> None:
    before = stack.kubectl_json("get", "evaltasks", "-n", NS)["items"]
    refused, denied = stack.sdk(
        ("CreateEvalTask", CREATE), ("DescribeEvalTask", {"taskId": "x"}), secret_key="SK-wrong"
    )
    assert refused == {"ok": False, "status": 400, "error": refused["error"]}
    assert "SignatureDoesNotMatch" in refused["error"]
    assert denied["status"] == 400
    assert stack.kubectl_json("get", "evaltasks", "-n", NS)["items"] == before


DEPLOY = {
    "name": "qwen-eval",
    "projectUuid": NS,
    "dockerImage": "vllm/vllm-openai:v0.6.3",
    "limits": 5,
    "datasetUuids": ["demo-qa-dataset", "second-set"],
    "modelServiceGroupUuids": ["qwen-7b"],
    "taskType": "Quality",
    "prompt": "Answer: {input}",
    "temperature": 0.5,
}


def test_zstack_deploys_a_group_with_two_datasets_and_reads_back_its_tasks(stack: Stack) -> None:
    body = DEPLOY
    put = stack.zstack("PUT", f"ai/model-services/eval/{GROUP_UUID}", json=body)
    assert put.status_code == 200, put.text
    answer = put.json()
    assert answer["inventory"]["uuid"] == GROUP_UUID and len(answer["tasks"]) == 2

    groups = stack.zstack("GET", f"ai/model-eval-services/instances/groups/{GROUP_UUID}").json()
    assert [g["name"] for g in groups["inventories"]] == ["qwen-eval"]
    tasks = stack.zstack(
        "GET",
        "model-evaluation-tasks",
        params={"q": f"modelServiceGroupUuid={GROUP_UUID}", "replyWithCount": "true"},
    ).json()
    assert tasks["total"] == 2
    by_dataset = {t["datasetUuid"]: t for t in tasks["inventories"]}
    assert set(by_dataset) == {"demo-qa-dataset", "second-set"}
    assert {t["uuid"] for t in tasks["inventories"]} == {t["uuid"] for t in answer["tasks"]}

    # kubectl: the same group and tasks, owned by it, as anna made them
    group = stack.kubectl_json("get", "mesg", "qwen-eval", "-n", NS)
    assert group["metadata"]["labels"]["modeleval.io/zstack-uuid"] == GROUP_UUID
    assert group["spec"]["evaluation"]["limits"] == 5
    listed = stack.kubectl_json(
        "get", "evaltasks", "-n", NS, "-l", f"{c.LABEL_SERVICE_GROUP}=qwen-eval"
    )["items"]
    assert {t["metadata"]["uid"].replace("-", "") for t in listed} == set(
        t["uuid"] for t in tasks["inventories"]
    )
    for task in listed:
        inventory = next(
            t for t in tasks["inventories"] if t["uuid"] == task["metadata"]["uid"].replace("-", "")
        )
        assert inventory["name"] == task["metadata"]["name"]
        assert inventory["datasetUuid"] == task["spec"]["dataset"]["name"]
        assert task["metadata"]["ownerReferences"][0]["uid"] == group["metadata"]["uid"]
    assert writers(stack, "modelevalservicegroups") == {"anna"}
    assert "anna" in writers(stack, "evaltasks")

    # someone who may only view gets ZStack's error envelope for a PUT, and nothing changes
    viewer = httpx.put(
        f"{stack.console.url}/zstack/v1/ai/model-services/eval/ffff0000",
        headers={"Authorization": f"OAuth {stack.server.issue_token('vera')}"},
        json=body,
        timeout=30,
    )
    assert viewer.status_code == 403 and viewer.json()["error"]["code"] == "ID.1002"
    assert len(stack.kubectl_json("get", "mesg", "-n", NS)["items"]) == 2


def test_ids_survive_a_restart_and_the_console_used_only_its_own_rights(stack: Stack) -> None:
    # (on its own, this test makes what it reads back: PUT again is an update)
    assert stack.zstack("PUT", f"ai/model-services/eval/{GROUP_UUID}", json=DEPLOY).is_success
    assert stack.sdk(("CreateEvalTask", CREATE))[0]["ok"]
    tasks = stack.kubectl_json("get", "evaltasks", "-n", NS)["items"]
    assert len(tasks) >= 3
    stack.console.restart()
    for task in tasks:
        [answer] = stack.sdk(("DescribeEvalTask", {"taskId": task["metadata"]["uid"]}))
        assert answer["ok"] and answer["body"]["result"]["taskId"] == task["metadata"]["uid"]
    group = stack.zstack("GET", f"ai/model-eval-services/instances/groups/{GROUP_UUID}").json()
    assert [g["uuid"] for g in group["inventories"]] == [GROUP_UUID]
    yaml.safe_load(group["inventories"][0]["yaml"])  # the inventory's yaml is the object

    documents = load_documents(CONSOLE_RBAC)
    not_granted, _unused = compare_with_manifests(
        stack.server.request_log, documents, service_account_user(SYSTEM, "modeleval-console")
    )
    assert not_granted == []
    console_user = f"system:serviceaccount:{SYSTEM}:modeleval-console"
    assert writers(stack, "evaltasks").isdisjoint({console_user})
    assert writers(stack, "modelevalservicegroups").isdisjoint({console_user})
