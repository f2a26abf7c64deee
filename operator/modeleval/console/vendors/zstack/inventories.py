"""Groups and EvalTasks as ZStack inventories (pure).

``ModelEvalServiceInstanceGroupInventory`` and ``ModelEvaluationTaskInventory`` carry every
field the source document lists, always present (``null`` when the object has no value);
dates are ZStack's (``Jun 7, 2017 9:20:28 PM``, UTC here). A task's group uuids are the ZStack
uuids of the groups named (``Groups``: the groups the caller could see, by namespace and
name; a group the caller cannot see is named by its Kubernetes name).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import yaml

from modeleval import constants as c
from modeleval.console.vendors import ids

Groups = dict[tuple[str, str], dict[str, Any]]
"""(namespace, name) -> group object."""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def zstack_date(value: Any) -> str | None:
    """``2017-06-07T21:20:28Z`` -> ``Jun 7, 2017 9:20:28 PM`` (GSON's default); None if none."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    return f"{moment:%b} {moment.day}, {moment.year} {hour}:{moment:%M:%S} {half}"


def _whole(value: Any) -> Any:
    """A ZStack Integer from a number we keep as a float (timeouts: 10.0 -> 10)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def group_uuid_of(groups: Groups, namespace: str, name: str) -> str:
    found = groups.get((namespace, name))
    return ids.zstack_group_uuid(found) if found is not None else name


def _object_yaml(obj: dict[str, Any]) -> str:
    shown = dict(obj)
    shown["metadata"] = {k: v for k, v in ids.meta(obj).items() if k != "managedFields"}
    return str(yaml.safe_dump(shown, sort_keys=False, allow_unicode=True))


def group_inventory(group: dict[str, Any]) -> dict[str, Any]:
    spec, status, meta = _dict(group.get("spec")), _dict(group.get("status")), ids.meta(group)
    evaluation = _dict(spec.get("evaluation"))
    params = _dict(evaluation.get("params"))
    uuid = ids.zstack_group_uuid(group)
    annotations = _dict(meta.get("annotations"))
    created = zstack_date(meta.get("creationTimestamp"))
    return {
        "uuid": uuid,
        "name": str(annotations.get(ids.DISPLAY_NAME_ANNOTATION) or meta.get("name") or ""),
        "description": str(spec.get("description") or ""),
        "modelServiceUuid": str(status.get("deploymentName") or ""),
        "modelUuid": str(spec.get("modelId") or ""),
        "instances": [
            {
                "uuid": str(instance.get("name") or ""),
                "name": str(instance.get("name") or ""),
                "description": "",
                "modelServiceGroupUuid": uuid,
                "status": "Running" if instance.get("ready") else str(instance.get("phase") or ""),
                "url": str(status.get("url") or ""),
                "internalUrl": str(status.get("url") or ""),
            }
            for instance in map(_dict, _list(status.get("instances")))
        ],
        "datasetRefInventories": [
            {
                "uuid": hashlib.sha256(f"{uuid}/{index}".encode()).hexdigest()[:32],
                "datasetUuid": ids.dataset_id(dataset),
                "modelServiceInstanceGroupUuid": uuid,
            }
            for index, dataset in enumerate(_list(evaluation.get("datasets")))
        ],
        "status": str(status.get("phase") or "Pending"),
        "modelServiceType": str(spec.get("type") or ""),
        "type": str(spec.get("type") or ""),
        "yaml": _object_yaml(group),
        "supportMetrics": [str(m) for m in _list(status.get("supportedMetrics"))],
        "exportPath": str(status.get("exportPath") or spec.get("exportPath") or ""),
        "createDate": created,
        "lastOpDate": zstack_date(status.get("lastUpdateTime")) or created,
        "limits": evaluation.get("limits"),
        "temperature": params.get("temperature"),
        "topK": params.get("topK"),
        "topP": params.get("topP"),
        "maxLength": params.get("maxLength"),
        "maxNewTokens": params.get("maxNewTokens"),
        "repetitionPenalty": params.get("repetitionPenalty"),
    }


def _creator(task: dict[str, Any]) -> str:
    """The group that created a task: ``status.serviceGroup``, else its controller owner."""
    found = _dict(task.get("status")).get("serviceGroup")
    if found:
        return str(found)
    for ref in map(_dict, _list(ids.meta(task).get("ownerReferences"))):
        if ref.get("kind") == c.SERVICE_GROUP_KIND and ref.get("controller"):
            return str(ref.get("name") or "")
    return ""


def _target(model: dict[str, Any], groups: Groups, namespace: str) -> dict[str, Any]:
    """What a task's model talks to: its endpoint, or the service group's URL and API; and
    the group evaluated, if any."""
    endpoint = _dict(model.get("endpoint"))
    if endpoint:
        # a group's task sent to its ``url``: the model is still named for the target group
        named = str(model.get("name") or "")
        return {
            "model": endpoint.get("model"),
            "url": endpoint.get("url"),
            "api": endpoint.get("api") or "openai-chat",
            "requestHeaders": _dict(endpoint.get("requestHeaders")),
            "group": named if (namespace, named) in groups else "",
        }
    name = str(_dict(model.get("serviceGroupRef")).get("name") or "")
    group = groups.get((namespace, name)) or {}
    serving = _dict(_dict(group.get("spec")).get("serving"))
    return {
        "model": serving.get("servedModelName") or name or None,
        "url": _dict(group.get("status")).get("url"),
        "api": serving.get("api") or "openai-chat",
        "requestHeaders": {},
        "group": name,
    }


def task_inventory(task: dict[str, Any], groups: Groups) -> dict[str, Any]:
    spec, status, meta = _dict(task.get("spec")), _dict(task.get("status")), ids.meta(task)
    namespace = str(meta.get("namespace") or "")
    models = [_dict(m) for m in _list(spec.get("models"))]
    first = models[0] if models else {}
    target = _target(first, groups, namespace)
    inference = _dict(spec.get("inference"))
    params = {**_dict(inference.get("params")), **_dict(first.get("params"))}
    client = _dict(inference.get("client"))
    creator = _creator(task)
    created = zstack_date(meta.get("creationTimestamp"))
    return {
        "uuid": ids.zstack_task_uuid(task),
        "name": str(meta.get("name") or ""),
        "type": str(spec.get("type") or "Quality"),
        "description": str(spec.get("description") or ""),
        "percentage": int(status.get("percentage") or 0),
        "opaque": str(spec.get("opaque") or ""),
        "status": str(status.get("state") or "Queued"),
        "modelServiceGroupUuid": group_uuid_of(groups, namespace, creator) if creator else "",
        "evaluatedServiceGroupUuid": (
            group_uuid_of(groups, namespace, target["group"]) if target["group"] else ""
        ),
        "datasetUuid": ids.dataset_id(spec.get("dataset")),
        "limits": spec.get("limits"),
        "maxNewTokens": params.get("maxNewTokens"),
        "topK": params.get("topK"),
        "temperature": params.get("temperature"),
        "topP": params.get("topP"),
        "prompt": str(first.get("promptTemplate") or inference.get("promptTemplate") or ""),
        "repetitionPenalty": params.get("repetitionPenalty"),
        "maxLength": params.get("maxLength"),
        "model": target["model"],
        "url": target["url"],
        "parallel": client.get("parallel"),
        "logEveryQuery": client.get("logEveryQuery"),
        "api": target["api"],
        "requestHeaders": target["requestHeaders"],
        "connectTimeout": _whole(client.get("connectTimeoutSeconds")),
        "readTimeout": _whole(client.get("readTimeoutSeconds")),
        "totalScore": status.get("totalScore"),
        "endTime": zstack_date(status.get("endTime")),
        "createDate": created,
        "lastOpDate": zstack_date(status.get("lastUpdateTime")) or created,
    }
