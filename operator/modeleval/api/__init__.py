"""The ``modeleval.io/v1alpha1`` API: pydantic models that are the single source of truth.

The CRDs (``crds/``), the chart's CRDs and ``docs/reference.md`` are generated from these
models by :mod:`modeleval.api.crdgen`.
"""

from modeleval.api.common import (
    ApiFlavour,
    ClientSettings,
    Condition,
    GenerationParams,
    SecretKeySelector,
    ServerFlavour,
    secret_env_name,
)
from modeleval.api.datasets import DatasetSpec, ExistingResults, ResultsStorage
from modeleval.api.evaltask import EvalTask, EvalTaskSpec
from modeleval.api.evaltask_status import TERMINAL_STATES, EvalTaskStatus, TaskState
from modeleval.api.scoring import ScoringSpec
from modeleval.api.servicegroup import (
    GroupPhase,
    ModelEvalServiceGroup,
    ModelEvalServiceGroupSpec,
    ModelEvalServiceGroupStatus,
    TaskType,
)
from modeleval.api.targets import Endpoint, ModelTarget, ServiceGroupRef

__all__ = [
    "TERMINAL_STATES",
    "ApiFlavour",
    "ClientSettings",
    "Condition",
    "DatasetSpec",
    "Endpoint",
    "EvalTask",
    "EvalTaskSpec",
    "EvalTaskStatus",
    "ExistingResults",
    "GenerationParams",
    "GroupPhase",
    "ModelEvalServiceGroup",
    "ModelEvalServiceGroupSpec",
    "ModelEvalServiceGroupStatus",
    "ModelTarget",
    "ResultsStorage",
    "ScoringSpec",
    "SecretKeySelector",
    "ServerFlavour",
    "ServiceGroupRef",
    "TaskState",
    "TaskType",
    "secret_env_name",
]
