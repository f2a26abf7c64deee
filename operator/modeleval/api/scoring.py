"""How an EvalTask scores answers (Qianfan evalConfig): rules, a judge model, GSB, manual."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from modeleval.api.common import ApiModel, ClientSettings, Rule, has
from modeleval.api.datasets import ConfigMapSource, PvcSource
from modeleval.api.targets import JudgeEndpoint, ServiceGroupRef


class ScoringMode(StrEnum):
    """Qianfan evalMode: rule | model | manual ("rule,model" = both)."""

    RULE = "rule"
    MODEL = "model"
    MANUAL = "manual"


class ScoreMode(StrEnum):
    """Rule scoring modes (autoRuleEvalConfig.scoreModes)."""

    SIMILARITY = "similarity"
    ACCURACY = "accuracy"


class SimilarityMetric(StrEnum):
    ROUGE_L = "rougeL"
    BLEU = "bleu"
    EDIT_DISTANCE = "editDistance"


class AccuracyMatch(StrEnum):
    EXACT = "exact"
    CONTAINS = "contains"
    CHOICE = "choice"


class Normalization(ApiModel):
    """Text normalisation before comparison."""

    lowercase: bool = Field(default=True, description="Ignore case.")
    whitespace: bool = Field(default=True, description="Collapse and trim whitespace.")
    punctuation: bool = Field(default=True, description="Remove punctuation (ASCII and CJK).")
    full_width: bool = Field(default=True, description="Fold full-width characters (NFKC).")


class StopWordsFrom(ApiModel):
    __rules__ = (
        Rule(
            cel="has(self.configMap) != has(self.pvc)",
            message="set exactly one of configMap or pvc",
            check=lambda s: has(s.config_map) != has(s.pvc),
        ),
    )

    config_map: ConfigMapSource | None = Field(default=None, description="File in a ConfigMap.")
    pvc: PvcSource | None = Field(default=None, description="File on a PVC.")


class RuleScoring(ApiModel):
    """Rule-based scoring (autoRuleEvalConfig)."""

    score_modes: list[ScoreMode] = Field(
        default_factory=lambda: [ScoreMode.SIMILARITY, ScoreMode.ACCURACY],
        min_length=1,
        max_length=2,
        description="similarity and/or accuracy.",
    )
    similarity_metrics: list[SimilarityMetric] | None = Field(
        default=None,
        max_length=3,
        description="Similarity metrics; default rougeL, bleu, editDistance.",
    )
    accuracy_match: AccuracyMatch = Field(
        default=AccuracyMatch.EXACT,
        description="exact (normalised), contains (answer contains target), choice (A/B/C/D).",
    )
    normalization: Normalization | None = Field(default=None, description="Normalisation.")
    stop_word_list: list[str] | None = Field(
        default=None, max_length=10000, description="Stop words removed before scoring."
    )
    stop_words_path: str | None = Field(
        default=None, description="Path of a stop-word file inside the results volume."
    )
    stop_words_from: StopWordsFrom | None = Field(
        default=None, description="Stop-word file in a ConfigMap or on a PVC."
    )


class JudgePromptParam(ApiModel):
    """Fills the judge prompt's {metric}, {steps} and {max_score} (promptParam)."""

    metric: str | None = Field(
        default=None, max_length=4096, description="What is judged; replaces {metric}."
    )
    steps: str | None = Field(
        default=None, max_length=8192, description="Scoring steps; replace {steps}."
    )
    max_score: float = Field(
        default=5, gt=0, le=100, description="Highest score; replaces {max_score}."
    )


class JudgeScoring(ApiModel):
    """Judge-model scoring (autoModelEvalConfig)."""

    __rules__ = (
        Rule(
            cel="has(self.serviceGroupRef) != has(self.endpoint)",
            message="judge needs exactly one of serviceGroupRef or endpoint",
            check=lambda s: has(s.service_group_ref) != has(s.endpoint),
        ),
        Rule(
            cel="!has(self.promptTemplate) || self.promptTemplate.contains('{answer}')",
            message="judge promptTemplate must contain {answer}",
            check=lambda s: s.prompt_template is None or "{answer}" in s.prompt_template,
            field_path=".promptTemplate",
        ),
    )

    api_name: str | None = Field(
        default=None, max_length=253, description="Judge name (apiName), recorded with scores."
    )
    service_group_ref: ServiceGroupRef | None = Field(
        default=None, description="Judge served by a ModelEvalServiceGroup."
    )
    endpoint: JudgeEndpoint | None = Field(default=None, description="External judge endpoint.")
    prompt_param: JudgePromptParam | None = Field(default=None, description="promptParam.")
    prompt_template: str | None = Field(
        default=None,
        description="Judge prompt; placeholders {metric} {steps} {max_score} {question} "
        "{reference} {answer}. Default: a built-in bilingual prompt.",
    )
    client: ClientSettings | None = Field(
        default=None, description="Judge concurrency, timeouts, retries."
    )


class PairwiseScoring(ApiModel):
    """GSB (Good / Same / Bad) comparison of two models against a baseline by the judge."""

    enabled: bool = Field(default=True, description="Compare the two models pairwise.")
    swap_positions: bool = Field(
        default=True, description="Judge each pair twice with positions swapped."
    )


class ManualDimension(ApiModel):
    dimension: str = Field(min_length=1, max_length=63, description="Dimension name.")
    description: str | None = Field(
        default=None, max_length=1024, description="What annotators judge."
    )


class ManualScoring(ApiModel):
    """Human annotation dimensions (manualEvalConfig); satisfaction is always present."""

    eval_dimension: list[ManualDimension] = Field(
        default_factory=list,
        max_length=4,
        description="Up to 4 dimensions besides the built-in satisfaction.",
    )


class ScoringSpec(ApiModel):
    """Qianfan evalConfig."""

    __rules__ = (
        Rule(
            cel="!self.modes.exists(m, m == 'model') || has(self.judge)",
            message="judge settings are required when modes contains model",
            check=lambda s: "model" not in s.modes or has(s.judge),
            field_path=".judge",
        ),
        Rule(
            cel="!has(self.pairwise) || !self.pairwise.enabled || has(self.judge)",
            message="pairwise (GSB) scoring needs judge settings",
            check=lambda s: s.pairwise is None or not s.pairwise.enabled or has(s.judge),
            field_path=".judge",
        ),
        Rule(
            cel="self.modes.all(m, self.modes.filter(o, o == m).size() == 1)",
            message="modes must not repeat",
            check=lambda s: len(set(s.modes)) == len(s.modes),
            field_path=".modes",
        ),
    )

    modes: list[ScoringMode] = Field(
        default_factory=lambda: [ScoringMode.RULE],
        min_length=1,
        max_length=3,
        description='Qianfan evalMode: rule, model, manual ("rule,model" = [rule, model]).',
    )
    rule: RuleScoring | None = Field(default=None, description="autoRuleEvalConfig.")
    judge: JudgeScoring | None = Field(default=None, description="autoModelEvalConfig.")
    pairwise: PairwiseScoring | None = Field(default=None, description="GSB comparison.")
    manual: ManualScoring | None = Field(default=None, description="manualEvalConfig.")
    weights: dict[str, float] | None = Field(
        default=None,
        description="Weight per metric in totalScore (accuracy, rougeL, bleu, editDistance, "
        "judge, gsb); default equal weights over the enabled metrics.",
    )
