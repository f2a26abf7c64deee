"""task.json (the EvalTask + ``resolved`` targets, see docs/dev/CONTRACTS.md) → ``RunConfig``.

The spec is parsed with the API models (``modeleval.api.EvalTask``); secrets come from the
environment variables named by ``modeleval.api.secret_env_name``. Dataset files of a
ConfigMap or a PVC source are read where the Job mounts them:
``$MODELEVAL_DATASET_DIR/<configMap key>`` (default ``/etc/modeleval/dataset``) and
``$MODELEVAL_DATASET_PVC_DIR/<pvc path>`` (default ``/mnt/dataset``);
``$MODELEVAL_DATASET_FILE``, when set, overrides both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modeleval.api import EvalTask, GenerationParams, SecretKeySelector, secret_env_name
from modeleval.api.common import ClientSettings as ApiClientSettings
from modeleval.api.datasets import DatasetSpec
from modeleval.api.targets import ModelTarget
from modeleval.runner.client import ClientSettings
from modeleval.runner.config import ModelRun, PerfSettings, RunConfig, RunSettings
from modeleval.runner.datasets import FieldMapping
from modeleval.runner.payloads import ApiFlavour, PromptTemplate
from modeleval.runner.payloads import GenerationParams as RunnerParams
from modeleval.runner.sources import DatasetSource, S3Settings

DEFAULT_TASK_FILE = "/etc/modeleval/task.json"
DEFAULT_RESULTS_DIR = "/results"


class TaskFileError(ValueError):
    """task.json is missing, unreadable or inconsistent."""


def load_run_config(
    task_file: str | Path | None = None,
    *,
    results_dir: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> RunConfig:
    """Read task.json (``$MODELEVAL_TASK_FILE``) into the runner's configuration."""
    env = os.environ if env is None else env
    path = Path(task_file or env.get("MODELEVAL_TASK_FILE", DEFAULT_TASK_FILE))
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaskFileError(f"{path}: task file not found") from None
    except json.JSONDecodeError as exc:
        raise TaskFileError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    results = Path(results_dir or env.get("MODELEVAL_RESULTS_DIR", DEFAULT_RESULTS_DIR))
    return run_config_from_task(raw, results_dir=results, env=env)


def run_config_from_task(
    raw: dict[str, Any], *, results_dir: Path, env: Mapping[str, str]
) -> RunConfig:
    try:
        task = EvalTask.model_validate(raw)
    except ValueError as exc:
        raise TaskFileError(f"task.json: invalid EvalTask: {exc}") from None
    spec = task.spec
    inference = spec.inference
    api_client = (inference.client if inference else None) or ApiClientSettings()
    resolved = {m["name"]: m for m in (raw.get("resolved") or {}).get("models", [])}
    models = tuple(
        _model_run(
            target,
            spec_inference=inference,
            api_client=api_client,
            resolved=resolved.get(target.name),
            env=env,
        )
        for target in spec.models or []
    )
    settings = RunSettings(
        results_dir=results_dir,
        log_every=api_client.log_every_query,
        max_error_ratio=api_client.max_error_ratio,
    )
    perf = spec.performance
    performance = None
    if perf is not None or spec.type == "Performance":
        performance = PerfSettings(
            levels=tuple(perf.parallel) if perf else (api_client.parallel,),
            requests_per_level=(perf.requests_per_level if perf else None) or spec.limits or 100,
            duration_s=float(perf.duration_seconds) if perf and perf.duration_seconds else None,
            synthetic_input_tokens=perf.synthetic_input_tokens if perf else None,
            output_tokens=perf.output_tokens if perf else None,
            latency_budget_ms=perf.latency_budget_ms if perf else None,
        )
    dataset = _dataset_source(spec.dataset, spec.limits, env) if spec.dataset else None
    return RunConfig(
        task_name=task.metadata.name or env.get("MODELEVAL_TASK_NAME", "task"),
        namespace=task.metadata.namespace or env.get("MODELEVAL_TASK_NAMESPACE"),
        models=models,
        dataset=dataset,
        settings=settings,
        performance=performance,
    )


def _model_run(
    target: ModelTarget,
    *,
    spec_inference: Any,
    api_client: ApiClientSettings,
    resolved: dict[str, Any] | None,
    env: Mapping[str, str],
) -> ModelRun:
    endpoint = target.endpoint
    url = (resolved or {}).get("url") or (endpoint.url if endpoint else None)
    if not url:
        raise TaskFileError(f"model {target.name!r}: no URL (not resolved by the operator)")
    model_name = (resolved or {}).get("model") or (endpoint.model if endpoint else None)
    api = _flavour((resolved or {}).get("api") or (endpoint.api if endpoint else "openai-chat"))
    headers = dict(endpoint.request_headers or {}) if endpoint else {}
    api_key = None
    if endpoint:
        for header in endpoint.request_headers_from or []:
            headers[header.name] = _secret(header.secret_key_ref, env)
        if endpoint.api_key_secret_ref:
            api_key = _secret(endpoint.api_key_secret_ref, env)
    task_params = spec_inference.params if spec_inference else None
    params = _merge_params(task_params, target.params)
    template = target.prompt_template or (
        spec_inference.prompt_template if spec_inference else None
    )
    system = (spec_inference.system_prompt if spec_inference else None) or params.pop(
        "system", None
    )
    client = ClientSettings(
        parallel=api_client.parallel,
        connect_timeout_s=api_client.connect_timeout_seconds,
        read_timeout_s=api_client.read_timeout_seconds,
        max_retries=api_client.max_retries,
        headers=headers,
        api_key=api_key,
    )
    return ModelRun(
        name=target.name,
        url=url,
        model=model_name or target.name,
        api=api,
        prompt=PromptTemplate(template=template or "{input}", system=system),
        params=_body_params(params),
        client=client,
    )


def _merge_params(base: GenerationParams | None, over: GenerationParams | None) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for params in (base, over):
        if params is not None:
            merged.update(params.model_dump(exclude_none=True))
    return merged


def _body_params(p: dict[str, Any]) -> dict[str, Any]:
    extra = dict(p.pop("extra", None) or {})
    for vendor in ("penalty_score", "disable_search", "enable_citation"):
        if vendor in p:
            extra[vendor] = p.pop(vendor)
    return RunnerParams(**p, extra=extra).to_body()


def _flavour(value: str) -> ApiFlavour:
    name = str(value).lower().removeprefix("openai-")
    try:
        return ApiFlavour(name)
    except ValueError:
        raise TaskFileError(f"unknown api flavour {value!r}") from None


def _secret(ref: SecretKeySelector, env: Mapping[str, str]) -> str:
    var = secret_env_name(ref)
    if var not in env:
        raise TaskFileError(f"secret {ref.name}/{ref.key} not provided (env {var} unset)")
    return env[var]


def _dataset_source(spec: DatasetSpec, limit: int | None, env: Mapping[str, str]) -> DatasetSource:
    fields = spec.fields
    if fields is not None and fields.preset == "qianfan":
        mapping = FieldMapping(
            input=fields.input or "prompt", target=fields.target or "response", id=fields.id
        )
    elif fields is not None:
        mapping = FieldMapping(input=fields.input, target=fields.target, id=fields.id)
    else:
        mapping = FieldMapping()
    fmt = None if spec.format in (None, "auto") else str(spec.format)
    common: dict[str, Any] = {"format": fmt, "mapping": mapping, "limit": limit}
    override = env.get("MODELEVAL_DATASET_FILE")
    if override:
        return DatasetSource(path=override, **common)
    if spec.inline is not None:
        rows = [item.model_dump(by_alias=True, exclude_none=True) for item in spec.inline]
        return DatasetSource(inline=rows, **common)
    if spec.config_map is not None:
        base = env.get("MODELEVAL_DATASET_DIR", "/etc/modeleval/dataset")
        return DatasetSource(path=str(Path(base) / spec.config_map.key), **common)
    if spec.pvc is not None:
        base = env.get("MODELEVAL_DATASET_PVC_DIR", "/mnt/dataset")
        return DatasetSource(path=str(Path(base) / spec.pvc.path.lstrip("/")), **common)
    if spec.url is not None:
        return DatasetSource(url=spec.url, **common)
    assert spec.s3 is not None
    s3 = spec.s3
    settings = S3Settings.for_source(s3)
    return DatasetSource(url=s3.url, s3=settings, **common)
