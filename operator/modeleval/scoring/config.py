"""Scoring configuration: the Qianfan ``evalConfig`` vocabulary in camelCase, plus our knobs.

``ScoringConfig.model_validate(spec["evalConfig"])`` reads the same field names the EvalTask
uses (``evalMode``, ``autoRuleEvalConfig``, ``autoModelEvalConfig``, ``manualEvalConfig``);
snake_case names are accepted too. Unknown fields are ignored so the EvalTask schema can grow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from modeleval.scoring.text import Normalization

EvalMode = Literal["rule", "model", "manual"]
ScoreMode = Literal["similarity", "accuracy"]
SimilarityMetric = Literal["rougeL", "bleu", "editDistance"]
AccuracyMatch = Literal["exact", "contains", "choice"]

ALL_SCORE_MODES: tuple[ScoreMode, ...] = ("accuracy", "similarity")
ALL_SIMILARITY_METRICS: tuple[SimilarityMetric, ...] = ("rougeL", "bleu", "editDistance")
DEFAULT_EVAL_MODES: tuple[EvalMode, ...] = ("rule",)

SATISFACTION = "satisfaction"
MAX_EXTRA_DIMENSIONS = 4


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: object) -> object:
        # task.json may carry explicit nulls for unset optional fields: use the defaults.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


def _names(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class NormalizationConfig(_Model):
    """Which differences the accuracy metric ignores (all on by default)."""

    lowercase: bool = True
    collapse_whitespace: bool = Field(
        True, validation_alias=_names("collapseWhitespace", "whitespace", "collapse_whitespace")
    )
    remove_punctuation: bool = Field(
        True, validation_alias=_names("removePunctuation", "punctuation", "remove_punctuation")
    )
    nfkc: bool = Field(
        True,
        validation_alias=_names("nfkc", "fullWidth", "full_width"),
        description="Full-width to half-width (Unicode NFKC).",
    )

    def build(self) -> Normalization:
        return Normalization(
            lowercase=self.lowercase,
            collapse_whitespace=self.collapse_whitespace,
            remove_punctuation=self.remove_punctuation,
            nfkc=self.nfkc,
        )


class RuleConfig(_Model):
    """``autoRuleEvalConfig``: rule-based metrics."""

    score_modes: list[ScoreMode] = Field(default_factory=lambda: list(ALL_SCORE_MODES))
    stop_word_list: list[str] = Field(default_factory=list)
    stop_words_path: str | None = Field(
        None, description="File with one stop word per line (e.g. a mounted ConfigMap key)."
    )
    accuracy_match: AccuracyMatch = Field(
        "exact",
        description="exact: normalised equality; contains: the answer contains the target; "
        "choice: the extracted option letters (A/B/C/D) are equal.",
    )
    choices: str = Field("ABCD", description="Option letters for accuracyMatch=choice.")
    normalization: NormalizationConfig = Field(default_factory=NormalizationConfig)
    similarity_metrics: list[SimilarityMetric] = Field(
        default_factory=lambda: list(ALL_SIMILARITY_METRICS)
    )


DEFAULT_JUDGE_PROMPT = """\
你是一名严格、公正的评测专家。请根据评价指标和评分步骤，对模型回答进行打分。
You are a strict and impartial evaluator. Score the model's answer using the metric and steps.

评价指标 / Metric: {metric}
评分步骤 / Steps: {steps}
分值范围 / Score range: 0 - {max_score}

[问题 / Question]
{question}

[参考答案 / Reference]
{reference}

[模型回答 / Answer]
{answer}

先简要说明理由，最后单独一行严格按此格式给出分数（N 为 0 到 {max_score} 之间的数）：评分: N
Explain briefly first. Then end with one line in exactly this format, N a number from 0 to \
{max_score}: Score: N
"""

DEFAULT_PAIRWISE_PROMPT = """\
你是一名严格、公正的评测专家。请比较两个模型对同一问题的回答，判断哪个更好。
You are a strict and impartial evaluator. Compare two answers to the same question.
回答的先后顺序和长短不应影响判断 / The order and the length of the answers must not \
influence you.

评价指标 / Metric: {metric}
评分步骤 / Steps: {steps}

[问题 / Question]
{question}

[参考答案 / Reference]
{reference}

[回答 A / Answer A]
{answer_a}

[回答 B / Answer B]
{answer_b}

先简要比较，最后单独一行只写裁决 / Compare briefly first. Then end with one line holding \
only your verdict: [[A]] if answer A is better, [[B]] if answer B is better, [[C]] for a tie.
"""
"""The last line lists all three verdicts, so a judge that repeats the prompt is caught twice:
it repeats the prompt's text, and it names three different verdicts."""


class JudgeConfig(_Model):
    """``autoModelEvalConfig``: a judge model scores every answer (and GSB comparisons)."""

    api_name: str | None = Field(None, description="Which judge (model name sent to the API).")
    metric: str = "综合质量 / overall quality"
    steps: str = (
        "1. 对照参考答案检查回答是否正确 / check correctness against the reference; "
        "2. 检查是否完整、相关、清晰 / check completeness, relevance and clarity; "
        "3. 给出分数 / give the score."
    )
    max_score: float = Field(5, gt=0)
    prompt_template: str = DEFAULT_JUDGE_PROMPT
    pairwise_prompt_template: str = DEFAULT_PAIRWISE_PROMPT
    concurrency: int = Field(8, ge=1, description="Judge calls in flight at once.")
    log_every: int = Field(100, ge=1, description="Log the judge's progress every this many calls.")
    timeout_seconds: float = Field(60.0, gt=0, description="Per judge call.")
    retries: int = Field(2, ge=0, description="Extra attempts per item after a failure.")
    retry_backoff_seconds: float = Field(1.0, ge=0, description="Doubles on every retry.")
    max_error_ratio: float = Field(
        0.1,
        ge=0,
        le=1,
        description="A judged metric (judge, gsb) with more than this share of failed items "
        "fails the task; fewer mark it degraded (modeleval.scoring.failures).",
    )

    @model_validator(mode="before")
    @classmethod
    def _flatten_nested(cls, data: object) -> object:
        # Qianfan nests metric/steps/maxScore under promptParam; the EvalTask API puts the
        # judge's concurrency, progress log, timeout, retries and error budget under client
        # (parallel, logEveryQuery, readTimeoutSeconds, maxRetries, maxErrorRatio; the connect
        # timeout goes to the HTTP judge itself: modeleval.runner.score.judge_from_task).
        if not isinstance(data, dict):
            return data
        data = dict(data)
        params = data.pop("promptParam", None)
        if isinstance(params, dict):
            data.update({k: v for k, v in params.items() if v is not None})
        client = data.pop("client", None)
        if isinstance(client, dict):
            for source, target in _CLIENT_FIELDS.items():
                if client.get(source) is not None:
                    data.setdefault(target, client[source])
        return data


_CLIENT_FIELDS = {
    "parallel": "concurrency",
    "logEveryQuery": "logEvery",
    "requestTimeoutSeconds": "timeoutSeconds",  # the whole call; before the read timeout
    "readTimeoutSeconds": "timeoutSeconds",
    "maxRetries": "retries",
    "maxErrorRatio": "maxErrorRatio",
}


class PairwiseConfig(_Model):
    """GSB comparison of a candidate against the baseline model, judged by the judge."""

    enabled: bool | None = Field(
        None,
        description="None: on when evalMode has 'model' and a baseline is set.",
    )
    swap_positions: bool = Field(True, description="Judge each pair in both orders.")


class ManualDimension(_Model):
    dimension: str
    description: str = ""


class ManualConfig(_Model):
    """``manualEvalConfig``: dimensions humans score later; satisfaction is always first."""

    eval_dimension: list[ManualDimension] = Field(default_factory=list, validate_default=True)

    @field_validator("eval_dimension")
    @classmethod
    def _satisfaction_first(cls, dims: list[ManualDimension]) -> list[ManualDimension]:
        extra = [d for d in dims if d.dimension != SATISFACTION]
        if len(extra) > MAX_EXTRA_DIMENSIONS:
            raise ValueError(
                f"at most {MAX_EXTRA_DIMENSIONS} dimensions besides satisfaction, got {len(extra)}"
            )
        given = next((d for d in dims if d.dimension == SATISFACTION), None)
        first = given or ManualDimension(dimension=SATISFACTION, description="总体满意度")
        return [first, *extra]


class ScoringConfig(_Model):
    """Everything the scoring phase needs to know, read from the EvalTask's ``evalConfig``."""

    eval_mode: list[EvalMode] = Field(
        default_factory=lambda: list(DEFAULT_EVAL_MODES),
        validation_alias=_names("evalMode", "modes", "eval_mode"),
    )
    auto_rule_eval_config: RuleConfig = Field(
        default_factory=RuleConfig,
        validation_alias=_names("autoRuleEvalConfig", "rule", "auto_rule_eval_config"),
    )
    auto_model_eval_config: JudgeConfig = Field(
        default_factory=JudgeConfig,
        validation_alias=_names("autoModelEvalConfig", "judge", "auto_model_eval_config"),
    )
    manual_eval_config: ManualConfig = Field(
        default_factory=ManualConfig,
        validation_alias=_names("manualEvalConfig", "manual", "manual_eval_config"),
    )
    pairwise: PairwiseConfig = Field(default_factory=PairwiseConfig)
    baseline: str | None = Field(
        None,
        description="Name of the baseline model (the one with isBaseline). With two models and "
        "evalMode containing 'model', the judge also runs the GSB pairwise comparison.",
    )
    model_ids: dict[str, str] = Field(
        default_factory=dict,
        description="Result set name -> the deployed model that produced it "
        "(spec.existingResults[].modelId); written beside the name in the summary, the status "
        "and the report.",
    )
    weights: dict[str, float] = Field(
        default_factory=dict,
        description="Weight of a metric in totalScore (accuracy, rougeL, bleu, editDistance, "
        "judge, gsb). Defaults: see modeleval.scoring.aggregate.",
    )
    worst_items: int = Field(20, ge=0, description="Rows in the report's worst-items table.")

    @field_validator("eval_mode", mode="before")
    @classmethod
    def _split_modes(cls, value: object) -> object:
        # Qianfan writes the combined mode as one string: "rule,model".
        if isinstance(value, str):
            return [m.strip() for m in value.split(",") if m.strip()]
        return value

    @property
    def rule(self) -> RuleConfig:
        return self.auto_rule_eval_config

    @property
    def judge(self) -> JudgeConfig:
        return self.auto_model_eval_config

    @property
    def manual(self) -> ManualConfig:
        return self.manual_eval_config

    def enabled(self, mode: EvalMode) -> bool:
        return mode in self.eval_mode

    @property
    def pairwise_enabled(self) -> bool:
        """Whether GSB runs: explicitly enabled, or judge mode with a baseline."""
        if self.pairwise.enabled is not None:
            return self.pairwise.enabled
        return self.enabled("model") and self.baseline is not None

    @classmethod
    def from_task_spec(cls, spec: Mapping[str, Any]) -> ScoringConfig:
        """From an EvalTask ``spec`` (camelCase, as in task.json): ``spec.scoring`` plus the
        baseline named by ``isBaseline`` in ``spec.models`` or ``spec.existingResults`` and the
        ``modelId`` of each existing result set."""
        scoring = dict(spec.get("scoring") or {})
        targets = spec.get("models") or spec.get("existingResults") or []
        baseline = next((t.get("name") for t in targets if t.get("isBaseline")), None)
        if baseline is not None:
            scoring.setdefault("baseline", baseline)
        ids = {
            str(t["name"]): str(t["modelId"])
            for t in spec.get("existingResults") or []
            if t.get("name") and t.get("modelId")
        }
        if ids:
            scoring.setdefault("modelIds", ids)
        return cls.model_validate(scoring)
