"""Vendor references to things in the cluster, looked up as the caller (`ClusterResolver`).

- a model or judge (Qianfan ``modelId``, ``apiName``; ZStack ``modelServiceGroupUuids[]``) is
  the ModelEvalServiceGroup of the namespace with that name, else the one whose
  ``spec.modelId`` it is, else the one with that ZStack uuid; when the caller may not list
  groups, a valid group name is taken as given;
- a dataset id (``versionId``, ``inferDatasetId``, ``datasetUuids[]``) is a source
  (`modeleval.console.vendors.ids.dataset_source`); a plain name is a ConfigMap of the
  namespace, read as the caller to find its dataset key.

Every failure names the vendor field it came from.
"""

from __future__ import annotations

from typing import Any

from modeleval import constants as c
from modeleval.console.vendors import ids
from modeleval.console.vendors.cluster import Cluster
from modeleval.console.vendors.errors import DENIED, VendorError, invalid


class ClusterResolver:
    def __init__(self, cluster: Cluster, token: str, namespace: str) -> None:
        self.cluster = cluster
        self.token = token
        self.namespace = namespace
        self._groups: list[dict[str, Any]] | None = None
        self._listed = False

    def groups(self) -> list[dict[str, Any]] | None:
        """The namespace's groups (None: the caller may not list them)."""
        if not self._listed:
            try:
                self._groups = self.cluster.list_in(
                    self.token, c.SERVICE_GROUP_PLURAL, self.namespace
                )
            except VendorError as exc:
                if exc.kind != DENIED:
                    raise
                self._groups = None
            self._listed = True
        return self._groups

    def group_object(self, ref: str) -> dict[str, Any] | None:
        scored = [(ids.group_matches(g, ref), g) for g in self.groups() or []]
        scored = [pair for pair in scored if pair[0] > 0]
        if not scored:
            return None
        return max(scored, key=lambda pair: pair[0])[1]

    def group(self, ref: str, field: str) -> str:
        found = self.group_object(ref)
        if found is not None:
            return ids.name(found)
        if self.groups() is None and ids.DNS_SUBDOMAIN.match(ref):
            return ref
        raise invalid(
            field,
            f"no ModelEvalServiceGroup in namespace {self.namespace} serves {ref!r} (looked up "
            "by name, spec.modelId and uuid)",
        )

    def dataset(self, value: str, field: str) -> dict[str, Any]:
        try:
            source, configmap = ids.dataset_source(value)
        except ValueError as exc:
            raise invalid(field, str(exc)) from None
        if source is None:
            assert configmap is not None
            try:
                found = self.cluster.get_configmap(self.token, self.namespace, configmap)
            except VendorError as exc:
                exc.message = f"{field}: {exc.message}"
                exc.field = field
                raise
            if found is None:
                raise invalid(
                    field,
                    f"no ConfigMap {configmap} in namespace {self.namespace} (a dataset id names "
                    "a ConfigMap, <configmap>/<key>, pvc:<claim>/<path>, s3://bucket/key or a URL)",
                )
            try:
                key = ids.configmap_key(found)
            except ValueError as exc:
                raise invalid(field, str(exc)) from None
            source = {"configMap": {"name": configmap, "key": key}}
        return ids.dataset_spec(value, source)
