"""The run plan: task.json's flat, pre-resolved description of what the runner does.

The operator validates the EvalTask with the API models anyway; it writes the result of that
work into task.json as ``plan`` (plain JSON: strings, numbers, lists, maps), so the runner
process starts without pydantic or the API models (``modeleval.runner.plan`` reads it). Only
what depends on the pod stays symbolic: Secret values are named by the environment variable
that carries them (``secret_env_name``), dataset files by their ConfigMap key or PVC path
(the runner joins them with its mount directories).

The runner builds the same plan itself from ``spec`` when task.json has none or an older
``version`` (a task file written by hand or by another release).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modeleval.api import EvalTask, GenerationParams, SecretKeySelector, secret_env_name
from modeleval.api.benchmarks import BenchmarkSpec
from modeleval.api.common import ClientSettings as ApiClientSettings
from modeleval.api.datasets import (
    DatasetSpec,
    DataSource,
    ExistingResults,
    ResultsStorage,
    S3Source,
    StorageType,
)
from modeleval.api.targets import ModelTarget
from modeleval.benchmarks import LOGLIKELIHOOD, get_benchmark
from modeleval.builders.request_params import BodyParams, split_for_server

PLAN_VERSION = 1
"""Bumped when the plan's meaning changes; a runner ignores a plan of another version."""

VENDOR_PARAMS = ("penalty_score", "disable_search", "enable_citation")
"""Qianfan's generation fields: sent under their own names to servers that take them
(flavour ``qianfan`` or ``auto``), ``penalty_score`` as ``repetition_penalty`` to vLLM,
reported as dropped for the others."""


def build_run_plan(task: EvalTask, resolved: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``plan`` section of task.json for ``task`` and its ``resolved`` targets."""
    spec = task.spec
    inference = spec.inference
    client = (inference.client if inference else None) or ApiClientSettings()
    by_name = {m["name"]: m for m in (resolved or {}).get("models", [])}
    benchmark = _benchmark(spec.benchmark, spec.limits, inference) if spec.benchmark else None
    models = [
        _model(index, target, inference, client, by_name.get(target.name))
        for index, target in enumerate(spec.models or [])
    ]
    if benchmark is not None and benchmark["mode"] == LOGLIKELIHOOD:
        for model in models:  # prompt logprobs come from the completions route only
            model["api"] = "completions"
    return {
        "version": PLAN_VERSION,
        "task": {"name": task.metadata.name, "namespace": task.metadata.namespace},
        "models": models,
        "run": {"logEvery": client.log_every_query, "maxErrorRatio": client.max_error_ratio},
        "performance": _performance(task, client),
        "dataset": _dataset(spec.dataset, spec.limits) if spec.dataset else None,
        "existingResults": [
            _result_set(index, result) for index, result in enumerate(spec.existing_results or [])
        ],
        "benchmark": benchmark,
        "results": results_plan(spec.results),
    }


def secret_ref(ref: SecretKeySelector) -> dict[str, str]:
    """A Secret reference as the runner sees it: the env var carrying it, and its name."""
    return {"env": secret_env_name(ref), "secret": f"{ref.name}/{ref.key}"}


def _model(
    index: int,
    target: ModelTarget,
    inference: Any,
    client: ApiClientSettings,
    resolved: Mapping[str, Any] | None,
) -> dict[str, Any]:
    endpoint = target.endpoint
    resolved = resolved or {}
    api = resolved.get("api") or (endpoint.api if endpoint else "openai-chat")
    server = str(resolved.get("server") or (endpoint.server if endpoint else "auto"))
    params = _merge_params(inference.params if inference else None, target.params)
    system = (inference.system_prompt if inference else None) or params.pop("system", None)
    template = target.prompt_template or (inference.prompt_template if inference else None)
    model = resolved.get("model") or (endpoint.model if endpoint else None)
    body, dropped = _body_params(params, server)
    return {
        "name": target.name,
        "url": resolved.get("url") or (endpoint.url if endpoint else None),
        "model": model,
        # Unset: the runner asks the server (GET {url}/models) and names this field if it cannot.
        "modelField": None if model else f"spec.models[{index}].endpoint.model",
        "api": str(api).lower().removeprefix("openai-"),
        "server": server,
        "template": template or "{input}",
        "system": system,
        "params": body,
        "dropped": (
            [{"parameters": dropped, "reason": f"the {server} server flavour does not take them"}]
            if dropped
            else []
        ),
        "client": {
            "parallel": target.parallel or client.parallel,
            "connectTimeoutS": client.connect_timeout_seconds,
            "readTimeoutS": client.read_timeout_seconds,
            "requestTimeoutS": client.request_timeout_seconds,
            "maxRetries": client.max_retries,
            "headers": dict(endpoint.request_headers or {}) if endpoint else {},
            "secretHeaders": [
                {"header": h.name, **secret_ref(h.secret_key_ref)}
                for h in (endpoint.request_headers_from or [] if endpoint else [])
            ],
            "apiKey": (
                secret_ref(endpoint.api_key_secret_ref)
                if endpoint and endpoint.api_key_secret_ref
                else None
            ),
        },
    }


def _merge_params(base: GenerationParams | None, over: GenerationParams | None) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for params in (base, over):
        if params is not None:
            merged.update(params.model_dump(exclude_none=True))
    return merged


def _body_params(p: dict[str, Any], server: str = "auto") -> tuple[dict[str, Any], list[str]]:
    """The request-body fields, and the names of those the server flavour does not take
    (``extra`` is passed through verbatim whatever the flavour: the user named the fields)."""
    extra = dict(p.pop("extra", None) or {})
    vendor = {name: p.pop(name) for name in VENDOR_PARAMS if name in p}
    if server == "vllm" and "penalty_score" in vendor and p.get("repetition_penalty") is None:
        # The same knob under vLLM's name: a repetition penalty >1 (Qianfan's range is 1-2).
        p["repetition_penalty"] = vendor.pop("penalty_score")
    body, dropped = split_for_server(BodyParams(**p, extra=vendor).to_body(), server)
    body.update(extra)
    return body, dropped


def _performance(task: EvalTask, client: ApiClientSettings) -> dict[str, Any] | None:
    spec = task.spec
    perf = spec.performance
    if perf is None and spec.type != "Performance":
        return None
    return {
        "levels": list(perf.parallel) if perf else [client.parallel],
        "requestsPerLevel": (perf.requests_per_level if perf else None) or spec.limits or 100,
        "durationS": float(perf.duration_seconds) if perf and perf.duration_seconds else None,
        "syntheticInputTokens": perf.synthetic_input_tokens if perf else None,
        "outputTokens": perf.output_tokens if perf else None,
        "latencyBudgetMs": perf.latency_budget_ms if perf else None,
        "stream": perf.stream if perf else True,
    }


def _dataset(spec: DatasetSpec, limit: int | None) -> dict[str, Any]:
    fields = spec.fields
    if fields is not None and fields.preset == "qianfan":
        mapping = {
            "input": fields.input or "prompt",
            "target": fields.target or "response",
            "id": fields.id,
        }
    elif fields is not None:
        mapping = {"input": fields.input, "target": fields.target, "id": fields.id}
    else:
        mapping = {}
    if fields is not None:
        mapping["system"] = fields.system
    return _source(spec, mapping, limit)


def _source(spec: DataSource, mapping: dict[str, str | None], limit: int | None) -> dict[str, Any]:
    """The plan's section for rows read from ``spec`` with the columns of ``mapping``."""
    plan: dict[str, Any] = {
        "format": None if spec.format in (None, "auto") else str(spec.format),
        "mapping": {k: v for k, v in mapping.items() if v is not None},
        "limit": limit,
    }
    if spec.inline is not None:
        rows = [item.model_dump(by_alias=True, exclude_none=True) for item in spec.inline]
        return {"source": "inline", "rows": rows, **plan}
    if spec.config_map is not None:
        return {"source": "configMap", "key": spec.config_map.key, **plan}
    if spec.pvc is not None:
        return {"source": "pvc", "path": spec.pvc.path, **plan}
    if spec.url is not None:
        return {"source": "url", "url": spec.url, **plan}
    assert spec.s3 is not None
    return {"source": "s3", "url": spec.s3.url, "s3": s3_plan(spec.s3), **plan}


def _benchmark(spec: BenchmarkSpec, limit: int | None, inference: Any) -> dict[str, Any]:
    """The plan's ``benchmark``: the catalogue entry, its mode and where its files are.

    Subset names and the number of shots are checked by the runner against the catalogue
    (``modeleval.benchmarks.resolve``), which fails the task naming the bad value."""
    benchmark = get_benchmark(str(spec.name))
    mode = str(spec.mode) if spec.mode else benchmark.default_mode
    source = spec.source
    if source is not None and source.pvc is not None:
        where: dict[str, Any] = {"kind": "pvc", "path": source.pvc.path}
    elif source is not None and source.s3 is not None:
        where = {"kind": "s3", "url": source.s3.url, "s3": s3_plan(source.s3)}
    else:
        hub = source.hub if source is not None else None
        token = hub.token_secret_ref if hub is not None else None
        where = {
            "kind": "hub",
            "endpoint": hub.endpoint if hub is not None else "https://huggingface.co",
            "repo": (hub.repo if hub is not None else None) or benchmark.data.repo,
            "revision": (hub.revision if hub is not None else None) or benchmark.data.revision,
            "token": secret_ref(token) if token is not None else None,
        }
    return {
        "name": benchmark.name,
        "mode": mode,
        "subsets": list(spec.subsets) if spec.subsets else None,
        "fewShot": spec.few_shot,
        "limit": limit,
        "system": inference.system_prompt if inference is not None else None,
        "source": where,
    }


def _result_set(index: int, result: ExistingResults) -> dict[str, Any]:
    """Where an existing result set is and which columns hold what.

    Its own column defaults, so that the answer is never taken for the reference: our
    predictions layout (input, target, output, error) or, with ``preset: qianfan``, Qianfan's
    (prompt, reference, response)."""
    source = result.source
    fields = source.fields
    qianfan = fields is not None and fields.preset == "qianfan"
    mapping = {
        "input": (fields.input if fields else None) or ("prompt" if qianfan else None),
        "target": (fields.target if fields else None) or ("reference" if qianfan else "target"),
        "id": fields.id if fields else None,
    }
    dataset = _source(source, mapping, None)
    if dataset["source"] in ("configMap", "pvc"):
        dataset["mount"] = str(index)  # the Job mounts it at $MODELEVAL_EXISTING_<index>
    output = (fields.output if fields else None) or ("response" if qianfan else "output")
    return {"name": result.name, "dataset": dataset, "output": output}


def s3_plan(source: S3Source) -> dict[str, Any]:
    """How to reach a bucket: endpoint, region and the env vars holding the credentials."""
    refs = [r for r in (source.access_key_id, source.secret_access_key) if r is not None]
    access, secret = source.access_key_id, source.secret_access_key
    return {
        "endpoint": source.endpoint,
        "region": source.region,
        "accessKeyEnv": secret_env_name(access) if access else "AWS_ACCESS_KEY_ID",
        "secretKeyEnv": secret_env_name(secret) if secret else "AWS_SECRET_ACCESS_KEY",
        "secrets": [secret_ref(r) for r in refs],
    }


def results_plan(storage: ResultsStorage | None) -> dict[str, Any] | None:
    """The plan's ``results``: where S3 results go (None: a volume)."""
    if storage is None or storage.type != StorageType.S3 or storage.s3 is None:
        return None
    return {"s3": {"url": storage.s3.url, **s3_plan(storage.s3)}}
