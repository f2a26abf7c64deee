"""task.json's ``plan`` → ``RunConfig``, with the pod's environment (no pydantic, no API models).

The operator writes the plan (``modeleval.builders.runplan``); here only what depends on the
pod is resolved: Secret values from the environment variables the plan names, dataset files
under the mount directories (``$MODELEVAL_DATASET_DIR`` for a ConfigMap, default
``/etc/modeleval/dataset``; ``$MODELEVAL_DATASET_PVC_DIR`` for a PVC, default ``/mnt/dataset``;
``$MODELEVAL_DATASET_FILE`` overrides both). A benchmark's mirror on a PVC is under
``$MODELEVAL_DATASET_PVC_DIR`` too; ``$MODELEVAL_BENCHMARK_DIR`` names a local mirror that
replaces any benchmark source.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modeleval.constants import EXISTING_RESULTS_DIR
from modeleval.runner.client import ClientSettings
from modeleval.runner.config import (
    BenchmarkRun,
    BenchmarkSource,
    ModelRun,
    PerfSettings,
    RunConfig,
    RunSettings,
)
from modeleval.runner.datasets import FieldMapping
from modeleval.runner.payloads import ApiFlavour, PromptTemplate
from modeleval.runner.server_compat import planned_drops
from modeleval.runner.sources import DatasetSource, S3Settings

PLAN_VERSION = 1
"""The plan version this runner reads (``modeleval.builders.runplan.PLAN_VERSION``)."""


class PlanError(ValueError):
    """The plan cannot be run here: a URL is missing, a Secret was not provided, ..."""


def config_from_plan(
    plan: Mapping[str, Any], *, results_dir: Path, env: Mapping[str, str]
) -> RunConfig:
    task = plan.get("task") or {}
    run = plan.get("run") or {}
    perf = plan.get("performance")
    dataset = plan.get("dataset")
    benchmark = plan.get("benchmark")
    return RunConfig(
        task_name=task.get("name") or env.get("MODELEVAL_TASK_NAME", "task"),
        namespace=task.get("namespace") or env.get("MODELEVAL_TASK_NAMESPACE"),
        models=tuple(_model(m, env) for m in plan.get("models") or []),
        dataset=_dataset(dataset, env) if dataset else None,
        settings=RunSettings(
            results_dir=results_dir,
            log_every=int(run.get("logEvery", 100)),
            max_error_ratio=float(run.get("maxErrorRatio", 0.1)),
        ),
        performance=_performance(perf) if perf is not None else None,
        benchmark=_benchmark(benchmark, env) if benchmark else None,
    )


def secret_value(ref: Mapping[str, str], env: Mapping[str, str]) -> str:
    """The value of a plan's Secret reference (``{"env", "secret"}``) from the environment."""
    var = ref["env"]
    if var not in env:
        raise PlanError(f"secret {ref['secret']} not provided (env {var} unset)")
    return env[var]


def s3_settings(s3: Mapping[str, Any], env: Mapping[str, str]) -> S3Settings:
    """A plan's bucket access; its Secret references must have arrived as env vars."""
    for ref in s3.get("secrets") or []:
        secret_value(ref, env)
    return S3Settings(
        endpoint_url=s3.get("endpoint"),
        region=s3.get("region"),
        access_key_env=s3.get("accessKeyEnv") or "AWS_ACCESS_KEY_ID",
        secret_key_env=s3.get("secretKeyEnv") or "AWS_SECRET_ACCESS_KEY",
    )


def _model(m: Mapping[str, Any], env: Mapping[str, str]) -> ModelRun:
    name = m["name"]
    if not m.get("url"):
        raise PlanError(f"model {name!r}: no URL (not resolved by the operator)")
    try:
        api = ApiFlavour(str(m.get("api") or "chat"))
    except ValueError:
        raise PlanError(f"model {name!r}: unknown api flavour {m.get('api')!r}") from None
    c = m.get("client") or {}
    headers = dict(c.get("headers") or {})
    for header in c.get("secretHeaders") or []:
        headers[header["header"]] = secret_value(header, env)
    api_key = c.get("apiKey")
    defaults = ClientSettings()
    client = ClientSettings(
        parallel=int(c.get("parallel", defaults.parallel)),
        connect_timeout_s=float(c.get("connectTimeoutS", defaults.connect_timeout_s)),
        read_timeout_s=float(c.get("readTimeoutS", defaults.read_timeout_s)),
        request_timeout_s=float(c["requestTimeoutS"]) if c.get("requestTimeoutS") else None,
        max_retries=int(c.get("maxRetries", defaults.max_retries)),
        headers=headers,
        api_key=secret_value(api_key, env) if api_key else None,
    )
    return ModelRun(
        name=name,
        url=m["url"],
        model=m.get("model") or ("" if m.get("modelField") else name),
        model_field=str(m.get("modelField") or "model"),
        api=api,
        prompt=PromptTemplate(template=m.get("template") or "{input}", system=m.get("system")),
        params=dict(m.get("params") or {}),
        client=client,
        server=str(m.get("server") or "auto"),
        dropped=tuple(planned_drops(name, m.get("dropped"))),
    )


def _performance(p: Mapping[str, Any]) -> PerfSettings:
    duration = p.get("durationS")
    return PerfSettings(
        levels=tuple(int(x) for x in p.get("levels") or [1]),
        requests_per_level=int(p.get("requestsPerLevel") or 100),
        duration_s=float(duration) if duration else None,
        synthetic_input_tokens=p.get("syntheticInputTokens"),
        output_tokens=p.get("outputTokens"),
        latency_budget_ms=p.get("latencyBudgetMs"),
        stream=bool(p.get("stream", True)),
    )


def dataset_source(d: Mapping[str, Any], env: Mapping[str, str]) -> DatasetSource:
    """A plan's dataset section (the task's dataset or an existing result set) as a source."""
    return _dataset(d, env)


def _dataset(d: Mapping[str, Any], env: Mapping[str, str]) -> DatasetSource:
    mapping = FieldMapping(**(d.get("mapping") or {}))
    common: dict[str, Any] = {
        "format": d.get("format"),
        "mapping": mapping,
        "limit": d.get("limit"),
    }
    source = d.get("source")
    override = env.get("MODELEVAL_DATASET_FILE")
    if override and "mount" not in d:
        return DatasetSource(path=override, **common)
    if d.get("mount") is not None and source in ("configMap", "pvc"):  # an existing result set
        mount = str(d["mount"])
        where = Path(env.get(f"MODELEVAL_EXISTING_{mount}") or f"{EXISTING_RESULTS_DIR}/{mount}")
        inner = d["key"] if source == "configMap" else str(d["path"]).lstrip("/")
        return DatasetSource(path=str(where / inner), **common)
    if source == "inline":
        return DatasetSource(inline=list(d.get("rows") or []), **common)
    if source == "file":  # written by `modeleval run` for a dataset resolved on the machine
        return DatasetSource(path=str(d["path"]), **common)
    if source == "configMap":
        base = env.get("MODELEVAL_DATASET_DIR", "/etc/modeleval/dataset")
        return DatasetSource(path=str(Path(base) / d["key"]), **common)
    if source == "pvc":
        base = env.get("MODELEVAL_DATASET_PVC_DIR", "/mnt/dataset")
        return DatasetSource(path=str(Path(base) / str(d["path"]).lstrip("/")), **common)
    if source == "url":
        return DatasetSource(url=d["url"], **common)
    if source == "s3":
        return DatasetSource(url=d["url"], s3=s3_settings(d.get("s3") or {}, env), **common)
    raise PlanError(f"dataset: unknown source {source!r}")


def _benchmark(b: Mapping[str, Any], env: Mapping[str, str]) -> BenchmarkRun:
    where = b.get("source") or {"kind": "hub"}
    kind = where.get("kind")
    override = env.get("MODELEVAL_BENCHMARK_DIR")
    if override:  # a local mirror, whatever the task says (local runs, tests)
        source = BenchmarkSource(kind="dir", path=override)
    elif kind == "hub":
        token = where.get("token")
        source = BenchmarkSource(
            kind="hub",
            endpoint=where.get("endpoint") or "https://huggingface.co",
            repo=where.get("repo"),
            revision=where.get("revision"),
            token=secret_value(token, env) if token else None,
        )
    elif kind == "pvc":
        base = env.get("MODELEVAL_DATASET_PVC_DIR", "/mnt/dataset")
        path = str(Path(base) / str(where.get("path") or "").lstrip("/"))
        source = BenchmarkSource(kind="dir", path=path)
    elif kind == "dir":  # a local folder (``modeleval run --pvc CLAIM=DIR``)
        source = BenchmarkSource(kind="dir", path=str(where["path"]))
    elif kind == "s3":
        source = BenchmarkSource(
            kind="s3", path=where["url"], s3=s3_settings(where.get("s3") or {}, env)
        )
    else:
        raise PlanError(f"benchmark: unknown source {kind!r}")
    subsets = b.get("subsets")
    return BenchmarkRun(
        name=str(b["name"]),
        mode=str(b["mode"]),
        source=source,
        subsets=tuple(str(s) for s in subsets) if subsets else None,
        few_shot=None if b.get("fewShot") is None else int(b["fewShot"]),
        limit=None if b.get("limit") is None else int(b["limit"]),
        system=b.get("system"),
    )
