"""RBAC: Roles, ClusterRoles and their bindings decide what a user may do.

`rules_for` and `allows` are pure functions over RBAC objects (dicts), usable on manifests
as well as on the emulator's store; `Authorizer` applies them to requests with a cache that is
dropped whenever any RBAC object changes. ClusterRole aggregation is not implemented.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from modeleval_testkit.apiserver.auth import UserInfo
from modeleval_testkit.apiserver.store import Store

Obj = dict[str, Any]
RBAC = "rbac.authorization.k8s.io"
KINDS = {k: (RBAC, k) for k in ("roles", "rolebindings", "clusterroles", "clusterrolebindings")}


@dataclass(frozen=True)
class Attributes:
    """What a request does, in RBAC terms."""

    verb: str
    group: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def full_resource(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def subject_matches(subject: Obj, user: UserInfo, binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return name == user.name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return user.name == f"system:serviceaccount:{namespace}:{name}"
    return False


def rule_allows(rule: Obj, attrs: Attributes) -> bool:
    """Whether one PolicyRule grants ``attrs``."""
    verbs = rule.get("verbs") or []
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    groups = rule.get("apiGroups") or []
    if "*" not in groups and attrs.group not in groups:
        return False
    resources = rule.get("resources") or []
    wanted = attrs.full_resource
    if not (
        "*" in resources
        or wanted in resources
        or (attrs.subresource and f"*/{attrs.subresource}" in resources)
        or (attrs.subresource and f"{attrs.resource}/*" in resources)
    ):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def allows(rules: Iterable[Obj], attrs: Attributes) -> bool:
    return any(rule_allows(rule, attrs) for rule in rules)


def rules_for(
    user: UserInfo,
    namespace: str,
    *,
    role: Callable[[str, str, str], Obj | None],
    cluster_bindings: Iterable[Obj],
    bindings: Iterable[Obj],
) -> list[Obj]:
    """The PolicyRules granted to ``user`` in ``namespace`` (cluster-wide when empty).

    ``role(kind, namespace, name)`` looks up a Role or ClusterRole; ``bindings`` are the
    RoleBindings of ``namespace``.
    """
    rules: list[Obj] = []
    pairs = [(b, "") for b in cluster_bindings]
    if namespace:
        pairs += [(b, namespace) for b in bindings]
    for binding, ns in pairs:
        if not any(subject_matches(s, user, ns) for s in binding.get("subjects") or []):
            continue
        ref = binding.get("roleRef") or {}
        kind = ref.get("kind", "ClusterRole")
        found = role(kind, ns if kind == "Role" else "", ref.get("name", ""))
        if found is not None:
            rules.extend(found.get("rules") or [])
    return rules


def rules_from_manifests(manifests: Iterable[Obj], user: UserInfo, namespace: str) -> list[Obj]:
    """`rules_for` over a list of RBAC manifests (e.g. loaded from ``manifests/rbac``)."""
    docs = [m for m in manifests if isinstance(m, dict)]
    roles = {
        (
            d["kind"],
            d["metadata"].get("namespace", "") if d["kind"] == "Role" else "",
            d["metadata"]["name"],
        ): d
        for d in docs
        if d.get("kind") in ("Role", "ClusterRole")
    }
    return rules_for(
        user,
        namespace,
        role=lambda kind, ns, name: roles.get((kind, ns, name)),
        cluster_bindings=[d for d in docs if d.get("kind") == "ClusterRoleBinding"],
        bindings=[
            d
            for d in docs
            if d.get("kind") == "RoleBinding"
            and d["metadata"].get("namespace", namespace) == namespace
        ],
    )


class Authorizer:
    """Decides requests from the RBAC objects in a `Store`, caching rules per user."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[tuple[UserInfo, str], list[Obj]] = {}
        self._seen: tuple[int, ...] = ()

    def _version(self) -> tuple[int, ...]:
        history = self.store.history
        return tuple(history[k][-1].rv if history.get(k) else 0 for k in KINDS.values())

    def rules(self, user: UserInfo, namespace: str) -> list[Obj]:
        version = self._version()
        if version != self._seen:
            self._cache.clear()
            self._seen = version
        key = (user, namespace)
        if key not in self._cache:
            store = self.store

            def role(kind: str, ns: str, name: str) -> Obj | None:
                return store.get(KINDS["roles" if kind == "Role" else "clusterroles"], ns, name)

            self._cache[key] = rules_for(
                user,
                namespace,
                role=role,
                cluster_bindings=list(store.iter(KINDS["clusterrolebindings"])),
                bindings=list(store.iter(KINDS["rolebindings"], namespace)) if namespace else [],
            )
        return self._cache[key]

    def authorize(self, user: UserInfo, attrs: Attributes) -> bool:
        if user.is_superuser:
            return True
        return allows(self.rules(user, attrs.namespace), attrs)
