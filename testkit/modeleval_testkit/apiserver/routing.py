"""Turn a request path and method into a resource target and an RBAC verb."""

from __future__ import annotations

from dataclasses import dataclass

from modeleval_testkit.apiserver.errors import ApiError
from modeleval_testkit.apiserver.resources import Registry, ResourceInfo

NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True)
class Target:
    """The resource a request addresses."""

    info: ResourceInfo
    namespace: str
    name: str
    subresource: str

    @property
    def is_collection(self) -> bool:
        return not self.name


def parse(registry: Registry, path: str) -> Target | None:
    """Parse ``/api/v1/…`` and ``/apis/<g>/<v>/…`` paths; None for other paths."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        raise ApiError(404, "the server could not find the requested resource")
    info = registry.lookup(group, version, rest[0])
    if info is None:
        raise ApiError(404, "the server could not find the requested resource")
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if sub and sub not in info.subresources:
        raise ApiError(404, "the server could not find the requested resource")
    if namespace and not info.namespaced:
        raise ApiError(404, "the server could not find the requested resource")
    return Target(info, namespace, name, sub)


def verb(method: str, target: Target, watch: bool) -> str:
    """The RBAC verb of a request."""
    collection = target.is_collection
    if method == "GET":
        if watch:
            return "watch"
        return "list" if collection else "get"
    verbs = {"POST": "create", "PUT": "update", "PATCH": "patch"}
    if method in verbs:
        if (method == "POST") != collection and target.subresource != "token":
            raise ApiError(405, f"{method} is not supported on this path")
        return verbs[method]
    if method == "DELETE":
        return "deletecollection" if collection else "delete"
    raise ApiError(405, f"method {method} is not allowed")
