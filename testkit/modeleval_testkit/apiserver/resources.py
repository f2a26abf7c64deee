"""The kinds the emulator serves: built-in resources and those registered by CRDs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS = {
    "status": ("get", "patch", "update"),
    "scale": ("get", "patch", "update"),
    "token": ("create",),
    "log": ("get",),
}
SCALE_KIND = ("autoscaling", "v1", "Scale")
"""The kind (group, version, kind) of the built-in workloads' ``scale`` subresource."""


@dataclass(frozen=True)
class ResourceInfo:
    """One served resource (``group``/``version``/``plural``) and how it behaves."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = VERBS
    crd: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    """The CustomResourceDefinition that registered this resource (None for built-ins)."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        """Storage key: objects are stored per group and plural, whatever the version."""
        return (self.group, self.plural)

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def discovery(self) -> list[dict[str, Any]]:
        """The entries of this resource in an ``APIResourceList``."""
        main: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            main["shortNames"] = list(self.short_names)
        if self.categories:
            main["categories"] = list(self.categories)
        entries = [main]
        for sub in self.subresources:
            entry: dict[str, Any] = {
                "name": f"{self.plural}/{sub}",
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": "TokenRequest" if sub == "token" else self.kind,
                "verbs": list(SUBRESOURCE_VERBS.get(sub, ("get",))),
            }
            if sub == "scale":
                entry["group"], entry["version"], entry["kind"] = SCALE_KIND
            entries.append(entry)
        return entries


def _r(
    group: str,
    version: str,
    plural: str,
    kind: str,
    *,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    subresources: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
) -> ResourceInfo:
    return ResourceInfo(
        group=group,
        version=version,
        plural=plural,
        singular=kind.lower(),
        kind=kind,
        namespaced=namespaced,
        short_names=short,
        categories=categories,
        subresources=subresources,
    )


ALL = ("all",)
BUILTINS: tuple[ResourceInfo, ...] = (
    _r(
        "",
        "v1",
        "namespaces",
        "Namespace",
        namespaced=False,
        short=("ns",),
        subresources=("status",),
    ),
    _r("", "v1", "pods", "Pod", short=("po",), subresources=("status", "log"), categories=ALL),
    _r("", "v1", "services", "Service", short=("svc",), subresources=("status",), categories=ALL),
    _r("", "v1", "configmaps", "ConfigMap", short=("cm",)),
    _r("", "v1", "secrets", "Secret"),
    _r("", "v1", "serviceaccounts", "ServiceAccount", short=("sa",), subresources=("token",)),
    _r("", "v1", "events", "Event", short=("ev",)),
    _r(
        "",
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        short=("pvc",),
        subresources=("status",),
    ),
    _r("events.k8s.io", "v1", "events", "Event", short=("ev",)),
    _r(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        short=("deploy",),
        subresources=("status", "scale"),
        categories=ALL,
    ),
    _r(
        "apps",
        "v1",
        "replicasets",
        "ReplicaSet",
        short=("rs",),
        subresources=("status", "scale"),
        categories=ALL,
    ),
    _r("batch", "v1", "jobs", "Job", subresources=("status",), categories=ALL),
    _r("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False),
    _r(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        namespaced=False,
    ),
    _r("coordination.k8s.io", "v1", "leases", "Lease"),
    _r(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        namespaced=False,
    ),
    ResourceInfo(
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "",
        "SelfSubjectAccessReview",
        namespaced=False,
        verbs=("create",),
    ),
    ResourceInfo(
        "authentication.k8s.io",
        "v1",
        "tokenreviews",
        "",
        "TokenReview",
        namespaced=False,
        verbs=("create",),
    ),
    ResourceInfo(
        "authorization.k8s.io",
        "v1",
        "subjectaccessreviews",
        "",
        "SubjectAccessReview",
        namespaced=False,
        verbs=("create",),
    ),
    _r(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        namespaced=False,
        short=("crd", "crds"),
        subresources=("status",),
    ),
)


def from_crd(crd: dict[str, Any]) -> list[ResourceInfo]:
    """One `ResourceInfo` per served version of a CustomResourceDefinition."""
    spec = crd["spec"]
    names = spec["names"]
    infos = []
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        subs = tuple(s for s in ("status", "scale") if s in version.get("subresources", {}))
        infos.append(
            ResourceInfo(
                group=spec["group"],
                version=version["name"],
                plural=names["plural"],
                singular=names.get("singular", names["kind"].lower()),
                kind=names["kind"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames", ())),
                categories=tuple(names.get("categories", ())),
                subresources=subs,
                crd=crd,
            )
        )
    return infos


def crd_version(info: ResourceInfo) -> dict[str, Any]:
    """The ``spec.versions[]`` entry of a custom resource's CRD for its version."""
    assert info.crd is not None
    for version in info.crd["spec"]["versions"]:
        if version["name"] == info.version:
            return dict(version)
    return {}


class Registry:
    """Served resources, indexed for routing and discovery."""

    def __init__(self) -> None:
        self.by_path: dict[tuple[str, str, str], ResourceInfo] = {}
        self.by_kind: dict[tuple[str, str], ResourceInfo] = {}
        for info in BUILTINS:
            self.add(info)

    def add(self, info: ResourceInfo) -> None:
        self.by_path[(info.group, info.version, info.plural)] = info
        self.by_kind[(info.api_version, info.kind)] = info

    def remove_crd(self, crd_name: str) -> list[ResourceInfo]:
        gone = [i for i in self.by_path.values() if i.crd and i.crd["metadata"]["name"] == crd_name]
        for info in gone:
            del self.by_path[(info.group, info.version, info.plural)]
            self.by_kind.pop((info.api_version, info.kind), None)
        return gone

    def lookup(self, group: str, version: str, plural: str) -> ResourceInfo | None:
        return self.by_path.get((group, version, plural))

    def for_object(self, obj: dict[str, Any]) -> ResourceInfo | None:
        return self.by_kind.get((obj.get("apiVersion", ""), obj.get("kind", "")))

    def groups(self) -> dict[str, list[str]]:
        """Group → served versions (core group under ``""``)."""
        out: dict[str, list[str]] = {}
        for group, version, _ in self.by_path:
            versions = out.setdefault(group, [])
            if version not in versions:
                versions.append(version)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceInfo]:
        return [i for (g, v, _), i in self.by_path.items() if g == group and v == version]
