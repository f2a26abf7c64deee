"""An EvalTask as Qianfan's DescribeEvalTask ``result`` (pure).

Exactly the fields Qianfan documents, in its order and nesting, whatever made the task
(kubectl, a ZStack group, CreateEvalTask): ``taskId`` (the uid), ``taskName``, ``description``,
``evalType``, ``state``, ``evalObjectConfig`` (``evalModelConfig`` for models,
``evalInferDatasetConfig`` for existing results), ``evalConfig`` (``evalMode`` and the configs
of its modes), ``inferDatasetList``, ``createTime``, ``updateTime``.

Qianfan's conventions kept: times as ``YYYY-MM-DD hh:mm:ss`` (UTC here), unset strings as
``""``, an unset stop-word list as ``null``, ``params`` with only the parameters set; GSB shows
as ``isBaseline`` plus ``model`` in ``evalMode``. Parameters Qianfan has no name for
(``maxNewTokens``…) are not shown; ``kubectl get et NAME -o yaml`` has them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from modeleval.console.vendors import ids
from modeleval.console.vendors.qianfan.create import PARAM_NAMES
from modeleval.console.vendors.qianfan.requests import MODES

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
QIANFAN_PARAMS = {ours: theirs for theirs, ours in PARAM_NAMES.items()}
DEFAULT_SCORE_MODES = ["similarity", "accuracy"]
DEFAULT_MAX_SCORE = 5


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def qianfan_time(value: Any) -> str:
    """An API timestamp (``2024-09-10T03:52:53Z``) as Qianfan writes times; ``""`` if none."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def modes_of(spec: dict[str, Any]) -> list[str]:
    scoring = _dict(spec.get("scoring"))
    modes = [str(m) for m in _list(scoring.get("modes"))] or ["rule"]
    if _dict(scoring.get("pairwise")).get("enabled", False) and "model" not in modes:
        modes.append("model")  # GSB is judged by the judge model
    return [m for m in MODES if m in modes]


def eval_type(task: dict[str, Any]) -> str:
    found = _dict(task.get("status")).get("evalType")
    if found in ("manual", "auto"):
        return str(found)
    return "manual" if "manual" in modes_of(_dict(task.get("spec"))) else "auto"


def state(task: dict[str, Any]) -> str:
    return str(_dict(task.get("status")).get("state") or "Queued")


def _params(*layers: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(_dict(layer))
    return {QIANFAN_PARAMS[k]: v for k, v in merged.items() if k in QIANFAN_PARAMS}


def _storage(spec: dict[str, Any]) -> tuple[str, str]:
    results = _dict(spec.get("results"))
    if results.get("type") == "S3":
        url = str(_dict(results.get("s3")).get("url") or "")
        return "BOS", "bos:/" + url.removeprefix("s3://") if url else ""
    return "sysStorage", str(results.get("path") or "")


def model_config(spec: dict[str, Any]) -> dict[str, Any]:
    inference = _dict(spec.get("inference"))
    storage_type, storage_path = _storage(spec)
    return {
        "versionId": ids.dataset_id(spec.get("dataset")),
        "storageType": storage_type,
        "storagePath": storage_path,
        "evalModelConfigList": [
            {
                "modelId": str(model.get("name") or ""),
                "isBaseline": bool(model.get("isBaseline")),
                "promptTemplate": str(
                    model.get("promptTemplate") or inference.get("promptTemplate") or ""
                ),
                "params": _params(inference.get("params"), model.get("params")),
            }
            for model in map(_dict, _list(spec.get("models")))
        ],
    }


def infer_dataset_config(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "evalInferDatasetConfigList": [
            {
                "inferDatasetId": str(result.get("name") or ""),
                "isBaseline": bool(result.get("isBaseline")),
            }
            for result in map(_dict, _list(spec.get("existingResults")))
        ]
    }


def _judge_name(judge: dict[str, Any]) -> str:
    return str(
        judge.get("apiName")
        or _dict(judge.get("serviceGroupRef")).get("name")
        or _dict(judge.get("endpoint")).get("model")
        or ""
    )


def eval_config(spec: dict[str, Any]) -> dict[str, Any]:
    scoring = _dict(spec.get("scoring"))
    modes = modes_of(spec)
    config: dict[str, Any] = {"evalMode": ",".join(modes)}
    if "rule" in modes:
        rule = _dict(scoring.get("rule"))
        stop_words = rule.get("stopWordList")
        config["autoRuleEvalConfig"] = {
            "scoreModes": [str(m) for m in _list(rule.get("scoreModes"))] or DEFAULT_SCORE_MODES,
            "stopWordList": [str(w) for w in stop_words] if isinstance(stop_words, list) else None,
            "stopWordsPath": str(rule.get("stopWordsPath") or ""),
        }
    if "model" in modes:
        judge = _dict(scoring.get("judge"))
        param = _dict(judge.get("promptParam"))
        max_score = param.get("maxScore")
        config["autoModelEvalConfig"] = {
            "apiName": _judge_name(judge),
            "promptParam": {
                "metric": str(param.get("metric") or ""),
                "steps": str(param.get("steps") or ""),
                "maxScore": max_score if isinstance(max_score, int | float) else DEFAULT_MAX_SCORE,
            },
        }
    if "manual" in modes:
        manual = _dict(scoring.get("manual"))
        config["manualEvalConfig"] = {
            "evalDimension": [
                {
                    "dimension": str(d.get("dimension") or ""),
                    "description": str(d.get("description") or ""),
                }
                for d in map(_dict, _list(manual.get("evalDimension")))
            ]
        }
    return config


def infer_dataset_list(task: dict[str, Any]) -> list[dict[str, str]]:
    """Result sets the task's inference produced (none for existing-results tasks)."""
    if _dict(task.get("spec")).get("existingResults"):
        return []
    return [
        {"inferDatasetId": str(r.get("location") or ""), "modelId": str(r.get("model") or "")}
        for r in map(_dict, _list(_dict(task.get("status")).get("inferenceResults")))
    ]


def describe(task: dict[str, Any]) -> dict[str, Any]:
    """DescribeEvalTask's ``result`` for an EvalTask object."""
    spec = _dict(task.get("spec"))
    meta = ids.meta(task)
    status = _dict(task.get("status"))
    if spec.get("existingResults"):
        objects = {"evalInferDatasetConfig": infer_dataset_config(spec)}
    else:
        objects = {"evalModelConfig": model_config(spec)}
    created = qianfan_time(meta.get("creationTimestamp"))
    return {
        "taskId": ids.qianfan_task_id(task),
        "taskName": str(spec.get("displayName") or meta.get("name") or ""),
        "description": str(spec.get("description") or ""),
        "evalType": eval_type(task),
        "state": state(task),
        "evalObjectConfig": objects,
        "evalConfig": eval_config(spec),
        "inferDatasetList": infer_dataset_list(task),
        "createTime": created,
        "updateTime": qianfan_time(status.get("lastUpdateTime")) or created,
    }
