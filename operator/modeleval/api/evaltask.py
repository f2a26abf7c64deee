"""``EvalTask``: one evaluation run (Qianfan DescribeEvalTask; ZStack task)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from modeleval.api.benchmarks import BenchmarkSpec
from modeleval.api.common import (
    ApiModel,
    ClientSettings,
    GenerationParams,
    ObjectMetaLite,
    ObjectName,
    Quantity,
    Rule,
    has,
)
from modeleval.api.datasets import DatasetSpec, ExistingResults, ResultsStorage
from modeleval.api.evaltask_status import EvalTaskStatus
from modeleval.api.scoring import ScoringSpec
from modeleval.api.servicegroup import TaskType, Toleration
from modeleval.api.targets import PROMPT_RULE, ModelTarget

_BASELINES = "size(self.models.filter(m, has(m.isBaseline) && m.isBaseline))"
_PAIRWISE_ON = "(has(self.scoring) && has(self.scoring.pairwise) && self.scoring.pairwise.enabled)"
_RESULT_BASELINES = "size(self.existingResults.filter(r, has(r.isBaseline) && r.isBaseline))"


def _pairwise_on(spec: EvalTaskSpec) -> bool:
    return bool(spec.scoring and spec.scoring.pairwise and spec.scoring.pairwise.enabled)


def _no_prompt_template(spec: EvalTaskSpec) -> bool:
    inference = spec.inference
    if inference is not None and inference.prompt_template is not None:
        return False
    params = inference.params if inference is not None else None
    if params is not None and params.system is not None:
        return False
    return all(
        m.prompt_template is None and (m.params is None or m.params.system is None)
        for m in spec.models or []
    )


def _count_baselines(items: list[ModelTarget] | list[ExistingResults]) -> int:
    return sum(1 for item in items if item.is_baseline)


class InferenceSettings(ApiModel):
    """How prompts are built and sent (the generation and client fields of the sources)."""

    __rules__ = (PROMPT_RULE,)

    prompt_template: str | None = Field(
        default=None,
        max_length=65536,
        description="Prompt template (prompt / promptTemplate): {input} is the item's input, "
        "{column} any other column of the dataset row (a row without it fails the task naming "
        "its line), {{ and }} literal braces; must contain {input}.",
    )
    system_prompt: str | None = Field(
        default=None, max_length=65536, description="System message sent before the prompt."
    )
    params: GenerationParams | None = Field(
        default=None, description="Generation parameters (params)."
    )
    client: ClientSettings | None = Field(
        default=None,
        description="parallel, logEveryQuery, connect/read timeouts, retries, error budget.",
    )


class PerformanceSettings(ApiModel):
    """A load test of the endpoint (taskType Performance; EvalScope perf mode)."""

    parallel: list[int] = Field(
        default_factory=lambda: [1],
        min_length=1,
        max_length=16,
        description="Concurrency levels to sweep (each >= 1).",
    )
    requests_per_level: int | None = Field(
        default=None, ge=1, description="Requests per level (default: the task's limits or 100)."
    )
    duration_seconds: int | None = Field(
        default=None, ge=1, description="Run each level for this long instead of a count."
    )
    synthetic_input_tokens: int | None = Field(
        default=None, ge=1, description="Use synthetic prompts of about this many tokens."
    )
    output_tokens: int | None = Field(
        default=None, ge=1, description="Ask for this many output tokens."
    )
    latency_budget_ms: float | None = Field(
        default=None,
        gt=0,
        description="p90 end-to-end latency budget, ms; totalScore is the best output tokens/s "
        "among the levels within it.",
    )
    stream: bool = Field(default=True, description="Stream responses to measure TTFT and ITL.")

    __rules__ = (
        Rule(
            cel="self.parallel.all(p, p >= 1)",
            message="every parallel level must be >= 1",
            check=lambda s: all(p >= 1 for p in s.parallel),
            field_path=".parallel",
        ),
    )


class RunnerSettings(ApiModel):
    """The Jobs that run inference and scoring."""

    image: str | None = Field(
        default=None, description="Runner image (default: the operator's setting)."
    )
    cpu: Quantity | None = Field(
        default=None,
        description="CPU request (and limit, where the operator limits runner CPU).",
    )
    memory: Quantity | None = Field(default=None, description="Memory request and limit.")
    active_deadline_seconds: int | None = Field(
        default=None, ge=1, description="Kill a phase Job running longer than this."
    )
    backoff_limit: int = Field(
        default=3,
        ge=0,
        le=20,
        description="Pod retries per Job, per shard when sharded (resumes from the checkpoint).",
    )
    shards: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="Split inference (and judge scoring) into this many shards run side by "
        "side as one Indexed Job: shard k takes the items at dataset positions p with "
        "p mod shards = k, keeps its own checkpoint and is retried on its own; scoring merges "
        "them in dataset order (the same results as one shard). Default 1: one pod. Each "
        "shard sends every model its own `parallel` requests at a time.",
    )
    queue_name: str | None = Field(
        default=None,
        max_length=63,
        description="Kueue LocalQueue: Jobs are created suspended with the queue label.",
    )
    node_selector: dict[str, str] | None = Field(
        default=None, description="Node selector of runner pods."
    )
    tolerations: list[Toleration] | None = Field(
        default=None, description="Tolerations of runner pods."
    )


class EvalTaskSpec(ApiModel):
    """Desired state of an evaluation."""

    __rules__ = (
        Rule(
            cel="has(self.models) != has(self.existingResults)",
            message="set exactly one of models (run inference) or existingResults "
            "(score existing inference results)",
            check=lambda s: has(s.models) != has(s.existing_results),
        ),
        Rule(
            cel="!has(self.models) || has(self.dataset) || has(self.benchmark)",
            message="models need a dataset or a benchmark",
            check=lambda s: s.models is None or has(s.dataset) or has(s.benchmark),
            field_path=".dataset",
        ),
        Rule(
            cel="!has(self.benchmark) || !has(self.dataset)",
            message="set at most one of dataset or benchmark",
            check=lambda s: not (has(s.benchmark) and has(s.dataset)),
            field_path=".benchmark",
        ),
        Rule(
            cel="!has(self.benchmark) || (has(self.models) && self.type != 'Performance')",
            message="a benchmark needs models and a Quality task",
            check=lambda s: not has(s.benchmark) or (has(s.models) and s.type != "Performance"),
            field_path=".benchmark",
        ),
        Rule(
            cel="!has(self.benchmark) || !has(self.scoring)",
            message="a benchmark is scored by its own metrics: remove scoring",
            check=lambda s: not (has(s.benchmark) and has(s.scoring)),
            field_path=".scoring",
        ),
        Rule(
            cel="!has(self.benchmark) || ((!has(self.inference) || "
            "(!has(self.inference.promptTemplate) && (!has(self.inference.params) || "
            "!has(self.inference.params.system)))) && (!has(self.models) || "
            "self.models.all(m, !has(m.promptTemplate) && (!has(m.params) || "
            "!has(m.params.system)))))",
            message="a benchmark renders its own prompts: remove promptTemplate and params.system "
            "(inference.systemPrompt is its system instruction)",
            check=lambda s: not has(s.benchmark) or _no_prompt_template(s),
            field_path=".benchmark",
        ),
        Rule(
            cel=f"!{_PAIRWISE_ON} || !has(self.models) || "
            f"(size(self.models) == 2 && {_BASELINES} == 1)",
            message="pairwise (GSB) needs exactly two models, exactly one isBaseline",
            check=lambda s: (
                not _pairwise_on(s)
                or s.models is None
                or (len(s.models) == 2 and _count_baselines(s.models) == 1)
            ),
            field_path=".models",
        ),
        Rule(
            cel=f"!{_PAIRWISE_ON} || !has(self.existingResults) || "
            f"(size(self.existingResults) == 2 && {_RESULT_BASELINES} == 1)",
            message="pairwise (GSB) needs exactly two result sets, exactly one isBaseline",
            check=lambda s: (
                not _pairwise_on(s)
                or s.existing_results is None
                or (len(s.existing_results) == 2 and _count_baselines(s.existing_results) == 1)
            ),
            field_path=".existingResults",
        ),
        Rule(
            cel="!has(self.models) || "
            "self.models.all(m, self.models.filter(o, o.name == m.name).size() == 1)",
            message="model names must be unique",
            check=lambda s: s.models is None or len({m.name for m in s.models}) == len(s.models),
            field_path=".models",
        ),
        Rule(
            cel="self.type != 'Performance' || has(self.models)",
            message="a Performance task needs models",
            check=lambda s: s.type != "Performance" or has(s.models),
        ),
    )

    description: str | None = Field(
        default=None, max_length=2048, description="Free text (description)."
    )
    display_name: str | None = Field(
        default=None, max_length=253, description="Human-readable name (taskName)."
    )
    opaque: str | None = Field(
        default=None,
        max_length=65536,
        description="Free-form extension data kept with the task (opaque).",
    )
    type: TaskType = Field(
        default=TaskType.QUALITY, description="Quality or Performance (taskType)."
    )
    suspend: bool = Field(
        default=False, description="Stop the task, keeping results; false again resumes."
    )
    models: list[ModelTarget] | None = Field(
        default=None,
        min_length=1,
        max_length=8,
        description="What to evaluate (evalModelConfigList; ZStack model/url/api).",
    )
    existing_results: list[ExistingResults] | None = Field(
        default=None,
        min_length=1,
        max_length=8,
        description="Score existing inference results instead (evalInferDatasetConfigList).",
    )
    dataset: DatasetSpec | None = Field(
        default=None, description="Evaluation data (datasetUuid / versionId)."
    )
    benchmark: BenchmarkSpec | None = Field(
        default=None,
        description="A standard benchmark (MMLU, C-Eval, GSM8K...) instead of a dataset.",
    )
    limits: int | None = Field(
        default=None,
        ge=1,
        description="Use only the first N items (limits); with a benchmark, of each subset.",
    )
    inference: InferenceSettings | None = Field(
        default=None, description="Prompt, params, client settings."
    )
    scoring: ScoringSpec | None = Field(default=None, description="evalConfig.")
    performance: PerformanceSettings | None = Field(default=None, description="Load-test settings.")
    results: ResultsStorage | None = Field(
        default=None, description="Where results go (storageType / storagePath)."
    )
    runner: RunnerSettings | None = Field(default=None, description="Runner Jobs.")


class EvalTask(ApiModel):
    """An evaluation run."""

    model_config = ConfigDict(extra="ignore")

    api_version: Literal["modeleval.io/v1alpha1"] = "modeleval.io/v1alpha1"
    kind: Literal["EvalTask"] = "EvalTask"
    metadata: ObjectMetaLite = Field(default_factory=ObjectMetaLite)
    spec: EvalTaskSpec
    status: EvalTaskStatus | None = None


__all__ = [
    "EvalTask",
    "EvalTaskSpec",
    "InferenceSettings",
    "ObjectName",
    "PerformanceSettings",
    "RunnerSettings",
]
