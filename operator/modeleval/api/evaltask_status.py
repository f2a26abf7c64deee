"""Observed state of an EvalTask.

Ownership: the operator writes ``state``, ``conditions``, ``message``, times,
``observedGeneration``, ``target`` and ``jobs``; the runner writes ``percentage``,
``progress``, ``totalScore``, ``scores``, ``gsb``, ``performance``, ``inferenceResults``,
``droppedParameters``; ``manual`` is shared: the operator opens it (``dimensions``, ``pending:
true``), the console closes it (``pending: false``, ``completedBy``, ``completedAt``) and the
runner's manual phase adds the means (``scores``, ``annotatedItems``, ``items``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict, Field

from modeleval.api.common import ApiModel, Condition


class TaskState(StrEnum):
    """Qianfan task states."""

    QUEUED = "Queued"
    RUNNING = "Running"
    RUNNING_WITH_MANUAL_BEGIN = "RunningWithManualBegin"
    RUNNING_WITH_METRICS_CALCULATING = "RunningWithMetricsCalculating"
    SUCCEEDED = "Succeeded"
    STOPPING = "Stopping"
    FAILED = "Failed"
    STOPPED = "Stopped"


TERMINAL_STATES = frozenset({TaskState.SUCCEEDED, TaskState.FAILED, TaskState.STOPPED})


class StatusModel(ApiModel):
    model_config = ConfigDict(extra="ignore")


class Progress(StatusModel):
    """Live progress of the running phase."""

    phase: str | None = Field(default=None, description="inference, scoring or performance.")
    total: int | None = Field(default=None, description="Items to process.")
    processed: int | None = Field(default=None, description="Items finished (ok or failed).")
    succeeded: int | None = Field(default=None, description="Items answered.")
    failed: int | None = Field(default=None, description="Items that failed after retries.")
    items_per_second: float | None = Field(default=None, description="Recent throughput.")
    eta_seconds: float | None = Field(default=None, description="Estimated time left.")
    updated_at: datetime | None = Field(default=None, description="When this was written.")


class SubsetScores(StatusModel):
    """A benchmark's score over one subset (subject)."""

    name: str = Field(description="Subset (subject) name.")
    items: int | None = Field(default=None, description="Items scored.")
    scores: dict[str, float] | None = Field(
        default=None, description="Metric -> score over the items, 0–100."
    )
    category: str | None = Field(
        default=None, description="The category the subset counts towards."
    )


class CategoryScores(StatusModel):
    """A benchmark's score over one category of subsets."""

    name: str = Field(description="Category name.")
    items: int | None = Field(default=None, description="Items scored.")
    scores: dict[str, float] | None = Field(
        default=None, description="Metric -> score over the items, 0–100."
    )
    macro: dict[str, float] | None = Field(
        default=None, description="Metric -> mean of the category's subset scores, 0–100."
    )


class ModelScores(StatusModel):
    model: str = Field(description="Model name.")
    model_id: str | None = Field(
        default=None,
        description="Existing result sets: the deployed model that produced the set "
        "(spec.existingResults[].modelId).",
    )
    total_score: float | None = Field(default=None, description="The model's totalScore.")
    metrics: dict[str, float] | None = Field(
        default=None,
        description="Metric means, 0–100 (a benchmark: over all items, the micro average).",
    )
    macro: dict[str, float] | None = Field(
        default=None,
        description="Benchmarks: metric -> macro average, 0–100 (over subsets; EvalScope's "
        "C-Eval / CMMLU: over categories).",
    )
    subsets: list[SubsetScores] | None = Field(
        default=None, description="Benchmarks: scores per subject / subset."
    )
    categories: list[CategoryScores] | None = Field(
        default=None, description="Benchmarks: scores per category."
    )


class BenchmarkRun(StatusModel):
    """What a benchmark task ran, as scored."""

    name: str | None = Field(default=None, description="Benchmark name.")
    mode: str | None = Field(default=None, description="generate or loglikelihood.")
    few_shot: int | None = Field(default=None, description="Examples before each question.")
    metric: str | None = Field(default=None, description="The metric totalScore is.")
    reference: str | None = Field(
        default=None, description="The harness task reproduced (lm-eval / EvalScope)."
    )


class MetricFailures(StatusModel):
    """Failed items of one judged metric (judge, gsb) and the error budget they were held to."""

    metric: str = Field(description="judge (one judge call per answer) or gsb (per item).")
    total: int = Field(description="Items the metric was computed for.")
    failed: int = Field(
        description="Items that failed after retries (no reply, timeout, no trusted verdict)."
    )
    max_error_ratio: float | None = Field(
        default=None, description="The budget: scoring.judge.client.maxErrorRatio."
    )
    over_budget: bool = Field(
        default=False, description="More than maxErrorRatio failed: the task fails."
    )
    cause: str | None = Field(default=None, description="The most common failure cause.")
    cause_items: int | None = Field(default=None, description="Items failed with that cause.")


class Scores(StatusModel):
    metrics: dict[str, float] | None = Field(
        default=None, description="Metric means on a 0–100 scale."
    )
    per_model: list[ModelScores] | None = Field(default=None, description="Scores per model.")
    scored: int | None = Field(default=None, description="Items scored.")
    excluded: int | None = Field(
        default=None, description="Items excluded (judge failures, missing answers)."
    )
    definition: str | None = Field(default=None, description="How totalScore was computed.")
    benchmark: BenchmarkRun | None = Field(
        default=None, description="The benchmark run (benchmark tasks)."
    )
    failures: list[MetricFailures] | None = Field(
        default=None,
        description="Per judged metric: items failed of total, and the most common cause.",
    )


class GsbCounts(StatusModel):
    """Good / Same / Bad of the candidate against the baseline."""

    candidate: str | None = None
    baseline: str | None = None
    good: int = 0
    same: int = 0
    bad: int = 0
    failed: int = Field(
        default=0, description="Items whose judge calls failed (left out of G/S/B)."
    )
    flipped: int | None = Field(
        default=None,
        description="Of Same: items where the verdict followed the position (A first, A again).",
    )
    net_score: float | None = Field(default=None, description="(G − B) / (G + S + B).")


class LatencyStats(StatusModel):
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    mean: float | None = None


class PerformanceLevel(StatusModel):
    parallel: int
    requests: int | None = None
    succeeded: int | None = None
    success_rate: float | None = None
    requests_per_second: float | None = None
    output_tokens_per_second: float | None = None
    ttft_ms: LatencyStats | None = None
    inter_token_latency_ms: LatencyStats | None = None
    latency_ms: LatencyStats | None = None


class PerformanceResults(StatusModel):
    levels: list[PerformanceLevel] | None = None
    best_output_tokens_per_second: float | None = None


class InferenceResult(StatusModel):
    """Where one model's inference results are (Qianfan inferDatasetList)."""

    model: str = Field(description="Model name (modelId).")
    location: str | None = Field(default=None, description="Predictions file (inferDatasetId).")
    items: int | None = None
    failed: int | None = None
    truncated: int | None = Field(
        default=None,
        description="Answers cut off at the token limit (finish_reason length), this run.",
    )


class DroppedParameters(StatusModel):
    """Sampling parameters a model's requests went without, and why."""

    model: str = Field(description="Model name.")
    parameters: list[str] = Field(description="Request-body fields not sent, e.g. top_k.")
    reason: str = Field(
        description="The server flavour does not take them, or the server "
        "rejected them (its answer quoted)."
    )


class ManualStatus(StatusModel):
    """Manual evaluation: the operator opens it, the console closes it, the runner scores it."""

    dimensions: list[str] | None = Field(
        default=None, description="satisfaction + declared dimensions."
    )
    pending: bool | None = Field(
        default=None,
        description="Waiting for human annotation; the console sets false on completion.",
    )
    completed_by: str | None = Field(
        default=None, description="Who marked the annotation complete (console)."
    )
    completed_at: datetime | None = Field(default=None, description="When (console).")
    scores: dict[str, float] | None = Field(
        default=None, description="Mean per dimension over models, 0–100 (runner)."
    )
    annotated_items: int | None = Field(default=None, description="Items annotated (runner).")
    items: int | None = Field(default=None, description="Items in the task (runner).")


class ShardStatus(StatusModel):
    """One shard's own progress, written by its runner pod (``status.shards.<index>``); the
    operator folds every shard's entry into ``percentage``, ``progress`` and
    ``inferenceResults``."""

    shards: int | None = Field(default=None, description="The shard count it was written for.")
    phase: str | None = Field(default=None, description="inference or judging.")
    total: int | None = Field(default=None, description="The shard's items (x models).")
    processed: int | None = Field(default=None, description="Items finished (ok or failed).")
    succeeded: int | None = Field(default=None, description="Items answered.")
    failed: int | None = Field(default=None, description="Items that failed after retries.")
    items_per_second: float | None = Field(default=None, description="Recent throughput.")
    eta_seconds: float | None = Field(default=None, description="Estimated time left.")
    updated_at: datetime | None = Field(default=None, description="When this was written.")
    percentage: int | None = Field(default=None, ge=0, le=100, description="Shard progress.")
    pod: str | None = Field(default=None, description="The runner pod that wrote it.")
    error: str | None = Field(default=None, description="The shard's most common error.")
    inference_results: list[InferenceResult] | None = Field(
        default=None, description="The shard's predictions per model."
    )
    dropped_parameters: list[DroppedParameters] | None = Field(
        default=None, description="Parameters the shard's requests went without."
    )


class JobRefs(StatusModel):
    """The phase Jobs of the task."""

    inference: str | None = Field(default=None, description="The inference Job.")
    judging: str | None = Field(
        default=None, description="The judge Job of a sharded task (judge calls by shard)."
    )
    scoring: str | None = Field(default=None, description="The scoring Job.")
    performance: str | None = Field(default=None, description="The performance-test Job.")
    manual: str | None = Field(
        default=None, description="The Job that scores the manual annotations."
    )


class EvalTaskStatus(StatusModel):
    """Observed state of an evaluation run."""

    state: TaskState | None = Field(default=None, description="Queued … Succeeded (Qianfan state).")
    eval_type: str | None = Field(default=None, description="auto or manual (Qianfan evalType).")
    percentage: int | None = Field(default=None, ge=0, le=100, description="Progress, 0–100.")
    total_score: float | None = Field(default=None, description="Headline score (totalScore).")
    target: str | None = Field(default=None, description="What is evaluated, for kubectl.")
    message: str | None = Field(default=None, description="What is happening or went wrong.")
    progress: Progress | None = None
    scores: Scores | None = None
    gsb: GsbCounts | None = None
    performance: PerformanceResults | None = None
    inference_results: list[InferenceResult] | None = Field(
        default=None, description="Per-model inference results (inferDatasetList)."
    )
    dropped_parameters: list[DroppedParameters] | None = Field(
        default=None,
        description="Generation parameters left out of the requests (each also an Event).",
    )
    manual: ManualStatus | None = None
    shards: dict[str, ShardStatus] | None = Field(
        default=None,
        description="Per-shard progress of a sharded phase, by shard index (written by each "
        "shard's runner pod; folded by the operator into percentage and progress).",
    )
    results_location: str | None = Field(
        default=None, description="Export location (exportPath/storagePath)."
    )
    jobs: JobRefs | None = None
    service_group: str | None = Field(
        default=None, description="Group that created this task (modelServiceGroupUuid)."
    )
    start_time: datetime | None = None
    end_time: datetime | None = Field(default=None, description="When it ended (endTime).")
    last_update_time: datetime | None = Field(
        default=None, description="Last change (updateTime / lastOpDate)."
    )
    conditions: list[Condition] | None = None
    observed_generation: int | None = None
