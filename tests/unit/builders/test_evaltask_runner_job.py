"""The runner's phase Job and its per-task RBAC, field by field."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from modeleval import constants as c
from modeleval.api import EvalTask, secret_env_name
from modeleval.api.common import SecretKeySelector
from modeleval.builders.jobs import build_job, build_runner_rbac
from modeleval.settings import OperatorSettings

SETTINGS = OperatorSettings(
    runner_image="registry.local/runner:1", runner_cpu="500m", runner_memory="2Gi"
)
DATASET = {"configMap": {"name": "qa-data", "key": "qa.jsonl"}}
MODEL = {
    "name": "hosted",
    "endpoint": {
        "url": "https://llm.example.com/v1",
        "apiKeySecretRef": {"name": "creds", "key": "api-key"},
    },
}


def make_task(**spec: Any) -> EvalTask:
    body = {"models": [MODEL], "dataset": DATASET, **spec}
    return EvalTask.model_validate(
        {
            "metadata": {"name": "qa", "namespace": "team-a", "uid": "uid-1", "generation": 2},
            "spec": body,
        }
    )


def container(job: dict[str, Any]) -> dict[str, Any]:
    containers = job["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(job: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(job)["env"]}


def test_job_metadata_names_labels_and_owner() -> None:
    job = build_job(make_task(), "infer", SETTINGS)
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    meta = job["metadata"]
    assert meta["name"] == "qa-infer"
    assert meta["namespace"] == "team-a"
    assert meta["labels"] == {
        c.LABEL_EVAL_TASK: "qa",
        c.LABEL_PHASE: "infer",
        c.LABEL_NAME: "modeleval",
        c.LABEL_INSTANCE: "qa",
        c.LABEL_COMPONENT: "runner",
        c.LABEL_MANAGED_BY: c.MANAGER_NAME,
    }
    assert meta["annotations"] == {"modeleval.io/task-generation": "2"}
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "modeleval.io/v1alpha1",
            "kind": "EvalTask",
            "name": "qa",
            "uid": "uid-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert job["spec"]["template"]["metadata"]["labels"] == meta["labels"]


@pytest.mark.parametrize("phase", ["infer", "score", "perf"])
def test_job_runs_the_runner_phase(phase: str) -> None:
    job = build_job(make_task(), phase, SETTINGS)
    assert job["metadata"]["name"] == f"qa-{phase}"
    assert container(job)["command"] == ["python", "-m", "modeleval.runner", phase]


def test_unknown_phase_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown runner phase"):
        build_job(make_task(), "train", SETTINGS)


def test_job_spec_retries_deadline_and_no_ttl() -> None:
    job = build_job(
        make_task(runner={"backoffLimit": 5, "activeDeadlineSeconds": 3600}), "infer", SETTINGS
    )
    spec = job["spec"]
    assert spec["backoffLimit"] == 5
    assert spec["activeDeadlineSeconds"] == 3600
    assert "ttlSecondsAfterFinished" not in spec
    assert "suspend" not in spec
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["serviceAccountName"] == "qa-runner"
    default = build_job(make_task(), "infer", SETTINGS)["spec"]
    assert default["backoffLimit"] == 3 and "activeDeadlineSeconds" not in default


def test_contract_env_and_secrets_only_as_secret_key_refs() -> None:
    job = build_job(make_task(), "infer", SETTINGS)
    env = env_of(job)
    assert env["MODELEVAL_TASK_FILE"] == "/etc/modeleval/task.json"
    assert env["MODELEVAL_RESULTS_DIR"] == "/results"
    assert env["MODELEVAL_TASK_NAME"] == "qa"
    assert env["MODELEVAL_TASK_NAMESPACE"] == "team-a"
    assert env["MODELEVAL_DATASET_DIR"] == "/mnt/dataset-config"
    secret_name = secret_env_name(SecretKeySelector(name="creds", key="api-key"))
    assert env[secret_name] == {"secretKeyRef": {"name": "creds", "key": "api-key"}}
    secret_envs = [e for e in container(job)["env"] if e["name"].startswith("MODELEVAL_SECRET_")]
    assert len(secret_envs) == 1 and "value" not in secret_envs[0]
    assert "envFrom" not in container(job)


def test_volumes_config_results_tmp_and_dataset() -> None:
    job = build_job(make_task(), "infer", SETTINGS)
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    assert volumes["config"] == {"name": "config", "configMap": {"name": "qa-config"}}
    assert volumes["results"] == {
        "name": "results",
        "persistentVolumeClaim": {"claimName": "qa-results"},
    }
    assert volumes["tmp"] == {"name": "tmp", "emptyDir": {}}
    assert volumes["dataset-config"] == {"name": "dataset-config", "configMap": {"name": "qa-data"}}
    mounts = {m["mountPath"]: m for m in container(job)["volumeMounts"]}
    assert mounts["/etc/modeleval"] == {
        "name": "config",
        "mountPath": "/etc/modeleval",
        "readOnly": True,
    }
    assert mounts["/results"]["name"] == "results" and not mounts["/results"].get("readOnly")
    assert mounts["/tmp"]["name"] == "tmp"
    assert mounts["/mnt/dataset-config"]["readOnly"] is True


def test_dataset_on_a_pvc_is_mounted_read_only() -> None:
    task = make_task(dataset={"pvc": {"claimName": "datasets", "path": "qa/test.jsonl"}})
    job = build_job(task, "infer", SETTINGS)
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    assert volumes["dataset-pvc"]["persistentVolumeClaim"] == {
        "claimName": "datasets",
        "readOnly": True,
    }
    assert env_of(job)["MODELEVAL_DATASET_PVC_DIR"] == "/mnt/dataset"


def test_named_claim_and_sub_path_become_the_results_dir() -> None:
    task = make_task(results={"claimName": "shared", "path": "/team/run1/"})
    job = build_job(task, "score", SETTINGS)
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    assert volumes["results"]["persistentVolumeClaim"] == {"claimName": "shared"}
    assert env_of(job)["MODELEVAL_RESULTS_DIR"] == "/results/team/run1"


def test_hardened_pod_and_container() -> None:
    job = build_job(make_task(), "infer", SETTINGS)
    pod = job["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "fsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    ctx = container(job)["securityContext"]
    assert ctx["runAsNonRoot"] is True
    assert ctx["runAsUser"] == 65532
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container(job)["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_image_and_resources_from_settings_then_spec() -> None:
    default = container(build_job(make_task(), "infer", SETTINGS))
    assert default["image"] == "registry.local/runner:1"
    # No CPU limit unless the operator sets one; the memory limit is the request.
    assert default["resources"] == {
        "requests": {"cpu": "500m", "memory": "2Gi"},
        "limits": {"memory": "2Gi"},
    }
    assert "imagePullPolicy" not in default
    task = make_task(runner={"image": "mine:2", "cpu": 2, "memory": "8Gi"})
    custom = container(build_job(task, "infer", SETTINGS))
    assert custom["image"] == "mine:2"
    assert custom["resources"] == {
        "requests": {"cpu": "2", "memory": "8Gi"},
        "limits": {"memory": "8Gi"},
    }


def test_operator_settings_reach_the_runner_pod() -> None:
    """MODELEVAL_RUNNER_CPU_LIMIT, _MEMORY_LIMIT, _IMAGE_PULL_POLICY, _IMAGE_PULL_SECRETS."""
    settings = replace(
        SETTINGS,
        runner_cpu_limit="4",
        runner_memory_limit="16Gi",
        runner_image_pull_policy="Always",
        runner_image_pull_secrets=("regcred", "mirror"),
    )
    job = build_job(make_task(), "score", settings)
    runner = container(job)
    assert runner["resources"]["limits"] == {"cpu": "4", "memory": "16Gi"}
    assert runner["resources"]["requests"] == {"cpu": "500m", "memory": "2Gi"}
    assert runner["imagePullPolicy"] == "Always"
    pod = job["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "regcred"}, {"name": "mirror"}]
    assert (
        "imagePullSecrets"
        not in build_job(make_task(), "score", SETTINGS)["spec"]["template"]["spec"]
    )
    # A task's own runner.cpu / memory are its request and limit: asking for more than the
    # operator's default limit must not give a pod whose request exceeds its limit.
    big = make_task(runner={"cpu": 8, "memory": "32Gi"})
    resources = container(build_job(big, "score", settings))["resources"]
    assert resources == {
        "requests": {"cpu": "8", "memory": "32Gi"},
        "limits": {"cpu": "8", "memory": "32Gi"},
    }


def test_operator_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELEVAL_RUNNER_CPU_LIMIT", "3")
    monkeypatch.setenv("MODELEVAL_RUNNER_MEMORY_LIMIT", "12Gi")
    monkeypatch.setenv("MODELEVAL_RUNNER_IMAGE_PULL_POLICY", "IfNotPresent")
    monkeypatch.setenv("MODELEVAL_RUNNER_IMAGE_PULL_SECRETS", "a, b,,")
    read = OperatorSettings()
    assert (read.runner_cpu_limit, read.runner_memory_limit) == ("3", "12Gi")
    assert read.runner_image_pull_policy == "IfNotPresent"
    assert read.runner_image_pull_secrets == ("a", "b")


@pytest.mark.parametrize(
    ("source", "volume", "file"),
    [
        ({"configMap": {"name": "zh-stop", "key": "words.txt"}},
         {"configMap": {"name": "zh-stop"}}, "/mnt/stopwords/words.txt"),
        ({"pvc": {"claimName": "shared", "path": "/lists/zh.txt"}},
         {"persistentVolumeClaim": {"claimName": "shared", "readOnly": True}},
         "/mnt/stopwords/lists/zh.txt"),
    ],
)  # fmt: skip
def test_stop_words_from_is_mounted_and_named(
    source: dict[str, Any], volume: dict[str, Any], file: str
) -> None:
    scoring = {"modes": ["rule"], "rule": {"stopWordsFrom": source}}
    job = build_job(make_task(scoring=scoring), "score", SETTINGS)
    pod = job["spec"]["template"]["spec"]
    volumes = {v["name"]: {k: x for k, x in v.items() if k != "name"} for v in pod["volumes"]}
    assert volumes["stopwords"] == volume
    runner = container(job)
    mounts = {m["name"]: m for m in runner["volumeMounts"]}
    assert mounts["stopwords"] == {
        "name": "stopwords",
        "mountPath": "/mnt/stopwords",
        "readOnly": True,
    }
    env = {e["name"]: e.get("value") for e in runner["env"]}
    assert env["MODELEVAL_STOPWORDS_FILE"] == file
    plain = container(build_job(make_task(), "score", SETTINGS))
    assert "MODELEVAL_STOPWORDS_FILE" not in {e["name"] for e in plain["env"]}


def test_kueue_queue_creates_the_job_suspended_with_the_queue_label() -> None:
    job = build_job(make_task(runner={"queueName": "gpu-queue"}), "infer", SETTINGS)
    assert job["spec"]["suspend"] is True
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "gpu-queue"
    assert "kueue.x-k8s.io/queue-name" not in job["spec"]["template"]["metadata"]["labels"]


def test_node_selector_and_tolerations_from_spec() -> None:
    tolerations = [
        {"key": "dedicated", "operator": "Equal", "value": "eval", "effect": "NoSchedule"},
        {"key": "spot", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60},
    ]
    runner = {"nodeSelector": {"pool": "cpu"}, "tolerations": tolerations}
    pod = build_job(make_task(runner=runner), "infer", SETTINGS)["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "cpu"}
    assert pod["tolerations"] == tolerations  # every field, as written
    plain = build_job(make_task(), "infer", SETTINGS)["spec"]["template"]["spec"]
    assert "nodeSelector" not in plain and "tolerations" not in plain


def test_runner_rbac_grants_exactly_its_own_task() -> None:
    account, role, binding = build_runner_rbac(make_task())
    assert account["kind"] == "ServiceAccount" and account["metadata"]["name"] == "qa-runner"
    assert role["kind"] == "Role" and role["metadata"]["name"] == "qa-runner"
    assert role["rules"] == [
        {
            "apiGroups": ["modeleval.io"],
            "resources": ["evaltasks"],
            "resourceNames": ["qa"],
            "verbs": ["get"],
        },
        {
            "apiGroups": ["modeleval.io"],
            "resources": ["evaltasks/status"],
            "resourceNames": ["qa"],
            "verbs": ["get", "patch"],
        },
    ]
    assert binding["kind"] == "RoleBinding"
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "qa-runner",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "qa-runner", "namespace": "team-a"}
    ]
    for obj in (account, role, binding):
        assert obj["metadata"]["namespace"] == "team-a"
        assert obj["metadata"]["ownerReferences"][0]["uid"] == "uid-1"


def test_every_built_object_validates_against_the_kubernetes_schemas() -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    from modeleval.builders.evaltask import build_results_pvc, build_task_config_map

    task = make_task(
        runner={
            "queueName": "q",
            "activeDeadlineSeconds": 60,
            "tolerations": [{"operator": "Exists"}],
        }
    )
    objects = [
        build_job(task, "infer", SETTINGS),
        build_task_config_map(task, {"models": []}),
        build_results_pvc(task, SETTINGS),
        *build_runner_rbac(task),
    ]
    for obj in objects:
        kubernetes_validate.validate(obj, "1.32.0", strict=True)


def test_existing_result_sets_on_configmaps_and_pvcs_are_mounted() -> None:
    spec: dict[str, Any] = {
        "existingResults": [
            {"name": "a", "source": {"configMap": {"name": "runs", "key": "a.jsonl"}}},
            {"name": "b", "source": {"pvc": {"claimName": "archive", "path": "b.jsonl"}}},
            {"name": "c", "source": {"url": "https://example.com/c.jsonl"}},
        ],
        "scoring": {"modes": ["rule"]},
    }
    task = EvalTask.model_validate({"metadata": {"name": "t", "namespace": "ns"}, "spec": spec})
    job = build_job(task, "score", SETTINGS)
    pod = job["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["existing-0"]["configMap"] == {"name": "runs"}
    assert volumes["existing-1"]["persistentVolumeClaim"] == {
        "claimName": "archive",
        "readOnly": True,
    }
    assert "existing-2" not in volumes
    mounts = {m["name"]: m for m in container(job)["volumeMounts"]}
    assert mounts["existing-0"]["mountPath"] == "/mnt/existing/0"
    assert mounts["existing-1"] == {
        "name": "existing-1",
        "mountPath": "/mnt/existing/1",
        "readOnly": True,
    }
    # MODELEVAL_EXISTING_<index>: where the runner finds set <index> (the executor rewrites it)
    env = env_of(job)
    assert (env["MODELEVAL_EXISTING_0"], env["MODELEVAL_EXISTING_1"]) == (
        "/mnt/existing/0", "/mnt/existing/1")  # fmt: skip
    assert "MODELEVAL_EXISTING_2" not in env  # a URL is downloaded, not mounted


def test_runner_metrics_port_setting() -> None:
    """MODELEVAL_RUNNER_METRICS_PORT: the runner serves /metrics there, the pod says so."""
    job = build_job(make_task(), "infer", replace(SETTINGS, runner_metrics_port=9400))
    runner = container(job)
    env = {e["name"]: e.get("value") for e in runner["env"]}
    assert env["MODELEVAL_METRICS_PORT"] == "9400"
    assert runner["ports"] == [{"name": "metrics", "containerPort": 9400, "protocol": "TCP"}]
    annotations = job["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "9400",
        "prometheus.io/path": "/metrics",
    }
    plain = build_job(make_task(), "infer", SETTINGS)
    assert "ports" not in container(plain)
    assert "MODELEVAL_METRICS_PORT" not in {e["name"] for e in container(plain)["env"]}
    assert "annotations" not in plain["spec"]["template"]["metadata"]
