"""Qianfan ``/v2/eval`` request bodies, field for field as Qianfan documents them.

Types are strict (``"1"`` is not a number, ``1`` is not a boolean); unknown keys are ignored,
as Qianfan's SDK adds its own (``ak``/``sk`` when passed per call — never logged or kept);
ranges are Qianfan's. A body that fails gets ``InappropriateJSON`` naming every field at fault
(`modeleval.console.vendors.bodies.parse_model`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MODES = ("rule", "model", "manual")
"""evalMode parts, in the order Describe writes them ("rule,model")."""
MAX_OBJECTS = 5
"""Qianfan evaluates at most five objects in one task."""
MODEL_ID_PATTERN = r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"


ScoreMode = Literal["similarity", "accuracy"]
SCORE_MODES: tuple[ScoreMode, ...] = ("similarity", "accuracy")


class QianfanModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class Params(QianfanModel):
    """evalModelConfigList[].params: inference hyper-parameters."""

    temperature: float | None = Field(default=None, ge=0.01, le=1.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    penalty_score: float | None = Field(default=None, ge=1.0, le=2.0)
    system: str | None = Field(default=None, max_length=65536)
    top_k: int | None = Field(default=None, ge=1)
    stop: list[str] | None = Field(default=None, max_length=16)
    disable_search: bool | None = None
    enable_citation: bool | None = None


class EvalModel(QianfanModel):
    modelId: str = Field(min_length=1, max_length=63, pattern=MODEL_ID_PATTERN)
    promptTemplate: str | None = Field(default=None, max_length=65536)
    params: Params | None = None
    isBaseline: bool | None = None

    @field_validator("promptTemplate")
    @classmethod
    def _has_input(cls, value: str | None) -> str | None:
        if value and "{input}" not in value:
            raise ValueError("must contain {input}")
        return value


class EvalModelConfig(QianfanModel):
    versionId: str = Field(min_length=1, max_length=1024)
    storageType: Literal["BOS", "sysStorage"] = "sysStorage"
    storagePath: str | None = Field(default=None, max_length=1024)
    evalModelConfigList: list[EvalModel] = Field(min_length=1, max_length=MAX_OBJECTS)


class InferDataset(QianfanModel):
    inferDatasetId: str = Field(min_length=1, max_length=1024)
    isBaseline: bool | None = None


class EvalInferDatasetConfig(QianfanModel):
    evalInferDatasetConfigList: list[InferDataset] = Field(min_length=1, max_length=MAX_OBJECTS)


class EvalObjectConfig(QianfanModel):
    evalModelConfig: EvalModelConfig | None = None
    evalInferDatasetConfig: EvalInferDatasetConfig | None = None


class AutoRuleEvalConfig(QianfanModel):
    scoreModes: list[ScoreMode] = Field(
        default_factory=lambda: list(SCORE_MODES), min_length=1, max_length=2
    )
    stopWordList: list[str] | None = Field(default=None, max_length=10000)
    stopWordsPath: str | None = Field(default=None, max_length=1024)

    @field_validator("scoreModes")
    @classmethod
    def _unique(cls, value: list[ScoreMode]) -> list[ScoreMode]:
        if len(set(value)) != len(value):
            raise ValueError("must not repeat a mode")
        return value


class PromptParam(QianfanModel):
    metric: str | None = Field(default=None, max_length=4096)
    steps: str | None = Field(default=None, max_length=8192)
    maxScore: float | None = Field(default=None, gt=0, le=100)


class AutoModelEvalConfig(QianfanModel):
    apiName: str | None = Field(default=None, min_length=1, max_length=253)
    promptParam: PromptParam | None = None


class EvalDimension(QianfanModel):
    dimension: str = Field(min_length=1, max_length=63)
    description: str | None = Field(default=None, max_length=1024)


class ManualEvalConfig(QianfanModel):
    evalDimension: list[EvalDimension] = Field(default_factory=list, max_length=4)


class EvalConfig(QianfanModel):
    evalMode: str = Field(min_length=1, max_length=64)
    autoRuleEvalConfig: AutoRuleEvalConfig | None = None
    autoModelEvalConfig: AutoModelEvalConfig | None = None
    manualEvalConfig: ManualEvalConfig | None = None

    @field_validator("evalMode")
    @classmethod
    def _modes(cls, value: str) -> str:
        parts = [p.strip() for p in value.split(",")]
        if not all(p in MODES for p in parts) or len(set(parts)) != len(parts):
            raise ValueError(
                "must be rule, model, manual or a comma-separated combination such as rule,model"
            )
        return ",".join(parts)

    @property
    def modes(self) -> list[str]:
        parts = set(self.evalMode.split(","))
        return [m for m in MODES if m in parts]


class CreateEvalTask(QianfanModel):
    taskName: str = Field(min_length=1, max_length=253)
    description: str | None = Field(default=None, max_length=2048)
    evalObjectType: Literal["model", "inferDataset"]
    evalObjectConfig: EvalObjectConfig
    evalConfig: EvalConfig
    namespace: str | None = Field(default=None, min_length=1, max_length=63)
    """Not Qianfan's: the namespace to create the task in (default: the access key's
    ServiceAccount namespace, else the console's vendor namespace)."""


class DescribeEvalTasks(QianfanModel):
    evalType: Literal["manual", "auto"]
    keyFilter: str | None = Field(default=None, max_length=256)
    marker: str | None = Field(default=None, max_length=256)
    maxKeys: int | None = Field(default=None, ge=1)
    pageReverse: bool | None = None


class TaskId(QianfanModel):
    taskId: str = Field(min_length=1, max_length=256)
