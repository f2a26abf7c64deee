"""Pure builders for an EvalTask's children: names, task.json ConfigMap, results PVC, targets.

Everything here is a function of the typed task (and, for target resolution, of the service
groups the handler read): no API calls, so every field is tested without a cluster.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from modeleval import constants as c
from modeleval.api import EvalTask, EvalTaskSpec, ModelEvalServiceGroup, SecretKeySelector
from modeleval.api import secret_env_name as secret_env_name
from modeleval.api.datasets import StorageType
from modeleval.builders.runplan import build_run_plan
from modeleval.settings import OperatorSettings

MAX_LABEL = 63
CONFIG_KEY = "task.json"


def short_name(name: str, suffix: str = "", limit: int = MAX_LABEL) -> str:
    """``name`` + ``suffix`` within ``limit`` chars, deterministic (a hash replaces the cut)."""
    full = f"{name}{suffix}"
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    keep = limit - len(suffix) - len(digest) - 1
    return f"{name[:keep].rstrip('-.')}-{digest}{suffix}"


def config_map_name(task_name: str) -> str:
    return short_name(task_name, "-config", 253)


def results_pvc_name(task_name: str) -> str:
    return short_name(task_name, "-results", 253)


def runner_account_name(task_name: str) -> str:
    return short_name(task_name, "-runner", 253)


def job_name(task_name: str, phase: str) -> str:
    """``<task>-<phase>``; Job names stay within 63 chars (the ``job-name`` pod label)."""
    return short_name(task_name, f"-{phase}")


def task_labels(task_name: str, component: str) -> dict[str, str]:
    """Labels of every child of a task; the task label finds them again after a restart."""
    return {
        c.LABEL_EVAL_TASK: short_name(task_name),
        c.LABEL_NAME: "modeleval",
        c.LABEL_INSTANCE: short_name(task_name),
        c.LABEL_COMPONENT: component,
        c.LABEL_MANAGED_BY: c.MANAGER_NAME,
    }


def owner_reference(task: EvalTask) -> dict[str, Any]:
    """The task as controlling owner: children are garbage-collected with it."""
    extra = task.metadata.model_extra or {}
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.EVAL_TASK_KIND,
        "name": task.metadata.name,
        "uid": extra.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def child_metadata(task: EvalTask, name: str, component: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": task.metadata.namespace,
        "labels": task_labels(task.metadata.name or "", component),
        "ownerReferences": [owner_reference(task)],
    }


def secret_refs(spec: EvalTaskSpec) -> list[SecretKeySelector]:
    """Every Secret key the spec references, once each, in env-name order."""
    found: dict[str, SecretKeySelector] = {}

    def walk(value: Any) -> None:
        if isinstance(value, SecretKeySelector):
            found[secret_env_name(value)] = value
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif hasattr(value, "__pydantic_fields__"):
            for field in type(value).model_fields:
                walk(getattr(value, field))

    walk(spec)
    return [found[key] for key in sorted(found)]


def group_names(spec: EvalTaskSpec) -> list[str]:
    """Service groups the task needs Running: its models' and its judge's, in spec order."""
    names: list[str] = []
    for model in spec.models or []:
        if model.service_group_ref and model.service_group_ref.name not in names:
            names.append(model.service_group_ref.name)
    judge = spec.scoring.judge if spec.scoring else None
    if judge and judge.service_group_ref and judge.service_group_ref.name not in names:
        names.append(judge.service_group_ref.name)
    return names


def _group_target(name: str, group: ModelEvalServiceGroup | None) -> dict[str, Any]:
    """URL, model name and API of a group; url None when the group is not known (yet)."""
    serving = group.spec.serving if group is not None else None
    return {
        "url": group.status.url if group is not None and group.status else None,
        "model": (serving.served_model_name if serving else None) or name,
        "api": str(serving.api) if serving else "openai-chat",
        "server": str(serving.server) if serving else "auto",
    }


def resolve_models(
    spec: EvalTaskSpec, groups: Mapping[str, ModelEvalServiceGroup]
) -> dict[str, Any]:
    """The ``resolved`` section of task.json: one URL per model (and the judge's)."""
    models = []
    for model in spec.models or []:
        if model.service_group_ref:
            name = model.service_group_ref.name
            models.append({"name": model.name, **_group_target(name, groups.get(name))})
        elif model.endpoint:
            models.append(
                {
                    "name": model.name,
                    "url": model.endpoint.url,
                    "model": model.endpoint.model,
                    "api": str(model.endpoint.api),
                    "server": str(model.endpoint.server),
                }
            )
    resolved: dict[str, Any] = {"models": models}
    judge = spec.scoring.judge if spec.scoring else None
    if judge and judge.service_group_ref:
        name = judge.service_group_ref.name
        target = _group_target(name, groups.get(name))
        resolved["judge"] = {"name": judge.api_name or name, **target}
    return resolved


def target_summary(spec: EvalTaskSpec) -> str:
    """A short ``kubectl get`` column: group name or endpoint host, ``+N`` for more models."""
    labels: list[str] = []
    for model in spec.models or []:
        if model.service_group_ref:
            labels.append(model.service_group_ref.name)
        elif model.endpoint:
            labels.append(urlsplit(model.endpoint.url).netloc or model.endpoint.url)
    for result in spec.existing_results or []:
        labels.append(result.name)
    if not labels:
        return ""
    return labels[0] + (f"+{len(labels) - 1}" if len(labels) > 1 else "")


def task_document(task: EvalTask, resolved: Mapping[str, Any]) -> dict[str, Any]:
    """task.json per docs/dev/CONTRACTS.md; holds Secret references, never Secret values."""
    extra = task.metadata.model_extra or {}
    meta = {"name": task.metadata.name, "namespace": task.metadata.namespace}
    for key in ("uid", "generation"):
        if key in extra:
            meta[key] = extra[key]
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.EVAL_TASK_KIND,
        "metadata": meta,
        "spec": task.spec.to_wire(),
        "resolved": dict(resolved),
        "plan": build_run_plan(task, resolved),
    }


def build_task_config_map(task: EvalTask, resolved_models: Mapping[str, Any]) -> dict[str, Any]:
    """ConfigMap ``<task>-config`` with ``task.json``, mounted at /etc/modeleval."""
    body = json.dumps(task_document(task, resolved_models), indent=1, sort_keys=True)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": child_metadata(task, config_map_name(task.metadata.name or ""), "config"),
        "data": {CONFIG_KEY: body},
    }


def needs_results_pvc(spec: EvalTaskSpec) -> bool:
    """The operator creates a results PVC unless the user names one or results go to S3."""
    results = spec.results
    if results is None:
        return True
    return results.type == StorageType.PVC and results.claim_name is None


def results_claim_name(task: EvalTask) -> str | None:
    """The PVC the runner writes to; None when results go to S3 only."""
    results = task.spec.results
    if results is not None and results.type == StorageType.S3:
        return None
    if results is not None and results.claim_name:
        return results.claim_name
    return results_pvc_name(task.metadata.name or "")


def results_location(task: EvalTask) -> str:
    """Where results end up, as written to ``status.resultsLocation``."""
    results = task.spec.results
    if results is not None and results.type == StorageType.S3 and results.s3:
        return results.s3.url
    sub = f"/{results.path.strip('/')}" if results is not None and results.path else ""
    return f"pvc://{results_claim_name(task)}{sub}"


def build_results_pvc(task: EvalTask, settings: OperatorSettings) -> dict[str, Any] | None:
    """PVC ``<task>-results`` (ReadWriteOnce), or None when the task needs none."""
    if not needs_results_pvc(task.spec):
        return None
    results = task.spec.results
    size_set = results is not None and "size" in results.model_fields_set
    size = str(results.size) if results is not None and size_set else settings.results_size
    storage_class = (
        results.storage_class_name if results is not None else None
    ) or settings.results_storage_class
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }
    if storage_class:
        spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": child_metadata(task, results_pvc_name(task.metadata.name or ""), "results"),
        "spec": spec,
    }
