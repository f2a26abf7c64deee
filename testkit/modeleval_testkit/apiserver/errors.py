"""`ApiError`: a failed request, answered as a Kubernetes ``Status`` object."""

from __future__ import annotations

from typing import Any

from modeleval_testkit.apiserver.fielderrors import FieldError

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "InternalError",
}


class ApiError(Exception):
    """An error answered with ``code`` and a ``Status`` body."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details

    def status(self) -> dict[str, Any]:
        """The ``Status`` object of this error."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(group: str, kind_plural: str, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": kind_plural}
    if group:
        details["group"] = group
    return details


def qualified(plural: str, group: str) -> str:
    """``jobs.batch``, ``pods`` (core group)."""
    return f"{plural}.{group}" if group else plural


def not_found(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        404, f'{qualified(plural, group)} "{name}" not found', details=_details(group, plural, name)
    )


def already_exists(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        409,
        f'{qualified(plural, group)} "{name}" already exists',
        reason="AlreadyExists",
        details=_details(group, plural, name),
    )


def conflict(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {qualified(plural, group)} "{name}": the object has been'
        " modified; please apply your changes to the latest version and try again",
        details=_details(group, plural, name),
    )


def invalid(kind: str, group: str, name: str, causes: list[FieldError]) -> ApiError:
    """422 Invalid, e.g. ``Widget.example.test "w" is invalid: spec.size: Invalid value: …``."""
    texts = [str(cause) for cause in causes]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details = _details(group, kind, name)
    details["causes"] = [cause.as_cause() for cause in causes]
    return ApiError(
        422, f'{kind}{"." + group if group else ""} "{name}" is invalid: {summary}', details=details
    )


def forbidden(
    user: str, verb: str, group: str, resource: str, namespace: str, name: str
) -> ApiError:
    target = (
        f'{qualified(resource.split("/")[0], group)} "{name}"'
        if name
        else qualified(resource.split("/")[0], group)
    )
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    message = (
        f'{target} is forbidden: User "{user}" cannot {verb} resource "{resource}"'
        f' in API group "{group}"{where}'
    )
    return ApiError(403, message, details=_details(group, resource.split("/")[0], name))
