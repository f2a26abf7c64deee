"""Why a vendor request failed, said once for both vendors.

Shared code raises `VendorError` with a *kind*; each vendor's router turns the kind into its
own envelope, HTTP status and code (Qianfan: ``{requestId, code, message}``; ZStack:
``{"error": {code, description, details}}``). ``field`` names the request field at fault, in
the vendor's own spelling (``evalConfig.evalMode``, ``datasetUuids[1]``).
"""

from __future__ import annotations

INVALID = "invalid"
"""A parameter is missing, of the wrong type or out of range (names ``field``)."""
MALFORMED = "malformed"
"""The body is not JSON (or not a JSON object)."""
TOO_LARGE = "too_large"
"""The body is over ``vendor_max_body_bytes``."""
UNAUTHENTICATED = "unauthenticated"
"""No credentials, or credentials that prove nothing."""
DENIED = "denied"
"""The caller is known and not allowed (RBAC)."""
NOT_FOUND = "not_found"
"""The object named by an id does not exist (or the caller may not see that it does)."""
CONFLICT = "conflict"
"""The object changed meanwhile, or a name is taken by something else."""
UNAVAILABLE = "unavailable"
"""The Kubernetes API could not be reached or failed."""
INTERNAL = "internal"
"""A bug: logged with its traceback, answered without it."""


class VendorError(Exception):
    """A refused or failed vendor request; ``code``/``status`` override the vendor's mapping
    of ``kind`` (Qianfan signature errors carry Baidu's own)."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field
        self.code = code
        self.status = status


def invalid(field: str, message: str) -> VendorError:
    """``<field>: <message>``, naming the field in the message too."""
    return VendorError(INVALID, f"{field}: {message}", field=field)
