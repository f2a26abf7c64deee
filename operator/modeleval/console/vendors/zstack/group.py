"""ZStack DeployModelEvalService -> a ModelEvalServiceGroup manifest (pure, given a resolver).

The mapping is docs/source-mapping.md's; what the facade adds:

- ``metadata.name`` is ``name`` when it is a Kubernetes name, else derived from it (the
  original kept in ``modeleval.io/display-name``); without a name, ``zstack-<uuid>``.
- The path's ``{uuid}`` is the group's ZStack uuid: label ``modeleval.io/zstack-uuid``.
- ``clusterUuid`` selects nodes labelled ``modeleval.io/cluster=<clusterUuid>``.
- ``systemTags`` / ``userTags`` of the form ``key::value`` (or ``key=value``) with a valid
  label key and value become pod labels; ``tagUuids`` a pod annotation.
- ``serviceBootUptime`` under 10 s is raised to 10 s (the probe cannot be shorter).
- ZStack ids with no Kubernetes meaning (``vmImageUuid`` when ``dockerImage`` is given,
  ``rootDiskOfferingUuid``, ``resourceUuid``, ``projectUuid``, tags that are not labels) are
  kept in the ``modeleval.io/zstack-fields`` annotation and nowhere else.
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol

from modeleval import constants as c
from modeleval.api import ModelEvalServiceGroup
from modeleval.builders.common import child_name
from modeleval.console.vendors import ids
from modeleval.console.vendors.bodies import check_manifest
from modeleval.console.vendors.errors import invalid
from modeleval.console.vendors.zstack.requests import DeployModelEvalService

CLUSTER_LABEL = f"{c.GROUP}/cluster"
"""Node label that stands for a ZStack cluster (``clusterUuid``)."""
FIELDS_ANNOTATION = f"{c.GROUP}/zstack-fields"
"""ZStack fields kept on the group because Kubernetes has no place for them."""
TAG_UUIDS_ANNOTATION = f"{c.GROUP}/zstack-tag-uuids"
MIN_BOOT_SECONDS = 10
API_FLAVOURS = {
    "openai-chat": "openai-chat",
    "openai": "openai-chat",
    "chat": "openai-chat",
    "/v1/chat/completions": "openai-chat",
    "openai-completions": "openai-completions",
    "completions": "openai-completions",
    "/v1/completions": "openai-completions",
}
TASK_TYPES = {"quality": "Quality", "performance": "Performance", "perf": "Performance"}
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)


class Resolver(Protocol):
    def group(self, ref: str, field: str) -> str: ...

    def dataset(self, value: str, field: str) -> dict[str, Any]: ...


def group_name(name: str | None, uuid: str) -> str:
    """``metadata.name`` for a ZStack name (a DNS-1123 label, so its children's names fit)."""
    if name and ids.DNS_LABEL.match(name):
        return name
    return child_name(name or f"zstack-{uuid}")


def tag_label(tag: str) -> tuple[str, str] | None:
    """``key::value`` / ``key=value`` as a pod label, when both are valid label parts."""
    key, sep, value = tag.partition("::")
    if not sep:
        key, sep, value = tag.partition("=")
    if not sep or not _LABEL_KEY.match(key):
        return None
    if value and not ids.LABEL_VALUE.match(value):
        return None
    return key, value


def _choice(value: str | None, choices: dict[str, str], field: str) -> str | None:
    if value is None:
        return None
    found = choices.get(value.strip().lower())
    if found is None:
        names = ", ".join(sorted(set(choices.values())))
        raise invalid(field, f"{value!r} is not one of {names} (or their short forms)")
    return found


def _drop_empty(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None and v != {} and v != []}


def _evaluation(p: DeployModelEvalService, uuid: str, own: str, r: Resolver) -> dict[str, Any]:
    targets = []
    for index, ref in enumerate(p.modelServiceGroupUuids or []):
        own_ref = ids.compact(ref) == ids.compact(uuid) or ref == own
        targets.append(own if own_ref else r.group(ref, f"modelServiceGroupUuids[{index}]"))
    datasets = [
        r.dataset(value, f"datasetUuids[{index}]")
        for index, value in enumerate(p.datasetUuids or [])
    ]
    params = _drop_empty(
        {
            "temperature": p.temperature,
            "topK": p.topK,
            "topP": p.topP,
            "maxLength": p.maxLength,
            "maxNewTokens": p.maxNewTokens,
            "repetitionPenalty": p.repetitionPenalty,
        }
    )
    client = _drop_empty(
        {
            "parallel": p.parallel,
            "logEveryQuery": p.logEveryQuery,
            "connectTimeoutSeconds": p.connectTimeout,
            "readTimeoutSeconds": p.readTimeout,
        }
    )
    return _drop_empty(
        {
            "datasets": datasets,
            "targets": list(dict.fromkeys(targets)) or None,
            "taskType": _choice(p.taskType, TASK_TYPES, "taskType"),
            "promptTemplate": p.prompt,
            "limits": p.limits,
            "params": params,
            "client": client,
            "url": p.url,
            "requestHeaders": p.requestHeaders,
        }
    )


def _kept_fields(p: DeployModelEvalService, unlabelled: list[str]) -> dict[str, Any]:
    kept = {
        "vmImageUuid": p.vmImageUuid if p.dockerImage else None,
        "rootDiskOfferingUuid": p.rootDiskOfferingUuid,
        "resourceUuid": p.resourceUuid,
        "projectUuid": p.projectUuid,
        "tags": unlabelled or None,
    }
    return {k: v for k, v in kept.items() if v is not None}


def build_group(
    p: DeployModelEvalService, uuid: str, namespace: str, resolver: Resolver, *, name: str
) -> dict[str, Any]:
    """The group manifest (``name``: its metadata.name, from `group_name` or the existing)."""
    image = p.dockerImage or p.vmImageUuid
    if not image:
        raise invalid("dockerImage", "is required: the container image that serves the model")
    labels: dict[str, str] = {}
    unlabelled: list[str] = []
    for tag in [*(p.systemTags or []), *(p.userTags or [])]:
        label = tag_label(tag)
        if label is None:
            unlabelled.append(tag)
        else:
            labels[label[0]] = label[1]
    boot = max(p.serviceBootUptime, MIN_BOOT_SECONDS) if p.serviceBootUptime else None
    spec = _drop_empty(
        {
            "description": p.description,
            "type": p.type,
            "modelId": p.modelUuid,
            "image": image,
            "startupParameters": p.startupParameters,
            "env": p.environmentVariables,
            "resources": _drop_empty(
                {
                    "limits": _drop_empty(
                        {
                            "cpu": p.cpuNum,
                            "memory": p.memorySize,
                            "ephemeralStorage": p.rootDiskSize,
                        }
                    ),
                    "requests": _drop_empty(
                        {"cpu": p.requestCpuNum, "memory": p.requestMemorySize}
                    ),
                }
            ),
            "health": _drop_empty(
                {
                    "livenessPath": p.serviceLivez,
                    "readinessPath": p.serviceReadyz,
                    "bootTimeSeconds": boot,
                }
            ),
            "serving": _drop_empty(
                {
                    "servedModelName": p.model,
                    "api": _choice(p.api, API_FLAVOURS, "api"),
                }
            ),
            "placement": _drop_empty(
                {
                    "zone": p.zoneUuid,
                    "nodeSelector": {CLUSTER_LABEL: p.clusterUuid} if p.clusterUuid else None,
                    "networks": p.l3NetworkUuids,
                }
            ),
            "modelCache": (
                {"storageClassName": p.primaryStorageUuid} if p.primaryStorageUuid else None
            ),
            "podLabels": labels,
            "podAnnotations": (
                {TAG_UUIDS_ANNOTATION: ",".join(p.tagUuids)} if p.tagUuids else None
            ),
            "evaluation": _evaluation(p, uuid, name, resolver),
        }
    )
    annotations: dict[str, str] = {}
    if p.name and p.name != name:
        annotations[ids.DISPLAY_NAME_ANNOTATION] = p.name
    kept = _kept_fields(p, unlabelled)
    if kept:
        annotations[FIELDS_ANNOTATION] = json.dumps(kept, sort_keys=True, ensure_ascii=False)
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": {ids.ZSTACK_UUID_LABEL: uuid, ids.VENDOR_LABEL: "zstack"},
    }
    if annotations:
        metadata["annotations"] = annotations
    manifest = {
        "apiVersion": c.API_VERSION,
        "kind": c.SERVICE_GROUP_KIND,
        "metadata": metadata,
        "spec": spec,
    }
    return check_manifest(ModelEvalServiceGroup, manifest)
