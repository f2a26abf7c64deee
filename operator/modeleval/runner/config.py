"""The runner's own typed configuration (built from task.json by ``taskfile.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modeleval.runner.client import ClientSettings
from modeleval.runner.payloads import ApiFlavour, PromptTemplate
from modeleval.runner.sources import DatasetSource, S3Settings


@dataclass(frozen=True, slots=True)
class ModelRun:
    """One model to send every item to."""

    name: str
    """Name in results: ``predictions/<name>.jsonl``."""
    url: str
    """OpenAI base URL, e.g. ``http://svc:8000/v1``."""
    model: str
    """``model`` field of each request; "" until asked from the server
    (:mod:`modeleval.runner.discovery`)."""
    api: ApiFlavour = ApiFlavour.CHAT
    prompt: PromptTemplate = field(default_factory=PromptTemplate)
    params: dict[str, Any] = field(default_factory=dict)
    """Generation parameters as request-body fields (``GenerationParams.to_body()``)."""
    client: ClientSettings = field(default_factory=ClientSettings)
    server: str = "auto"
    """The server flavour (``auto``, ``openai``, ``vllm``, ``tgi``, ``transformers``)."""
    dropped: tuple[dict[str, Any], ...] = ()
    """``status.droppedParameters`` entries of the plan: what the flavour does not take."""
    model_field: str = "model"
    """The task field that sets ``model`` (named when it must be set)."""

    def client_headers(self) -> dict[str, str]:
        """The headers every request to this model carries (auth included)."""
        from modeleval.runner.client import ModelClient

        return ModelClient(self.url, self.api, self.client).headers_for(None)


@dataclass(frozen=True, slots=True)
class RunSettings:
    """Checkpointing, progress and failure policy."""

    results_dir: Path
    log_every: int = 100
    """Log a line (and allow a status patch) every N finished items."""
    progress_interval_s: float = 5.0
    """Patch the status at least this often while items finish."""
    progress_min_gap_s: float = 1.0
    """...and never more often than this."""
    max_error_ratio: float = 0.1
    """Exit non-zero when failed/total exceeds this."""
    fsync_interval_s: float = 0.5
    fsync_every: int = 200
    drain_timeout_s: float = 20.0
    """After SIGTERM, wait this long for requests in flight before abandoning them."""


@dataclass(frozen=True, slots=True)
class PerfSettings:
    """Load-test settings (task type Performance)."""

    levels: tuple[int, ...] = (1,)
    requests_per_level: int = 100
    duration_s: float | None = None
    synthetic_input_tokens: int | None = None
    output_tokens: int | None = None
    latency_budget_ms: float | None = None
    stream: bool = True
    """Stream the answers (TTFT and inter-token latency are measured only when streaming)."""


@dataclass(frozen=True, slots=True)
class BenchmarkSource:
    """Where a benchmark's files are read: the Hub, a mirror folder or a mirror in a bucket."""

    kind: str
    """``hub``, ``dir`` (a PVC mount, or any local folder) or ``s3``."""
    repo: str | None = None
    """Hub: the dataset repository read (default: the benchmark's own)."""
    revision: str | None = None
    endpoint: str = "https://huggingface.co"
    token: str | None = None
    """Hub token (from the Secret the plan names)."""
    path: str | None = None
    """``dir``: the mirror root; ``s3``: ``s3://bucket/prefix`` of the mirror."""
    s3: S3Settings = field(default_factory=S3Settings)


@dataclass(frozen=True, slots=True)
class BenchmarkRun:
    """A benchmark task (``spec.benchmark``), checked against the catalogue when loaded."""

    name: str
    mode: str
    source: BenchmarkSource
    subsets: tuple[str, ...] | None = None
    few_shot: int | None = None
    limit: int | None = None
    """Items per subset."""
    system: str | None = None


@dataclass(frozen=True, slots=True)
class RunConfig:
    task_name: str
    namespace: str | None
    models: tuple[ModelRun, ...]
    dataset: DatasetSource | None
    settings: RunSettings
    performance: PerfSettings | None = None
    benchmark: BenchmarkRun | None = None

    @property
    def predictions_dir(self) -> Path:
        return self.settings.results_dir / "predictions"

    def predictions_path(self, model: ModelRun) -> Path:
        return self.predictions_dir / f"{model.name}.jsonl"
