"""Names shared by the operator, the runner, the chart and the tests."""

from __future__ import annotations

GROUP = "modeleval.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "modeleval"

SERVICE_GROUP_KIND = "ModelEvalServiceGroup"
SERVICE_GROUP_PLURAL = "modelevalservicegroups"
SERVICE_GROUP_SINGULAR = "modelevalservicegroup"
SERVICE_GROUP_SHORT = "mesg"

EVAL_TASK_KIND = "EvalTask"
EVAL_TASK_PLURAL = "evaltasks"
EVAL_TASK_SINGULAR = "evaltask"
EVAL_TASK_SHORT = "et"

# Label keys put on every child object.
LABEL_PREFIX = GROUP
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_SERVICE_GROUP = f"{GROUP}/service-group"
LABEL_EVAL_TASK = f"{GROUP}/eval-task"
LABEL_PHASE = f"{GROUP}/phase"
LABEL_DATASET = f"{GROUP}/dataset"
MANAGER_NAME = "modeleval-operator"

CONSOLE_AUDIENCE = "modeleval-console"
"""Audience of the ServiceAccount tokens runners present to the console."""
ANNOTATE_VERB = "annotate"
"""Custom RBAC verb on ``evaltasks``: may score answers in the console's manual evaluation."""

DEFAULT_GPU_RESOURCE = "nvidia.com/gpu"
DEFAULT_RUNNER_IMAGE = "ghcr.io/modeleval/modeleval:0.1.0"
