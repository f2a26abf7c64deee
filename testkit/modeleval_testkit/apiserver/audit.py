"""The request log, and the comparison of what was used with what was granted.

Every API request is recorded as a `RequestRecord` (appending is O(1); nothing re-reads the log
while serving). `compare_permissions` tells which recorded calls the given rules do not grant
and which granted (group, resource, verb) triples no call used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from modeleval_testkit.apiserver.auth import UserInfo
from modeleval_testkit.apiserver.rbac import Attributes, allows, rule_allows, rules_from_manifests


@dataclass(frozen=True)
class RequestRecord:
    """One API request: who, what (RBAC attributes) and the answer's status code."""

    user: str
    verb: str
    api_group: str
    resource: str
    subresource: str
    namespace: str
    name: str
    code: int
    method: str = ""
    path: str = ""

    @property
    def attributes(self) -> Attributes:
        return Attributes(
            self.verb, self.api_group, self.resource, self.subresource, self.namespace, self.name
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Grant:
    """One (apiGroup, resource, verb) triple a rule grants; ``resource`` may be ``jobs/status``."""

    api_group: str
    resource: str
    verb: str

    def __str__(self) -> str:
        return f"{self.verb} {self.resource}" + (f".{self.api_group}" if self.api_group else "")


class RequestLog(list[RequestRecord]):
    """All recorded requests, oldest first; a list with a few filters."""

    def by_user(self, user: str) -> list[RequestRecord]:
        return [r for r in self if r.user == user]

    def resource_calls(self, user: str | None = None) -> list[RequestRecord]:
        """Requests on resources (discovery and other non-resource paths left out)."""
        return [r for r in self if r.resource and (user is None or r.user == user)]


def grants(rules: Iterable[dict[str, Any]]) -> list[Grant]:
    """Expand PolicyRules into (group, resource, verb) triples (wildcards kept as ``*``)."""
    out: list[Grant] = []
    for rule in rules:
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                for verb in rule.get("verbs") or []:
                    grant = Grant(group, resource, verb)
                    if grant not in out:
                        out.append(grant)
    return out


def _grant_used(grant: Grant, records: list[RequestRecord]) -> bool:
    rule = {"apiGroups": [grant.api_group], "resources": [grant.resource], "verbs": [grant.verb]}
    return any(rule_allows(rule, r.attributes) for r in records)


RuleSource = list[dict[str, Any]] | Callable[[str], list[dict[str, Any]]]
"""PolicyRules: one list for every namespace, or a function namespace → rules ("" = cluster)."""


def compare_permissions(
    records: Iterable[RequestRecord],
    rules: RuleSource,
    *,
    user: str | None = None,
    namespaces: Iterable[str] = (),
) -> tuple[list[RequestRecord], list[Grant]]:
    """``(calls not granted, grants never used)`` for ``user``'s resource calls (all when None).

    Calls are deduplicated by their RBAC attributes (status code ignored). ``resourceNames``
    restrictions count when checking calls, not when checking use. When ``rules`` is a
    function, grants are collected from the cluster scope, every namespace called in and
    ``namespaces``.
    """

    def rules_in(namespace: str) -> list[dict[str, Any]]:
        return rules(namespace) if callable(rules) else rules

    calls = [r for r in records if r.resource and (user is None or r.user == user)]
    not_granted: list[RequestRecord] = []
    seen: set[tuple[str, ...]] = set()
    for record in calls:
        key = (
            record.verb,
            record.api_group,
            record.resource,
            record.subresource,
            record.namespace,
            record.name,
        )
        if key in seen:
            continue
        seen.add(key)
        if not allows(rules_in(record.namespace), record.attributes):
            not_granted.append(record)
    scopes = dict.fromkeys(["", *(r.namespace for r in calls), *namespaces])
    all_rules = [rule for scope in scopes for rule in rules_in(scope)]
    unused = [g for g in grants(all_rules) if not _grant_used(g, calls)]
    return not_granted, unused


def compare_with_manifests(
    records: Iterable[RequestRecord], manifests: Iterable[dict[str, Any]], user: UserInfo
) -> tuple[list[RequestRecord], list[Grant]]:
    """`compare_permissions` with the rules that RBAC ``manifests`` grant ``user``.

    E.g. ``compare_with_manifests(server.request_log, load_documents(["manifests/rbac"]),
    service_account_user("modeleval-system", "modeleval-operator"))``.
    """
    docs = [d for d in manifests if isinstance(d, dict)]
    bound = [d["metadata"].get("namespace", "") for d in docs if d.get("kind") == "RoleBinding"]
    return compare_permissions(
        records,
        lambda namespace: rules_from_manifests(docs, user, namespace),
        user=user.name,
        namespaces=bound,
    )
