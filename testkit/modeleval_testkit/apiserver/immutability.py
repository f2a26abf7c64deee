"""Fields of built-in kinds that the real API server refuses to change after creation.

A classic operator bug is patching a Job's pod template when the custom resource changes: a
real cluster answers 422 ("field is immutable"), so the emulator does too. Covered: Job
``spec.selector``, ``spec.completions`` and ``spec.template`` (the template may change while the
Job is suspended), Pod ``spec`` beyond images, ``activeDeadlineSeconds``, tolerations and a
first ``nodeName``,
Deployment and ReplicaSet ``spec.selector``, Service ``spec.clusterIP``, PVC ``spec`` beyond
storage requests, and ConfigMaps/Secrets marked ``immutable: true``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modeleval_testkit.apiserver.fielderrors import FieldError, forbidden, invalid

Obj = dict[str, Any]
IMMUTABLE = "field is immutable"


def _changed(old: Obj, new: Obj, *path: str) -> bool:
    a: Any = old
    b: Any = new
    for key in path:
        a = a.get(key) if isinstance(a, dict) else None
        b = b.get(key) if isinstance(b, dict) else None
    return bool(a != b)


def _fields(old: Obj, new: Obj, *paths: tuple[str, ...]) -> list[FieldError]:
    return [invalid(".".join(p), "object", IMMUTABLE) for p in paths if _changed(old, new, *p)]


def _job(old: Obj, new: Obj) -> list[FieldError]:
    errors = _fields(old, new, ("spec", "selector"), ("spec", "completions"))
    if not (old.get("spec") or {}).get("suspend"):
        errors += _fields(old, new, ("spec", "template"))
    return errors


def _without_mutable(spec: Any) -> Any:
    if not isinstance(spec, dict):
        return spec
    out = {k: v for k, v in spec.items() if k not in ("activeDeadlineSeconds", "tolerations")}
    for key in ("containers", "initContainers"):
        if isinstance(out.get(key), list):
            out[key] = [
                {k: v for k, v in c.items() if k != "image"} if isinstance(c, dict) else c
                for c in out[key]
            ]
    return out


def _pod(old: Obj, new: Obj) -> list[FieldError]:
    before, after = _without_mutable(old.get("spec")), _without_mutable(new.get("spec"))
    if isinstance(before, dict) and isinstance(after, dict) and not before.get("nodeName"):
        # Binding an unscheduled pod to a node (the pods/binding subresource in Kubernetes;
        # a plain patch here, so that the local executor can play the scheduler).
        after = {k: v for k, v in after.items() if k != "nodeName"}
    if before == after:
        return []
    return [
        forbidden(
            "spec",
            "pod updates may not change fields other than"
            " `spec.containers[*].image`, `spec.initContainers[*].image`,"
            " `spec.activeDeadlineSeconds`, `spec.tolerations`",
        )
    ]


def _pvc(old: Obj, new: Obj) -> list[FieldError]:
    def spec(obj: Obj) -> Any:
        return {k: v for k, v in (obj.get("spec") or {}).items() if k != "resources"}

    if spec(old) == spec(new):
        return []
    return [forbidden("spec", "spec is immutable after creation except resources.requests")]


def _sealed(old: Obj, new: Obj) -> list[FieldError]:
    if not old.get("immutable"):
        return []
    return [
        forbidden(key, "field is immutable when `immutable` is set")
        for key in ("data", "binaryData", "stringData", "immutable")
        if _changed(old, new, key)
    ]


RULES: dict[tuple[str, str], Callable[[Obj, Obj], list[FieldError]]] = {
    ("batch", "jobs"): _job,
    ("", "pods"): _pod,
    ("apps", "deployments"): lambda old, new: _fields(old, new, ("spec", "selector")),
    ("apps", "replicasets"): lambda old, new: _fields(old, new, ("spec", "selector")),
    ("", "services"): lambda old, new: _fields(old, new, ("spec", "clusterIP")),
    ("", "persistentvolumeclaims"): _pvc,
    ("", "configmaps"): _sealed,
    ("", "secrets"): _sealed,
}


def immutable_errors(kind: tuple[str, str], old: Obj, new: Obj) -> list[FieldError]:
    """Why updating ``old`` to ``new`` would be refused (empty when it is allowed)."""
    rule = RULES.get(kind)
    return rule(old, new) if rule is not None else []
