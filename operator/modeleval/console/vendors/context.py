"""What every vendor action needs: the settings, the callers, the cluster; and the two steps
they all share — find an object by vendor id and check the caller may act on it, or list what
the caller may list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modeleval.console.kubeapi import ResourceCheck
from modeleval.console.settings import ConsoleSettings
from modeleval.console.vendors import ids
from modeleval.console.vendors.callers import Caller, Callers
from modeleval.console.vendors.cluster import Cluster, VendorKube
from modeleval.console.vendors.errors import NOT_FOUND, VendorError, invalid


@dataclass
class VendorContext:
    settings: ConsoleSettings
    callers: Callers
    cluster: Cluster

    @classmethod
    def build(cls, settings: ConsoleSettings, kube: VendorKube) -> VendorContext:
        return cls(settings, Callers(settings, kube), Cluster(kube))

    def token(self, caller: Caller) -> str:
        return self.callers.token_for(caller)

    def namespace_for(self, caller: Caller, requested: str | None, field: str) -> str:
        """Where a caller's new object goes: as requested, else an access key's
        ServiceAccount namespace, else the vendor namespace setting."""
        namespace = requested or caller.home_namespace or self.settings.vendor_namespace
        if not ids.DNS_LABEL.match(namespace):
            raise invalid(field, f"{namespace!r} is not a namespace name (DNS-1123 label)")
        return namespace

    def locate(
        self,
        caller: Caller,
        plural: str,
        vendor_id: str,
        verb: str,
        *,
        group: bool = False,
        what: str = "object",
    ) -> dict[str, Any]:
        """The object ``vendor_id`` names, read as the caller after a SubjectAccessReview for
        ``verb`` on it; `VendorError` not_found / denied otherwise."""
        found = self.cluster.find(plural, lambda obj: ids.has_id(obj, vendor_id, group=group))
        missing = VendorError(
            NOT_FOUND, f"The resource you requested does not exist: no {what} {vendor_id}"
        )
        if found is None:
            raise missing
        namespace, name = ids.namespace(found), ids.name(found)
        self.callers.require(caller, ResourceCheck(verb, namespace, name, resource=plural))
        current = self.cluster.get(self.token(caller), plural, namespace, name)
        if current is None or not ids.has_id(current, vendor_id, group=group):
            raise missing  # deleted (or replaced by a namesake) meanwhile
        return current

    def visible(
        self, caller: Caller, plural: str, keep: Callable[[str], bool] = lambda _ns: True
    ) -> list[dict[str, Any]]:
        """Every ``plural`` object in the namespaces the caller may ``list`` (each namespace
        checked with a SubjectAccessReview, then listed as the caller)."""
        namespaces = sorted({ids.namespace(obj) for obj in self.cluster.index(plural, fresh=True)})
        allowed = [
            ns
            for ns in namespaces
            if keep(ns) and self.callers.may(caller, ResourceCheck("list", ns, resource=plural))
        ]
        if not allowed:
            return []
        token = self.token(caller)
        found: list[dict[str, Any]] = []
        for namespace in allowed:
            try:
                found.extend(self.cluster.list_in(token, plural, namespace))
            except VendorError as exc:
                if exc.kind != NOT_FOUND:
                    raise
        return found
