"""Qianfan CreateEvalTask -> an EvalTask manifest (pure, given a `Resolver`).

- taskName, description -> ``spec.displayName``, ``spec.description``
  (``metadata.generateName`` from the name);
- evalModelConfigList[].modelId -> ``spec.models[].name`` + ``serviceGroupRef`` (the group
  serving it); promptTemplate, params, isBaseline -> the same model's fields;
- evalModelConfig.versionId -> ``spec.dataset`` (a dataset id, `ids.dataset_source`);
- storageType BOS + storagePath -> ``spec.results`` S3 at that bucket/path; sysStorage -> a PVC;
- evalInferDatasetConfigList[] -> ``spec.existingResults[]`` (name, source from inferDatasetId);
- evalConfig.evalMode -> ``spec.scoring.modes``; autoRuleEvalConfig, autoModelEvalConfig,
  manualEvalConfig -> ``scoring.rule``, ``judge``, ``manual``;
- an object with isBaseline -> ``scoring.pairwise.enabled`` (GSB by the judge).

Checks Qianfan makes on the request shape are in `requests`; the ones across fields are here,
each naming the Qianfan field. The manifest is finally validated with the EvalTask model, so
nothing the API server would refuse is sent.
"""

from __future__ import annotations

from typing import Any, Protocol

from modeleval import constants as c
from modeleval.api import EvalTask
from modeleval.builders.common import child_name
from modeleval.console.vendors import ids
from modeleval.console.vendors.bodies import check_manifest
from modeleval.console.vendors.errors import invalid
from modeleval.console.vendors.qianfan.requests import (
    AutoModelEvalConfig,
    AutoRuleEvalConfig,
    CreateEvalTask,
    EvalModelConfig,
    Params,
)

DEFAULT_JUDGE = "ERNIE-Bot"
"""Qianfan's judge when apiName is not given."""
MODEL_CONFIG = "evalObjectConfig.evalModelConfig"
INFER_CONFIG = "evalObjectConfig.evalInferDatasetConfig"
PARAM_NAMES = {
    "temperature": "temperature",
    "top_p": "topP",
    "penalty_score": "penaltyScore",
    "system": "system",
    "top_k": "topK",
    "stop": "stop",
    "disable_search": "disableSearch",
    "enable_citation": "enableCitation",
}
"""Qianfan ``params`` key -> EvalTask ``params`` key."""


class Resolver(Protocol):
    """Looks vendor ids up in the cluster, as the caller."""

    def group(self, ref: str, field: str) -> str:
        """The ModelEvalServiceGroup serving ``ref`` (name, spec.modelId or uuid)."""
        ...

    def dataset(self, value: str, field: str) -> dict[str, Any]:
        """A dataset spec for dataset id ``value``."""
        ...


def convert_params(params: Params | None) -> dict[str, Any]:
    if params is None:
        return {}
    values = params.model_dump(exclude_none=True)
    return {PARAM_NAMES[key]: value for key, value in values.items()}


def _models(config: EvalModelConfig, resolver: Resolver) -> list[dict[str, Any]]:
    models = []
    seen: set[str] = set()
    for index, model in enumerate(config.evalModelConfigList):
        where = f"{MODEL_CONFIG}.evalModelConfigList[{index}]"
        if model.modelId in seen:
            raise invalid(f"{where}.modelId", f"{model.modelId!r} is listed twice")
        seen.add(model.modelId)
        target: dict[str, Any] = {
            "name": model.modelId,
            "serviceGroupRef": {"name": resolver.group(model.modelId, f"{where}.modelId")},
        }
        if model.promptTemplate:
            target["promptTemplate"] = model.promptTemplate
        params = convert_params(model.params)
        if params:
            target["params"] = params
        if model.isBaseline is not None:
            target["isBaseline"] = model.isBaseline
        models.append(target)
    return models


def _results(config: EvalModelConfig) -> dict[str, Any]:
    if config.storageType == "sysStorage":
        return {"type": "PVC", **({"path": config.storagePath} if config.storagePath else {})}
    where = f"{MODEL_CONFIG}.storagePath"
    if not config.storagePath:
        raise invalid(where, "is required when storageType is BOS")
    try:
        source, _ = ids.dataset_source(config.storagePath)
    except ValueError as exc:
        raise invalid(where, str(exc)) from None
    if source is None or "s3" not in source:
        raise invalid(where, "must be a bucket path: bos:/bucket/path (or s3://bucket/path)")
    return {"type": "S3", "s3": source["s3"]}


def _existing(request: CreateEvalTask, resolver: Resolver) -> list[dict[str, Any]]:
    config = request.evalObjectConfig.evalInferDatasetConfig
    if config is None:
        raise invalid(INFER_CONFIG, "is required when evalObjectType is inferDataset")
    results = []
    seen: set[str] = set()
    for index, result in enumerate(config.evalInferDatasetConfigList):
        where = f"{INFER_CONFIG}.evalInferDatasetConfigList[{index}].inferDatasetId"
        name = result.inferDatasetId if len(result.inferDatasetId) <= 63 else None
        name = name or child_name(result.inferDatasetId)
        if name in seen:
            raise invalid(where, f"{result.inferDatasetId!r} is listed twice")
        seen.add(name)
        source = resolver.dataset(result.inferDatasetId, where)
        source.pop("name", None)  # the set's id is the entry's name; a source has none
        entry: dict[str, Any] = {"name": name, "source": source}
        if result.isBaseline is not None:
            entry["isBaseline"] = result.isBaseline
        results.append(entry)
    return results


def _rule(config: AutoRuleEvalConfig | None) -> dict[str, Any]:
    config = config or AutoRuleEvalConfig()
    rule: dict[str, Any] = {"scoreModes": list(config.scoreModes)}
    if config.stopWordList is not None:
        rule["stopWordList"] = list(config.stopWordList)
    if config.stopWordsPath:
        rule["stopWordsPath"] = config.stopWordsPath
    return rule


def _judge(config: AutoModelEvalConfig | None, resolver: Resolver) -> dict[str, Any]:
    config = config or AutoModelEvalConfig()
    name = config.apiName or DEFAULT_JUDGE
    judge: dict[str, Any] = {
        "apiName": name,
        "serviceGroupRef": {"name": resolver.group(name, "evalConfig.autoModelEvalConfig.apiName")},
    }
    if config.promptParam is not None:
        param = config.promptParam.model_dump(exclude_none=True)
        if param:
            judge["promptParam"] = param
    return judge


def _scoring(
    request: CreateEvalTask, baselines: list[bool | None], resolver: Resolver
) -> dict[str, Any]:
    config = request.evalConfig
    modes = config.modes
    scoring: dict[str, Any] = {"modes": modes}
    if "rule" in modes:
        scoring["rule"] = _rule(config.autoRuleEvalConfig)
    if "model" in modes:
        scoring["judge"] = _judge(config.autoModelEvalConfig, resolver)
    if "manual" in modes:
        dimensions = config.manualEvalConfig.evalDimension if config.manualEvalConfig else []
        scoring["manual"] = {"evalDimension": [d.model_dump(exclude_none=True) for d in dimensions]}
    if any(baselines):
        kind = (
            "evalModelConfigList"
            if request.evalObjectType == "model"
            else ("evalInferDatasetConfigList")
        )
        config_path = MODEL_CONFIG if request.evalObjectType == "model" else INFER_CONFIG
        if len(baselines) != 2 or sum(bool(b) for b in baselines) != 1:
            raise invalid(
                f"{config_path}.{kind}",
                "GSB (an object with isBaseline true) needs exactly two objects, exactly one "
                "of them the baseline",
            )
        if "model" not in modes:
            raise invalid(
                "evalConfig.evalMode",
                "GSB (an object with isBaseline true) is judged by the judge model: evalMode "
                "must contain model",
            )
        scoring["pairwise"] = {"enabled": True}
    return scoring


def build_task(request: CreateEvalTask, namespace: str, resolver: Resolver) -> dict[str, Any]:
    """The EvalTask manifest for a CreateEvalTask request (``metadata.generateName``)."""
    spec: dict[str, Any] = {"displayName": request.taskName}
    if request.description:
        spec["description"] = request.description
    if request.evalObjectType == "model":
        config = request.evalObjectConfig.evalModelConfig
        if config is None:
            raise invalid(MODEL_CONFIG, "is required when evalObjectType is model")
        spec["models"] = _models(config, resolver)
        spec["dataset"] = resolver.dataset(config.versionId, f"{MODEL_CONFIG}.versionId")
        spec["results"] = _results(config)
        baselines = [m.isBaseline for m in config.evalModelConfigList]
    else:
        spec["existingResults"] = _existing(request, resolver)
        baselines = [r.get("isBaseline") for r in spec["existingResults"]]
    spec["scoring"] = _scoring(request, baselines, resolver)
    manifest = {
        "apiVersion": c.API_VERSION,
        "kind": c.EVAL_TASK_KIND,
        "metadata": {
            "generateName": f"{child_name(request.taskName, max_length=52)}-",
            "namespace": namespace,
            "labels": {ids.VENDOR_LABEL: "qianfan"},
        },
        "spec": spec,
    }
    return check_manifest(EvalTask, manifest)
