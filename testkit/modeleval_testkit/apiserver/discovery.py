"""Discovery documents: ``/version``, ``/api[/v1]``, ``/apis[/<g>[/<v>]]``, OpenAPI.

Answers are the legacy (unaggregated) documents with ``Content-Type: application/json``;
clients that ask for aggregated discovery fall back to them. OpenAPI documents are minimal:
clients that use them for validation should pass ``--validate=false``.
"""

from __future__ import annotations

from typing import Any

from modeleval_testkit.apiserver.resources import Registry

Obj = dict[str, Any]
VERSION = {
    "major": "1",
    "minor": "35",
    "gitVersion": "v1.35.0-modeleval-emulator",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.25",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def document(registry: Registry, path: str, address: str) -> Obj | None:
    """The discovery document at ``path`` (None when ``path`` is not a discovery path)."""
    parts = [p for p in path.split("/") if p]
    groups = registry.groups()
    if parts == ["version"]:
        return VERSION
    if parts == ["api"]:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
        }
    if parts == ["api", "v1"]:
        return resource_list(registry, "", "v1")
    if parts == ["apis"]:
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [group_doc(g, v) for g, v in sorted(groups.items()) if g],
        }
    if len(parts) == 2 and parts[0] == "apis" and parts[1] in groups:
        return {"kind": "APIGroup", "apiVersion": "v1", **group_doc(parts[1], groups[parts[1]])}
    if len(parts) == 3 and parts[0] == "apis" and parts[2] in groups.get(parts[1], []):
        return resource_list(registry, parts[1], parts[2])
    if parts == ["openapi", "v3"]:
        return {
            "paths": {
                (f"apis/{g}/{v}" if g else f"api/{v}"): {
                    "serverRelativeURL": f"/openapi/v3/{'apis/' + g if g else 'api'}/{v}?hash=0"
                }
                for g, versions in groups.items()
                for v in versions
            }
        }
    if len(parts) >= 4 and parts[:2] == ["openapi", "v3"]:
        group, version = (
            (parts[3], parts[4]) if parts[2] == "apis" and len(parts) == 5 else ("", parts[3])
        )
        if version in groups.get(group, []):
            return openapi_v3(registry, group, version)
    return None


def openapi_v3(registry: Registry, group: str, version: str) -> Obj:
    """A skeleton OpenAPI v3 document: PATCH operations that declare ``fieldValidation``.

    kubectl reads it to learn that the server validates fields itself, so it skips its own
    client-side validation (which needs the full protobuf OpenAPI v2 document).
    """
    paths: Obj = {}
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    for info in registry.in_group_version(group, version):
        scope = "/namespaces/{namespace}" if info.namespaced else ""
        gvk = {"group": group, "version": version, "kind": info.kind}
        paths[f"{prefix}{scope}/{info.plural}/{{name}}"] = {
            "patch": {
                "x-kubernetes-group-version-kind": gvk,
                "parameters": [
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "OK"}},
            }
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": VERSION["gitVersion"]},
        "paths": paths,
    }


def group_doc(group: str, versions: list[str]) -> Obj:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def resource_list(registry: Registry, group: str, version: str) -> Obj:
    resources = []
    for info in sorted(registry.in_group_version(group, version), key=lambda i: i.plural):
        resources.extend(info.discovery())
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }
