"""``spec.benchmark``: evaluate on a standard benchmark instead of a dataset of one's own.

The benchmarks themselves (prompts, few-shot, extraction, metrics) are data in
``modeleval.benchmarks``; this model names one and says where its files are. The names and
which modes each has are repeated here (the API layer imports no library);
``tests/unit/api/test_benchmark_spec.py`` keeps both in step.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from modeleval.api.common import ApiModel, Rule, SecretKeySelector, has
from modeleval.api.datasets import PvcSource, S3Source


class BenchmarkName(StrEnum):
    MMLU = "mmlu"
    CMMLU = "cmmlu"
    CEVAL = "ceval"
    GSM8K = "gsm8k"
    GSM8K_COT = "gsm8k_cot"
    ARC_CHALLENGE = "arc_challenge"
    HELLASWAG = "hellaswag"


class BenchmarkMode(StrEnum):
    GENERATE = "generate"
    """The model writes an answer (chat or completions); the letter or number is extracted."""
    LOGLIKELIHOOD = "loglikelihood"
    """Each choice is scored by its log-probability (a completions endpoint with ``echo`` and
    ``logprobs``, as vLLM serves)."""


GENERATE_ONLY = (BenchmarkName.GSM8K, BenchmarkName.GSM8K_COT)
LOGLIKELIHOOD_ONLY = (BenchmarkName.HELLASWAG,)


def _mode_allowed(spec: BenchmarkSpec) -> bool:
    if spec.mode is None:
        return True
    if spec.name in GENERATE_ONLY:
        return spec.mode == BenchmarkMode.GENERATE
    if spec.name in LOGLIKELIHOOD_ONLY:
        return spec.mode == BenchmarkMode.LOGLIKELIHOOD
    return True


class HubSource(ApiModel):
    """The Hugging Face Hub (or a mirror of it), read over HTTPS by the inference Job."""

    endpoint: str = Field(
        default="https://huggingface.co",
        pattern=r"^https?://",
        description="Hub URL; a mirror with the same API also works (e.g. https://hf-mirror.com).",
    )
    repo: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][\w.-]*/[\w.-]+$",
        description="Dataset repository to read instead of the benchmark's own (a copy with the "
        "same files).",
    )
    revision: str | None = Field(
        default=None,
        max_length=255,
        description="Branch, tag or commit (default: the benchmark's: main, or "
        "refs/convert/parquet for CMMLU and HellaSwag).",
    )
    token_secret_ref: SecretKeySelector | None = Field(
        default=None, description="Secret key holding a Hub token (gated or private copies)."
    )


class MirrorPvc(PvcSource):
    """A mirror (``modeleval benchmarks mirror``) on a PersistentVolumeClaim."""

    path: str = Field(
        default="/",
        description="The mirror's folder inside the volume; it holds <owner>/<name>/<file path>.",
    )


class MirrorS3(S3Source):
    """A mirror (``modeleval benchmarks mirror``) in an S3-compatible bucket."""

    url: str = Field(
        pattern=r"^s3://[^/]+(/.*)?$",
        description="s3://bucket/prefix of the mirror; it holds <owner>/<name>/<file path>.",
    )


class BenchmarkSource(ApiModel):
    """Where the benchmark's files are: the Hub (online) or a mirror (air-gapped)."""

    __rules__ = (
        Rule(
            cel="(has(self.hub) ? 1 : 0) + (has(self.pvc) ? 1 : 0) + (has(self.s3) ? 1 : 0) == 1",
            message="set exactly one of hub, pvc, s3",
            check=lambda s: sum(has(v) for v in (s.hub, s.pvc, s.s3)) == 1,
        ),
    )

    hub: HubSource | None = Field(default=None, description="Read from the Hub.")
    pvc: MirrorPvc | None = Field(default=None, description="Read a mirror on a PVC.")
    s3: MirrorS3 | None = Field(default=None, description="Read a mirror in a bucket.")


class BenchmarkSpec(ApiModel):
    """A standard benchmark, scored like its reference harness (docs/standard-benchmarks.md)."""

    __rules__ = (
        Rule(
            cel="!has(self.mode) || !("
            "((self.name == 'gsm8k' || self.name == 'gsm8k_cot') && self.mode != 'generate') || "
            "(self.name == 'hellaswag' && self.mode != 'loglikelihood'))",
            message="gsm8k and gsm8k_cot are generate only; hellaswag is loglikelihood only",
            check=_mode_allowed,
            field_path=".mode",
        ),
    )

    name: BenchmarkName = Field(
        description="mmlu, cmmlu, ceval (validation split), gsm8k, gsm8k_cot, arc_challenge or "
        "hellaswag."
    )
    mode: BenchmarkMode | None = Field(
        default=None,
        description="generate or loglikelihood (default: the reference harness's: "
        "loglikelihood, generate for gsm8k and gsm8k_cot).",
    )
    subsets: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Subjects / subsets to evaluate (default: all).",
    )
    few_shot: int | None = Field(
        default=None,
        ge=0,
        le=32,
        description="Examples shown before each question (default: the reference harness's).",
    )
    source: BenchmarkSource | None = Field(
        default=None, description="Where the files are (default: the Hugging Face Hub)."
    )
