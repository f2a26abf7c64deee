"""What an EvalTask or a ModelEvalServiceGroup gets to use, and the administrator's policy.

The operator runs with more rights than the people who create tasks and groups: it mounts
Secrets, PVCs and ConfigMaps into pods and runs them as ServiceAccounts. So a task or group
may use only what its author may use. Two pure halves, used by the admission webhook
(:mod:`modeleval.handlers.admission`) and again by the reconcilers before anything is created:

- :func:`accesses`: every object the spec names, with the RBAC verb its author must hold and
  the field naming it. ``get`` a Secret or ConfigMap (its content reaches the pod, and from
  there any URL the author chose), ``use`` a ServiceAccount or PVC (a pod runs as it / mounts
  it; ``use`` is granted explicitly, like PodSecurityPolicy's was). The webhook asks the API
  server with one SubjectAccessReview per access, as the requesting user.
- :func:`task_policy` / :func:`group_policy`: what no author may do unless the administrator
  allows it (:mod:`modeleval.settings`): images outside the allow-lists, dataset URLs outside
  theirs, pods on control-plane nodes.

Messages name the field as written in YAML and the object or value.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from modeleval.api import EvalTaskSpec, SecretKeySelector
from modeleval.api.benchmarks import HubSource, MirrorPvc
from modeleval.api.common import ConfigMapKeySelector
from modeleval.api.datasets import (
    ConfigMapSource,
    DataSource,
    PvcSource,
    ResultsStorage,
)
from modeleval.api.servicegroup import ModelCache, ModelEvalServiceGroupSpec, Toleration
from modeleval.settings import USABLE_LABEL, OperatorSettings

SECRETS, CONFIGMAPS, PVCS, ACCOUNTS = (
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "serviceaccounts",
)
KIND = {
    SECRETS: "Secret",
    CONFIGMAPS: "ConfigMap",
    PVCS: "PersistentVolumeClaim",
    ACCOUNTS: "ServiceAccount",
}
VERB = {SECRETS: "get", CONFIGMAPS: "get", PVCS: "use", ACCOUNTS: "use"}
"""The verb an author must hold on each kind of object the spec names."""
LABELLED = (SECRETS, PVCS, ACCOUNTS)
"""Kinds that need :data:`~modeleval.settings.USABLE_LABEL` when no webhook checks authors."""

NAMED_FIELDS: dict[tuple[type[BaseModel], str], str] = {
    (SecretKeySelector, "name"): SECRETS,
    (ConfigMapKeySelector, "name"): CONFIGMAPS,
    (ConfigMapSource, "name"): CONFIGMAPS,
    (PvcSource, "claim_name"): PVCS,
    (MirrorPvc, "claim_name"): PVCS,
    (ResultsStorage, "claim_name"): PVCS,
    (ModelCache, "claim_name"): PVCS,
    (ModelEvalServiceGroupSpec, "service_account_name"): ACCOUNTS,
    (ModelEvalServiceGroupSpec, "image_pull_secrets"): SECRETS,
}
"""Every API field that names an object in the namespace (a test keeps this complete)."""

REFUSED = "{kind} {name} is refused: {problems}"
"""How the webhook and the operator say no (docs/troubleshooting.md quotes it)."""

CONTROL_PLANE_KEYS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")


@dataclass(frozen=True)
class Access:
    """One object the spec names: ``verb`` on ``resource``/``name``, from ``field``."""

    resource: str
    name: str
    field: str

    @property
    def verb(self) -> str:
        return VERB[self.resource]

    @property
    def kind(self) -> str:
        return KIND[self.resource]

    def denied(self, user: str) -> str:
        """Why the webhook refuses it."""
        return (
            f"{self.field}: user {user} may not {self.verb} {self.kind} {self.name}, "
            "so neither may this object"
        )

    def unlabelled(self) -> str:
        """Why the operator refuses it when no webhook checked the author."""
        return (
            f"{self.field}: {self.kind} {self.name} does not exist or is not labelled "
            f'{USABLE_LABEL}: "true"'
        )


def _alias(model: type[BaseModel], field: str) -> str:
    return model.model_fields[field].alias or field


def _walk(value: Any, path: str) -> Iterator[Access]:
    if isinstance(value, BaseModel):
        model = type(value)
        for field in model.model_fields:
            item = getattr(value, field)
            if item is None:
                continue
            where = f"{path}.{_alias(model, field)}"
            resource = NAMED_FIELDS.get((model, field))
            if resource is None:
                yield from _walk(item, where)
            elif isinstance(item, list):
                for index, name in enumerate(item):
                    yield Access(resource, str(name), f"{where}[{index}]")
            else:
                where = path if field == "name" else where  # a selector: name the selector
                yield Access(resource, str(item), where)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")


def accesses(spec: EvalTaskSpec | ModelEvalServiceGroupSpec) -> list[Access]:
    """Every Secret, ConfigMap, PVC and ServiceAccount ``spec`` names, first field first."""
    return list(_walk(spec, "spec"))


def unique(found: Sequence[Access]) -> list[Access]:
    """One access per object (the first field that names it)."""
    seen: dict[tuple[str, str], Access] = {}
    for access in found:
        seen.setdefault((access.resource, access.name), access)
    return list(seen.values())


def refusal(kind: str, name: str, problems: Sequence[str]) -> str:
    """One message for all ``problems`` of object ``kind``/``name``."""
    return REFUSED.format(kind=kind, name=name, problems="; ".join(problems))


# -- the administrator's policy ------------------------------------------------------------


def normalized_image(image: str) -> str:
    """``image`` with the registry and ``library/`` Docker adds (``nginx`` →
    ``docker.io/library/nginx``), so a pattern may be written either way."""
    first, _, rest = image.partition("/")
    if not rest:
        return f"docker.io/library/{image}"
    if "." in first or ":" in first or first == "localhost":
        return image
    return f"docker.io/{image}"


def image_allowed(image: str, patterns: Sequence[str]) -> bool:
    """``image`` (as written, or normalized) matches one of the glob ``patterns``."""
    forms = {image, normalized_image(image)}
    return any(fnmatch.fnmatchcase(form, pattern) for form in forms for pattern in patterns)


def url_allowed(url: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(url, pattern) for pattern in patterns)


def _tolerates_control_plane(toleration: Toleration) -> bool:
    if toleration.key in CONTROL_PLANE_KEYS:
        return True
    return not toleration.key and toleration.operator == "Exists"  # tolerates every taint


def placement_problems(
    field: str,
    node_selector: dict[str, str] | None,
    tolerations: Sequence[Toleration] | None,
    affinity: dict[str, Any] | None,
    settings: OperatorSettings,
) -> list[str]:
    """Control-plane tolerations, selectors and affinities (unless the administrator allows)."""
    if settings.allow_control_plane:
        return []
    problems = []
    for key in node_selector or {}:
        if key in CONTROL_PLANE_KEYS:
            problems.append(
                f"{field}.nodeSelector: selects control-plane nodes ({key}); "
                "the operator does not place pods there (MODELEVAL_ALLOW_CONTROL_PLANE)"
            )
    for index, toleration in enumerate(tolerations or []):
        if _tolerates_control_plane(toleration):
            problems.append(
                f"{field}.tolerations[{index}]: tolerates the control-plane taint; "
                "the operator does not place pods there (MODELEVAL_ALLOW_CONTROL_PLANE)"
            )
    if affinity and any(key in json.dumps(affinity) for key in CONTROL_PLANE_KEYS):
        problems.append(
            f"{field}.affinity: names control-plane nodes; "
            "the operator does not place pods there (MODELEVAL_ALLOW_CONTROL_PLANE)"
        )
    return problems


def _dataset_urls(field: str, dataset: DataSource | None) -> Iterator[tuple[str, str]]:
    if dataset is not None and dataset.url is not None:
        yield f"{field}.url", dataset.url


def dataset_problems(datasets: Sequence[tuple[str, str]], settings: OperatorSettings) -> list[str]:
    return [
        f"{field}: URL {url} is not allowed: datasets are fetched only from "
        "the URLs the administrator lists (MODELEVAL_ALLOWED_DATASET_URLS)"
        for field, url in datasets
        if not url_allowed(url, settings.allowed_dataset_urls)
    ]


def task_policy(spec: EvalTaskSpec, settings: OperatorSettings) -> list[str]:
    """What the administrator's settings forbid in an EvalTask spec; empty: nothing."""
    problems: list[str] = []
    runner = spec.runner
    allowed_runners = (settings.runner_image, *settings.allowed_runner_images)
    if runner is not None and runner.image and not image_allowed(runner.image, allowed_runners):
        problems.append(
            f"spec.runner.image: image {runner.image} is not allowed: runner pods run only the "
            "operator's runner image and the images the administrator lists "
            "(MODELEVAL_ALLOWED_RUNNER_IMAGES)"
        )
    if runner is not None:
        problems += placement_problems(
            "spec.runner", runner.node_selector, runner.tolerations, None, settings
        )
    urls = list(_dataset_urls("spec.dataset", spec.dataset))
    for index, result in enumerate(spec.existing_results or []):
        urls += _dataset_urls(f"spec.existingResults[{index}].source", result.source)
    benchmark = spec.benchmark
    source = benchmark.source if benchmark is not None else None
    if benchmark is not None and (source is None or source.hub is not None):
        hub = (source.hub if source is not None else None) or HubSource()
        urls.append(("spec.benchmark.source.hub.endpoint", hub.endpoint))
    return problems + dataset_problems(urls, settings)


def group_policy(spec: ModelEvalServiceGroupSpec, settings: OperatorSettings) -> list[str]:
    """What the administrator's settings forbid in a ModelEvalServiceGroup spec."""
    problems: list[str] = []
    if not image_allowed(spec.image, settings.allowed_model_images):
        problems.append(
            f"spec.image: image {spec.image} is not allowed: model servers run only the images "
            "the administrator lists (MODELEVAL_ALLOWED_MODEL_IMAGES)"
        )
    placement = spec.placement
    if placement is not None:
        problems += placement_problems(
            "spec.placement",
            placement.node_selector,
            placement.tolerations,
            placement.affinity,
            settings,
        )
    urls: list[tuple[str, str]] = []
    for index, dataset in enumerate(spec.evaluation.datasets if spec.evaluation else []):
        urls += _dataset_urls(f"spec.evaluation.datasets[{index}]", dataset)
    return problems + dataset_problems(urls, settings)
