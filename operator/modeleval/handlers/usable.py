"""What the operator refuses to use, whether or not the admission webhook ran.

The webhook stops a task or group at the door; the operator checks again before it creates
anything, so nothing depends on the webhook being installed, reachable or configured:

- the administrator's policy (:mod:`modeleval.reconcile.access`), always;
- with ``MODELEVAL_REQUIRE_USABLE_LABEL`` (the default when no webhook is served), every
  Secret, ServiceAccount and PVC the spec names must carry
  ``modeleval.io/usable-by-modeleval: "true"``: an owner opts an object in, since nobody
  checked that the author may use it. A missing object counts as unlabelled (a pod waiting
  for it would take whatever appears under that name).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from modeleval import kube
from modeleval.api import EvalTaskSpec, ModelEvalServiceGroupSpec
from modeleval.reconcile.access import (
    ACCOUNTS,
    LABELLED,
    PVCS,
    SECRETS,
    Access,
    accesses,
    group_policy,
    task_policy,
    unique,
)
from modeleval.settings import SETTINGS, USABLE_LABEL


def _reader(resource: str) -> Callable[..., Any]:
    core = kube.core()
    readers = {
        SECRETS: core.read_namespaced_secret,
        ACCOUNTS: core.read_namespaced_service_account,
        PVCS: core.read_namespaced_persistent_volume_claim,
    }
    return readers[resource]


def unlabelled(namespace: str, found: Sequence[Access]) -> list[str]:
    """The named Secrets, ServiceAccounts and PVCs without the usable label (or missing)."""
    problems = []
    for access in unique(found):
        if access.resource not in LABELLED:
            continue
        obj = kube.read_or_none(_reader(access.resource), access.name, namespace)
        labels = (obj.metadata.labels or {}) if obj is not None else {}
        if labels.get(USABLE_LABEL) != "true":
            problems.append(access.unlabelled())
    return problems


def refusals(spec: EvalTaskSpec | ModelEvalServiceGroupSpec, namespace: str) -> list[str]:
    """Why the operator will not run ``spec`` (empty: it will)."""
    if isinstance(spec, EvalTaskSpec):
        problems = task_policy(spec, SETTINGS)
    else:
        problems = group_policy(spec, SETTINGS)
    if SETTINGS.require_usable_label:
        problems += unlabelled(namespace, accesses(spec))
    return problems
