"""Pure builders for the runner: the phase Jobs and the per-task least-privilege RBAC.

A phase Job runs ``python -m modeleval.runner <phase>`` (see docs/dev/CONTRACTS.md) as a
hardened pod: non-root, read-only root filesystem (``/tmp`` is an emptyDir), no capabilities,
``RuntimeDefault`` seccomp. ``restartPolicy: Never`` lets the Job controller retry a failed pod
(up to ``backoffLimit``); the retried runner resumes from its checkpoint on the results volume.
"""

from __future__ import annotations

from typing import Any

from modeleval import constants as c
from modeleval.api import EvalTask, secret_env_name
from modeleval.api.scoring import StopWordsFrom
from modeleval.builders.evaltask import (
    CONFIG_KEY,
    child_metadata,
    config_map_name,
    job_name,
    results_claim_name,
    runner_account_name,
    secret_refs,
)
from modeleval.builders.shards import indexed_job_fields, is_sharded, shard_count, shard_env
from modeleval.settings import OperatorSettings

PHASES = ("infer", "judge", "score", "perf", "manual")
RUNNER_UID = 65532
CONFIG_DIR = "/etc/modeleval"
RESULTS_DIR = "/results"
DATASET_CONFIG_DIR = "/mnt/dataset-config"
DATASET_PVC_DIR = "/mnt/dataset"
CONSOLE_TOKEN_DIR = "/var/run/secrets/modeleval.io/console"
CONSOLE_TOKEN_SECONDS = 3600
STOPWORDS_DIR = "/mnt/stopwords"
KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
GENERATION_ANNOTATION = f"{c.GROUP}/task-generation"


def build_runner_rbac(task: EvalTask) -> list[dict[str, Any]]:
    """ServiceAccount, Role and RoleBinding ``<task>-runner``: read its task, patch its status."""
    task_name = task.metadata.name or ""
    name = runner_account_name(task_name)
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": child_metadata(task, name, "runner"),
        "automountServiceAccountToken": True,
    }
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": child_metadata(task, name, "runner"),
        "rules": [
            {
                "apiGroups": [c.GROUP],
                "resources": [c.EVAL_TASK_PLURAL],
                "resourceNames": [task_name],
                "verbs": ["get"],
            },
            {
                "apiGroups": [c.GROUP],
                "resources": [f"{c.EVAL_TASK_PLURAL}/status"],
                "resourceNames": [task_name],
                "verbs": ["get", "patch"],
            },
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": child_metadata(task, name, "runner"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [
            {"kind": "ServiceAccount", "name": name, "namespace": task.metadata.namespace}
        ],
    }
    return [account, role, binding]


def _env(task: EvalTask, settings: OperatorSettings) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "MODELEVAL_TASK_FILE", "value": f"{CONFIG_DIR}/{CONFIG_KEY}"},
        {"name": "MODELEVAL_RESULTS_DIR", "value": _results_dir(task)},
        {"name": "MODELEVAL_TASK_NAME", "value": task.metadata.name},
        {"name": "MODELEVAL_TASK_NAMESPACE", "value": task.metadata.namespace},
        {"name": "TMPDIR", "value": "/tmp"},
    ]
    dataset = task.spec.dataset
    if dataset is not None and dataset.config_map is not None:
        env.append({"name": "MODELEVAL_DATASET_DIR", "value": DATASET_CONFIG_DIR})
    if _data_claim(task) is not None:
        env.append({"name": "MODELEVAL_DATASET_PVC_DIR", "value": DATASET_PVC_DIR})
    if settings.console_url:
        env.append({"name": "MODELEVAL_CONSOLE_URL", "value": settings.console_url})
        env.append({"name": "MODELEVAL_CONSOLE_TOKEN_FILE", "value": f"{CONSOLE_TOKEN_DIR}/token"})
    stop_words = _stop_words_file(task)
    if stop_words is not None:
        env.append({"name": "MODELEVAL_STOPWORDS_FILE", "value": stop_words})
    for index, result in enumerate(task.spec.existing_results or []):
        if result.source.config_map or result.source.pvc:  # where its volume is mounted
            path = f"{c.EXISTING_RESULTS_DIR}/{index}"
            env.append({"name": f"MODELEVAL_EXISTING_{index}", "value": path})
    for ref in secret_refs(task.spec):
        env.append(
            {
                "name": secret_env_name(ref),
                "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}},
            }
        )
    return env


def _data_claim(task: EvalTask) -> str | None:
    """The PVC holding the task's data: its dataset's, or its benchmark mirror's."""
    dataset = task.spec.dataset
    if dataset is not None and dataset.pvc is not None:
        return dataset.pvc.claim_name
    benchmark = task.spec.benchmark
    source = benchmark.source if benchmark is not None else None
    if source is not None and source.pvc is not None:
        return source.pvc.claim_name
    return None


def _stop_words_from(task: EvalTask) -> StopWordsFrom | None:
    scoring = task.spec.scoring
    rule = scoring.rule if scoring else None
    return rule.stop_words_from if rule else None


def _stop_words_file(task: EvalTask) -> str | None:
    """Where the runner finds ``scoring.rule.stopWordsFrom`` (``MODELEVAL_STOPWORDS_FILE``)."""
    source = _stop_words_from(task)
    if source is None:
        return None
    if source.config_map is not None:
        return f"{STOPWORDS_DIR}/{source.config_map.key}"
    assert source.pvc is not None
    return f"{STOPWORDS_DIR}/{source.pvc.path.lstrip('/')}"


def _results_dir(task: EvalTask) -> str:
    results = task.spec.results
    if results is not None and results.path and results_claim_name(task) is not None:
        return f"{RESULTS_DIR}/{results.path.strip('/')}"
    return RESULTS_DIR


def _volumes(
    task: EvalTask, settings: OperatorSettings
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Pod volumes and the container's mounts."""
    task_name = task.metadata.name or ""
    claim = results_claim_name(task)
    results: dict[str, Any] = (
        {"persistentVolumeClaim": {"claimName": claim}} if claim else {"emptyDir": {}}
    )
    volumes = [
        {"name": "config", "configMap": {"name": config_map_name(task_name)}},
        {"name": "results", **results},
        {"name": "tmp", "emptyDir": {}},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
        {"name": "results", "mountPath": RESULTS_DIR},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    dataset = task.spec.dataset
    if dataset is not None and dataset.config_map is not None:
        volumes.append({"name": "dataset-config", "configMap": {"name": dataset.config_map.name}})
        mounts.append({"name": "dataset-config", "mountPath": DATASET_CONFIG_DIR, "readOnly": True})
    data_claim = _data_claim(task)
    if data_claim is not None:
        volumes.append(
            {
                "name": "dataset-pvc",
                "persistentVolumeClaim": {"claimName": data_claim, "readOnly": True},
            }
        )
        mounts.append({"name": "dataset-pvc", "mountPath": DATASET_PVC_DIR, "readOnly": True})
    if settings.console_url:
        # A token only the console accepts (its audience), rotated by the kubelet: the
        # runner proves which task it runs for without holding an API-server token for it.
        volumes.append(
            {
                "name": "console-token",
                "projected": {
                    "sources": [
                        {
                            "serviceAccountToken": {
                                "audience": settings.console_audience,
                                "expirationSeconds": CONSOLE_TOKEN_SECONDS,
                                "path": "token",
                            }
                        }
                    ]
                },
            }
        )
        mounts.append({"name": "console-token", "mountPath": CONSOLE_TOKEN_DIR, "readOnly": True})
    for index, result in enumerate(task.spec.existing_results or []):
        source, name = result.source, f"existing-{index}"
        if source.config_map is not None:
            volumes.append({"name": name, "configMap": {"name": source.config_map.name}})
        elif source.pvc is not None:
            pvc = {"claimName": source.pvc.claim_name, "readOnly": True}
            volumes.append({"name": name, "persistentVolumeClaim": pvc})
        else:
            continue  # inline, URL and S3 sets are read without a volume
        path = f"{c.EXISTING_RESULTS_DIR}/{index}"
        mounts.append({"name": name, "mountPath": path, "readOnly": True})
    stop_words = _stop_words_from(task)
    if stop_words is not None:
        if stop_words.config_map is not None:
            volumes.append({"name": "stopwords", "configMap": {"name": stop_words.config_map.name}})
        else:
            assert stop_words.pvc is not None
            pvc = {"claimName": stop_words.pvc.claim_name, "readOnly": True}
            volumes.append({"name": "stopwords", "persistentVolumeClaim": pvc})
        mounts.append({"name": "stopwords", "mountPath": STOPWORDS_DIR, "readOnly": True})
    return volumes, mounts


def _resources(task: EvalTask, settings: OperatorSettings) -> dict[str, Any]:
    """Requests from the task (``runner.cpu``/``memory``) or the operator's defaults.

    The memory limit is the task's ``runner.memory``, else ``MODELEVAL_RUNNER_MEMORY_LIMIT``,
    else the request. CPU is limited only where the operator limits it
    (``MODELEVAL_RUNNER_CPU_LIMIT``; CPU-throttling an HTTP client only slows it), and then to
    the task's ``runner.cpu`` when it sets one: a task asking for more than the operator's
    default limit would otherwise get a pod whose request exceeds its limit (refused)."""
    runner = task.spec.runner
    cpu = runner.cpu if runner else None
    memory = runner.memory if runner else None
    requests = {
        "cpu": str(cpu or settings.runner_cpu),
        "memory": str(memory or settings.runner_memory),
    }
    limits = {"memory": str(memory or settings.runner_memory_limit or requests["memory"])}
    if settings.runner_cpu_limit:
        limits["cpu"] = str(cpu or settings.runner_cpu_limit)
    return {"requests": requests, "limits": limits}


def _container(task: EvalTask, phase: str, settings: OperatorSettings) -> dict[str, Any]:
    runner = task.spec.runner
    _, mounts = _volumes(task, settings)
    env = _env(task, settings)
    if is_sharded(task, phase):
        env.extend(shard_env(shard_count(task)))
    container: dict[str, Any] = {
        "name": "runner",
        "image": (runner.image if runner else None) or settings.runner_image,
        "command": ["python", "-m", "modeleval.runner", phase],
        "env": env,
        "resources": _resources(task, settings),
        "volumeMounts": mounts,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUNNER_UID,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if settings.runner_image_pull_policy:
        container["imagePullPolicy"] = settings.runner_image_pull_policy
    if settings.runner_metrics_port:
        port = settings.runner_metrics_port
        container["env"].append({"name": "MODELEVAL_METRICS_PORT", "value": str(port)})
        container["ports"] = [{"name": "metrics", "containerPort": port, "protocol": "TCP"}]
    return container


def build_job(task: EvalTask, phase: str, settings: OperatorSettings) -> dict[str, Any]:
    """batch/v1 Job ``<task>-<phase>`` running one runner phase (infer, judge, score, perf,
    manual); an Indexed Job of ``spec.runner.shards`` pods for a sharded phase
    (``builders.shards``)."""
    if phase not in PHASES:
        raise ValueError(f"unknown runner phase {phase!r}; expected one of {PHASES}")
    task_name = task.metadata.name or ""
    runner = task.spec.runner
    metadata = child_metadata(task, job_name(task_name, phase), "runner")
    metadata["labels"][c.LABEL_PHASE] = phase
    generation = (task.metadata.model_extra or {}).get("generation")
    if generation is not None:
        metadata["annotations"] = {GENERATION_ANNOTATION: str(generation)}
    pod_labels = dict(metadata["labels"])
    queue = runner.queue_name if runner else None
    if queue:
        metadata["labels"][KUEUE_QUEUE_LABEL] = queue
    volumes, _ = _volumes(task, settings)
    pod_spec: dict[str, Any] = {
        "serviceAccountName": runner_account_name(task_name),
        "restartPolicy": "Never",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUNNER_UID,
            "runAsGroup": RUNNER_UID,
            "fsGroup": RUNNER_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(task, phase, settings)],
        "volumes": volumes,
    }
    if settings.runner_image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": n} for n in settings.runner_image_pull_secrets]
    if runner and runner.node_selector:
        pod_spec["nodeSelector"] = dict(runner.node_selector)
    if runner and runner.tolerations:
        pod_spec["tolerations"] = [t.to_wire() for t in runner.tolerations]
    template: dict[str, Any] = {"metadata": {"labels": pod_labels}, "spec": pod_spec}
    if settings.runner_metrics_port:  # for annotation-based scraping; the chart's PodMonitor
        template["metadata"]["annotations"] = {  # selects the pods by their labels instead
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(settings.runner_metrics_port),
            "prometheus.io/path": "/metrics",
        }
    backoff_limit = runner.backoff_limit if runner else 3
    spec: dict[str, Any] = {"backoffLimit": backoff_limit, "template": template}
    if is_sharded(task, phase):
        spec.update(indexed_job_fields(shard_count(task), backoff_limit))
    if runner and runner.active_deadline_seconds:
        spec["activeDeadlineSeconds"] = runner.active_deadline_seconds
    if queue:
        spec["suspend"] = True
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec}
