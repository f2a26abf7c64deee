"""ZStack's error envelope: ``{"success": false, "error": {"code", "description", "details"}}``.

| Failure | HTTP | code |
|---|---|---|
| bad parameter or query (names the field) | 400 | ``SYS.1007`` (invalid argument) |
| body not JSON / not an object, or over the limit | 400 / 413 | ``SYS.1007`` |
| no or invalid session token | 401 | ``ID.1001`` (invalid session) |
| RBAC refuses | 403 | ``ID.1002`` (permission denied) |
| unknown uuid (PUT on a deleted group…) | 404 | ``SYS.1003`` (resource not found) |
| changed meanwhile, or a name taken | 409 | ``SYS.1006`` (operation error) |
| Kubernetes API unreachable, or a bug | 503 / 500 | ``SYS.1000`` (internal) |

ZStack itself answers most API failures with HTTP 503 and the same ``error`` object; here the
status says what happened, and clients that read ``error`` (both ZStack SDKs) see ZStack's
codes either way.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from modeleval.console.vendors import errors as e

CODES: dict[str, tuple[int, str, str]] = {
    e.INVALID: (400, "SYS.1007", "One or more API argument is invalid"),
    e.MALFORMED: (400, "SYS.1007", "One or more API argument is invalid"),
    e.TOO_LARGE: (413, "SYS.1007", "One or more API argument is invalid"),
    e.UNAUTHENTICATED: (401, "ID.1001", "Invalid session"),
    e.DENIED: (403, "ID.1002", "Permission denied"),
    e.NOT_FOUND: (404, "SYS.1003", "Resource not found"),
    e.CONFLICT: (409, "SYS.1006", "Operation error"),
    e.UNAVAILABLE: (503, "SYS.1000", "An internal error happened in system"),
    e.INTERNAL: (500, "SYS.1000", "An internal error happened in system"),
}


def error_response(error: e.VendorError) -> JSONResponse:
    status, code, description = CODES.get(error.kind, CODES[e.INTERNAL])
    return JSONResponse(
        {
            "success": False,
            "error": {"code": code, "description": description, "details": error.message},
        },
        status_code=error.status or status,
    )
