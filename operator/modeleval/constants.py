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
EXISTING_RESULTS_DIR = "/mnt/existing"
"""Where a score Job mounts ``spec.existingResults[i]``'s ConfigMap or PVC (``<dir>/<i>``)."""

DEFAULT_GPU_RESOURCE = "nvidia.com/gpu"
DEFAULT_RUNNER_IMAGE = "ghcr.io/modeleval/modeleval:0.1.0"


def secret_env_var(name: str, key: str) -> str:
    """Name of the environment variable a runner Job receives Secret ``name``'s ``key`` in.

    Secrets never travel in the task file: the Job builder maps each reference to an env var
    with ``valueFrom.secretKeyRef`` and the runner reads it back under this same name.
    """
    import hashlib

    digest = hashlib.sha256(f"{name}/{key}".encode()).hexdigest()[:10].upper()
    return f"MODELEVAL_SECRET_{digest}"
