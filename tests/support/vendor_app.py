"""The vendor APIs in process for tests: the console application with its vendor routers over
FastAPI's TestClient, Kubernetes played by `tests.support.vendors.FakeCluster`.

Tokens: ``alice`` may do everything with EvalTasks and groups in ``team-a`` and read its
ConfigMaps; ``viewer`` may get/list EvalTasks and groups there; ``nobody`` may do nothing.
ServiceAccount ``team-a/evaluator`` is alice's equal; access key ``AKTEST``/``SKTEST`` acts as
it. Namespace ``team-a`` holds group ``qwen-7b`` (spec.modelId ``amv-qwen``), judge group
``ernie`` (spec.modelId ``ERNIE-Bot``) and ConfigMap ``demo-qa-dataset``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from modeleval import constants as c
from modeleval.console.web.services import Services
from tests.support.vendors import FakeCluster, configmap, group_manifest

NS = "team-a"
EVERYTHING = (("*", c.EVAL_TASK_PLURAL, NS), ("*", c.SERVICE_GROUP_PLURAL, NS))
READ_CONFIGMAPS = (("get", "configmaps", NS),)
VIEW = (
    ("get", c.EVAL_TASK_PLURAL, NS),
    ("list", c.EVAL_TASK_PLURAL, NS),
    ("get", c.SERVICE_GROUP_PLURAL, NS),
    ("list", c.SERVICE_GROUP_PLURAL, NS),
)


@dataclass
class Vendors:
    services: Services
    cluster: FakeCluster
    app: Any

    def client(self, token: str | None = "alice", **headers: str) -> TestClient:
        if token:
            headers.setdefault("Authorization", f"Bearer {token}")
        return TestClient(self.app, headers=headers)

    def qianfan(self, action: str, body: Any, token: str | None = "alice", **headers: str) -> Any:
        return self.client(token, **headers).post(f"/v2/eval?Action={action}", json=body)

    def zstack_put(self, uuid: str, body: Any, token: str = "alice") -> Any:
        client = self.client(None, Authorization=f"OAuth {token}")
        return client.put(f"/zstack/v1/ai/model-services/eval/{uuid}", json=body)


def make_cluster() -> FakeCluster:
    cluster = FakeCluster()
    cluster.add_user("alice", "alice", *EVERYTHING, *READ_CONFIGMAPS)
    cluster.add_user("viewer", "vera", *VIEW)
    cluster.add_user("nobody", "nobody")
    cluster.add_service_account(NS, "evaluator", *EVERYTHING, *READ_CONFIGMAPS)
    cluster.add_access_key("AKTEST", "SKTEST", f"{NS}/evaluator")
    cluster.put(c.SERVICE_GROUP_PLURAL, group_manifest("qwen-7b", NS, modelId="amv-qwen"))
    cluster.put(c.SERVICE_GROUP_PLURAL, group_manifest("ernie", NS, modelId="ERNIE-Bot"))
    cluster.put("configmaps", configmap("demo-qa-dataset", NS))
    return cluster
