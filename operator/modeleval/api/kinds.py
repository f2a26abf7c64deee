"""The two kinds of the API: names, models, printer columns, and their OpenAPI schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modeleval import constants as c
from modeleval.api.common import ApiModel
from modeleval.api.evaltask import EvalTaskSpec
from modeleval.api.evaltask_status import EvalTaskStatus
from modeleval.api.servicegroup import ModelEvalServiceGroupSpec, ModelEvalServiceGroupStatus
from modeleval.api.structural import to_structural


@dataclass(frozen=True)
class Kind:
    kind: str
    plural: str
    singular: str
    short: str
    spec: type[ApiModel]
    status: type[ApiModel]
    description: str
    columns: tuple[dict[str, Any], ...]


KINDS = (
    Kind(
        kind=c.SERVICE_GROUP_KIND,
        plural=c.SERVICE_GROUP_PLURAL,
        singular=c.SERVICE_GROUP_SINGULAR,
        short=c.SERVICE_GROUP_SHORT,
        spec=ModelEvalServiceGroupSpec,
        status=ModelEvalServiceGroupStatus,
        description="A model service deployed for evaluation: a Deployment and a Service "
        "serving an OpenAI-compatible API, and optionally one EvalTask per dataset.",
        columns=(
            {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
            {"name": "Ready", "type": "string", "jsonPath": ".status.ready"},
            {"name": "URL", "type": "string", "jsonPath": ".status.url"},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
            {"name": "Image", "type": "string", "jsonPath": ".spec.image", "priority": 1},
            {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1},
        ),
    ),
    Kind(
        kind=c.EVAL_TASK_KIND,
        plural=c.EVAL_TASK_PLURAL,
        singular=c.EVAL_TASK_SINGULAR,
        short=c.EVAL_TASK_SHORT,
        spec=EvalTaskSpec,
        status=EvalTaskStatus,
        description="An evaluation run: inference over a dataset against one or more models, "
        "then scoring (rules, judge model, GSB, manual) or a performance test.",
        columns=(
            {"name": "State", "type": "string", "jsonPath": ".status.state"},
            {
                "name": "Progress",
                "type": "integer",
                "jsonPath": ".status.percentage",
                "description": "Percent done",
            },
            {"name": "Score", "type": "number", "jsonPath": ".status.totalScore"},
            {"name": "Target", "type": "string", "jsonPath": ".status.target"},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
            {"name": "Type", "type": "string", "jsonPath": ".spec.type", "priority": 1},
            {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1},
        ),
    ),
)


def open_api_schema(kind: Kind) -> dict[str, Any]:
    """The structural ``openAPIV3Schema`` of one kind."""
    spec = to_structural(kind.spec.model_json_schema(by_alias=True, mode="validation"))
    status = to_structural(kind.status.model_json_schema(by_alias=True, mode="validation"))
    return {
        "type": "object",
        "description": kind.description,
        "properties": {
            "apiVersion": {"type": "string", "description": "modeleval.io/v1alpha1"},
            "kind": {"type": "string", "description": kind.kind},
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status,
        },
        "required": ["spec"],
    }
