"""The validating admission webhook: an object may use only what its author may use.

Served by the operator (Kopf's webhook server, configured in :mod:`modeleval.handlers.startup`
when ``MODELEVAL_WEBHOOK_PORT`` is set; ``modeleval.main`` imports this module only then). On
every create and on every update that changes the spec, of an EvalTask or a
ModelEvalServiceGroup:

1. the spec must validate (otherwise it is let through: the operator reports ``InvalidSpec``
   and runs nothing);
2. the administrator's policy must allow it (:func:`~modeleval.reconcile.access.task_policy`,
   :func:`~modeleval.reconcile.access.group_policy`): images, dataset URLs, placement;
3. the requesting user — ``userInfo`` of the AdmissionReview: name, uid, groups, extra — must
   hold the verb for every object the spec names
   (:func:`~modeleval.reconcile.access.accesses`), asked of the API server with one
   SubjectAccessReview each, so RBAC (or any authorizer the cluster runs) decides, not us.

The operator's own user (``MODELEVAL_OPERATOR_USERNAME``) skips step 3: it writes only the
tasks of service groups that passed it, and annotations of objects that did.
A refusal names the field and the object; it is a 403 the user sees from ``kubectl``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import kopf
from pydantic import ValidationError

from modeleval import constants as c
from modeleval import kube
from modeleval.api import EvalTask, ModelEvalServiceGroup
from modeleval.reconcile.access import (
    Access,
    accesses,
    group_policy,
    refusal,
    task_policy,
    unique,
)
from modeleval.settings import SETTINGS

log = logging.getLogger(__name__)

HANDLER_TASK = "validate-evaltask"
HANDLER_GROUP = "validate-servicegroup"
"""Handler ids; also the URL paths of the webhook (``/validate-evaltask``…), which
the chart's and kustomize's ValidatingWebhookConfiguration name."""


def may(user: Mapping[str, Any], namespace: str, access: Access) -> bool:
    """One SubjectAccessReview: may ``user`` (AdmissionReview ``userInfo``) do ``access``?"""
    spec: dict[str, Any] = {
        "user": user.get("username") or "",
        "groups": list(user.get("groups") or []),
        "resourceAttributes": {
            "namespace": namespace,
            "verb": access.verb,
            "group": "",
            "resource": access.resource,
            "name": access.name,
        },
    }
    if user.get("uid"):
        spec["uid"] = user["uid"]
    if user.get("extra"):
        spec["extra"] = {key: list(values) for key, values in dict(user["extra"]).items()}
    review: Any = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": spec,
    }
    answer = kube.to_dict(kube.authorization().create_subject_access_review(review))
    return bool((answer.get("status") or {}).get("allowed"))


def problems_of(
    kind: str,
    spec: Any,
    namespace: str,
    user: Mapping[str, Any],
) -> list[str]:
    """Policy problems, then the accesses ``user`` lacks, each naming its field."""
    problems = task_policy(spec, SETTINGS) if kind == c.EVAL_TASK_KIND else []
    if kind == c.SERVICE_GROUP_KIND:
        problems = group_policy(spec, SETTINGS)
    username = str(user.get("username") or "")
    if SETTINGS.operator_username and username == SETTINGS.operator_username:
        return problems
    for access in unique(accesses(spec)):
        if not may(user, namespace, access):
            problems.append(access.denied(username or "(anonymous)"))
    return problems


def _same_but_suspend(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """The specs differ at most in ``suspend`` (stopping a task uses nothing new)."""

    def rest(body: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in dict(body.get("spec") or {}).items() if k != "suspend"}

    return rest(old) == rest(new)


def review(
    kind: str,
    body: Mapping[str, Any],
    old: Mapping[str, Any] | None,
    userinfo: Mapping[str, Any],
    operation: str | None,
) -> None:
    """Raise ``kopf.AdmissionError`` (403) when the object may not be written."""
    if operation == "UPDATE" and old is not None and _same_but_suspend(old, body):
        return  # metadata, finalizers or suspend only: the spec was checked when written
    model = EvalTask if kind == c.EVAL_TASK_KIND else ModelEvalServiceGroup
    try:
        parsed = model.model_validate(dict(body))
    except ValidationError:
        return  # the operator reports InvalidSpec and never runs it
    meta = body.get("metadata") or {}
    problems = problems_of(kind, parsed.spec, meta.get("namespace") or "default", userinfo)
    if problems:
        message = refusal(kind, str(meta.get("name")), problems)
        log.info("admission: %s", message)
        raise kopf.AdmissionError(message, code=403)


@kopf.on.validate(
    c.GROUP, c.VERSION, c.EVAL_TASK_PLURAL, id=HANDLER_TASK, operations=["CREATE", "UPDATE"]
)
def validate_task(*, body: kopf.Body, userinfo: kopf.UserInfo, **kwargs: Any) -> None:
    review(c.EVAL_TASK_KIND, body, kwargs.get("old"), userinfo, kwargs.get("operation"))


@kopf.on.validate(
    c.GROUP, c.VERSION, c.SERVICE_GROUP_PLURAL, id=HANDLER_GROUP, operations=["CREATE", "UPDATE"]
)
def validate_group(*, body: kopf.Body, userinfo: kopf.UserInfo, **kwargs: Any) -> None:
    review(c.SERVICE_GROUP_KIND, body, kwargs.get("old"), userinfo, kwargs.get("operation"))
