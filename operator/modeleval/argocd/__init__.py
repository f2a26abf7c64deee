"""Argo CD integration: health checks for ModelEvalServiceGroup and EvalTask.

``python -m modeleval.argocd`` prints the argocd-cm snippet that installs them.
"""

from modeleval.argocd.health import (
    HEALTH_CHECK_FILES,
    argocd_cm_snippet,
    customization_key,
    health_lua,
)

__all__ = ["HEALTH_CHECK_FILES", "argocd_cm_snippet", "customization_key", "health_lua"]
