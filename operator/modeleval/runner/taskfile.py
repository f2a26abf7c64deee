"""task.json (see docs/dev/CONTRACTS.md) → ``RunConfig`` and where results are kept.

The operator writes a ``plan`` into task.json (``modeleval.builders.runplan``), which
``modeleval.runner.plan`` turns into a ``RunConfig`` without importing pydantic or the API
models: the runner starts in a fraction of the time. A task file without a plan of this
runner's version (written by hand, or by another release) is validated with the API models
and planned here, with the same result.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from modeleval.runner.config import RunConfig
from modeleval.runner.plan import PLAN_VERSION, PlanError, config_from_plan
from modeleval.runner.s3results import S3Results, S3ResultsError

if TYPE_CHECKING:
    from modeleval.runner.kubestatus import HttpStatusSink, KubeClientStatusSink

DEFAULT_TASK_FILE = "/etc/modeleval/task.json"
DEFAULT_RESULTS_DIR = "/results"


class TaskFileError(ValueError):
    """task.json is missing, unreadable or inconsistent."""


@dataclass(frozen=True, slots=True)
class LoadedTask:
    config: RunConfig
    remote: S3Results | None
    """The bucket the results are kept in, when ``spec.results`` is S3."""


def read_task_file(task_file: str | Path | None, env: Mapping[str, str]) -> dict[str, Any]:
    path = Path(task_file or env.get("MODELEVAL_TASK_FILE", DEFAULT_TASK_FILE))
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaskFileError(f"{path}: task file not found") from None
    except json.JSONDecodeError as exc:
        raise TaskFileError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except OSError as exc:
        raise TaskFileError(f"{path}: cannot read task file: {exc}") from None
    if not isinstance(raw, dict):
        raise TaskFileError(f"{path}: expected a JSON object (the EvalTask)")
    return raw


class PhaseStart(NamedTuple):
    """What a phase that reads task.json as it is (score, manual, judge) starts from."""

    task: dict[str, Any]
    results: Path
    sink: HttpStatusSink | KubeClientStatusSink | None
    """The EvalTask's status, when its name and namespace and Kubernetes credentials are known
    (``modeleval.runner.kubestatus.sink_from_env``); the caller closes it."""


def start_phase(
    task_file: str | Path | None, results_dir: str | Path | None, env: Mapping[str, str]
) -> PhaseStart:
    """task.json (``$MODELEVAL_TASK_FILE``), the results folder (``$MODELEVAL_RESULTS_DIR``)
    and a sink for the status of the EvalTask named in its metadata (else
    ``$MODELEVAL_TASK_NAME`` and ``$MODELEVAL_TASK_NAMESPACE``). Raises `TaskFileError`."""
    from modeleval.runner.kubestatus import sink_from_env

    task = read_task_file(task_file, env)
    results = Path(results_dir or env.get("MODELEVAL_RESULTS_DIR", DEFAULT_RESULTS_DIR))
    metadata = task.get("metadata") or {}
    name = metadata.get("name") or env.get("MODELEVAL_TASK_NAME")
    namespace = metadata.get("namespace") or env.get("MODELEVAL_TASK_NAMESPACE")
    return PhaseStart(task, results, sink_from_env(name, namespace))


def plan_of(raw: Mapping[str, Any]) -> dict[str, Any]:
    """task.json's plan; built from ``spec`` (with the API models) when it has none."""
    plan = raw.get("plan")
    if isinstance(plan, dict) and plan.get("version") == PLAN_VERSION:
        return plan
    from pydantic import ValidationError

    from modeleval.api import EvalTask
    from modeleval.builders.runplan import build_run_plan

    try:
        task = EvalTask.model_validate(raw)
    except ValidationError as exc:
        raise TaskFileError(f"task.json: invalid EvalTask: {exc}") from None
    return build_run_plan(task, raw.get("resolved"))


def load_task(
    task_file: str | Path | None = None,
    *,
    results_dir: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> LoadedTask:
    """Read task.json (``$MODELEVAL_TASK_FILE``): the run configuration and results bucket."""
    env = os.environ if env is None else env
    plan = plan_of(read_task_file(task_file, env))
    results = Path(results_dir or env.get("MODELEVAL_RESULTS_DIR", DEFAULT_RESULTS_DIR))
    try:
        config = config_from_plan(plan, results_dir=results, env=env)
    except PlanError as exc:
        raise TaskFileError(str(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise TaskFileError(f"task.json: malformed plan: {exc!r}") from None
    try:
        remote = S3Results.from_plan(plan.get("results"), env)
    except S3ResultsError as exc:
        raise TaskFileError(str(exc)) from None
    return LoadedTask(config, remote)


def load_run_config(
    task_file: str | Path | None = None,
    *,
    results_dir: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> RunConfig:
    """The run configuration of task.json (``load_task`` without the results bucket)."""
    return load_task(task_file, results_dir=results_dir, env=env).config
