"""The EvalTasks a ``ModelEvalServiceGroup`` starts once Ready (ZStack "deploy + evaluate").

One task per dataset x target of ``spec.evaluation``, owned by the group, named
``<group>-<dataset name or index>[-<target>]`` (a DNS-1123 label; trimmed with a hash suffix
when longer than 63 characters), with the group's evaluation defaults as its parameters.

    for task in build_group_tasks(group):      # manifest dicts; EvalTask-valid
        ...

``status.tasks`` of the group is written from these by
:func:`modeleval.reconcile.servicegroup_status.task_refs`.
"""

from __future__ import annotations

from typing import Any

from modeleval import constants as c
from modeleval.api.datasets import DatasetSpec
from modeleval.api.servicegroup import GroupEvaluation, ModelEvalServiceGroup
from modeleval.builders.common import child_metadata, child_name, label_value, standard_labels
from modeleval.builders.servicegroup import group_url, served_model_name, serving_of

COMPONENT = "evaluation"


def dataset_key(dataset: DatasetSpec, index: int) -> str:
    """How a dataset appears in task names and the dataset label: its name, else its index."""
    return dataset.name or str(index)


def group_targets(group: ModelEvalServiceGroup) -> list[str]:
    """The service groups evaluated: ``evaluation.targets``, else the group itself."""
    evaluation = group.spec.evaluation
    if evaluation is None or not evaluation.targets:
        return [_name(group)]
    return list(dict.fromkeys(evaluation.targets))


def task_name(group: ModelEvalServiceGroup, dataset: DatasetSpec, index: int, target: str) -> str:
    """``<group>-<dataset>`` plus ``-<target>`` when the evaluation lists targets."""
    evaluation = group.spec.evaluation
    suffix = target if evaluation is not None and evaluation.targets else ""
    return child_name(_name(group), dataset_key(dataset, index), suffix)


def _name(group: ModelEvalServiceGroup) -> str:
    if not group.metadata.name:
        raise ValueError("the service group has no metadata.name")
    return group.metadata.name


def _model_name(target: str) -> str:
    """The model's name in results: the target group's name, shortened when needed."""
    return label_value(target)


def _model(
    group: ModelEvalServiceGroup, evaluation: GroupEvaluation, target: str
) -> dict[str, Any]:
    headers = evaluation.request_headers
    headers_from = evaluation.request_headers_from
    use_endpoint = evaluation.url is not None or (
        target == _name(group) and (headers or headers_from)
    )
    model: dict[str, Any] = {"name": _model_name(target)}
    if not use_endpoint:
        model["serviceGroupRef"] = {"name": target}
        return model
    serving = serving_of(group)
    endpoint: dict[str, Any] = {
        "url": evaluation.url or group_url(group),
        "api": str(serving.api),
        "model": served_model_name(group),
    }
    if headers:
        endpoint["requestHeaders"] = dict(headers)
    if headers_from:
        endpoint["requestHeadersFrom"] = [h.to_wire() for h in headers_from]
    model["endpoint"] = endpoint
    return model


def _results(group: ModelEvalServiceGroup) -> dict[str, Any] | None:
    path = group.spec.export_path
    if not path:
        return None
    if path.startswith("s3://"):
        bucket, _, key = path.removeprefix("s3://").partition("/")
        key = key.strip("/") or _name(group)
        return {"type": "S3", "s3": {"url": f"s3://{bucket}/{key}"}}
    return {"type": "PVC", "path": path}


def build_group_task(
    group: ModelEvalServiceGroup, dataset: DatasetSpec, index: int, target: str
) -> dict[str, Any]:
    """One EvalTask manifest: ``dataset`` evaluated against the service group ``target``."""
    evaluation = group.spec.evaluation or GroupEvaluation()
    name = task_name(group, dataset, index, target)
    key = dataset_key(dataset, index)
    labels = standard_labels(name, component=COMPONENT, service_group=_name(group))
    labels[c.LABEL_DATASET] = label_value(key)
    inference: dict[str, Any] = {}
    if evaluation.prompt_template is not None:
        inference["promptTemplate"] = evaluation.prompt_template
    if evaluation.params is not None:
        inference["params"] = evaluation.params.to_wire()
    if evaluation.client is not None:
        inference["client"] = evaluation.client.to_wire()
    spec: dict[str, Any] = {
        "description": f"Created by ModelEvalServiceGroup {_name(group)}: dataset {key}, "
        f"target {target}.",
        "type": str(evaluation.task_type),
        "models": [_model(group, evaluation, target)],
        "dataset": dataset.to_wire(),
    }
    if evaluation.limits is not None:
        spec["limits"] = evaluation.limits
    if inference:
        spec["inference"] = inference
    if evaluation.scoring is not None:
        spec["scoring"] = evaluation.scoring.to_wire()
    results = _results(group)
    if results is not None:
        spec["results"] = results
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.EVAL_TASK_KIND,
        "metadata": child_metadata(group, name, labels),
        "spec": spec,
    }


def build_group_tasks(group: ModelEvalServiceGroup) -> list[dict[str, Any]]:
    """Every EvalTask of ``spec.evaluation`` (empty without datasets), in a stable order."""
    evaluation = group.spec.evaluation
    if evaluation is None or not evaluation.datasets:
        return []
    return [
        build_group_task(group, dataset, index, target)
        for index, dataset in enumerate(evaluation.datasets)
        for target in group_targets(group)
    ]
