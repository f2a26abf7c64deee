"""Qianfan's error envelope: ``{"requestId", "code", "message"}`` with an HTTP status of 400 or
more (the SDK raises on any; a 200 with a ``code`` would pass as success), plus the
``X-Bce-Error-Code`` / ``X-Bce-Error-Message`` headers Baidu's gateway sets and the SDKs print.

| Failure | HTTP | code |
|---|---|---|
| bad parameter (names the field) | 400 | ``InappropriateJSON`` |
| body not JSON / not an object | 400 | ``MalformedJSON`` |
| bad ``marker`` (DescribeEvalTasks) | 400 | ``InvalidMarker`` |
| unknown ``Action`` | 400 | ``InvalidURI`` (Qianfan's own code for this is not documented) |
| body over the limit | 413 | ``EntityTooLarge`` |
| no / unusable credentials | 401 | ``AccessDenied`` |
| malformed ``bce-auth-v1`` header | 400 | ``InvalidHTTPAuthHeader`` |
| unknown access key | 403 | ``InvalidAccessKeyId`` |
| wrong signature | 400 | ``SignatureDoesNotMatch`` |
| expired signature | 400 | ``RequestExpired`` |
| RBAC refuses | 403 | ``AccessDenied`` |
| unknown task | 404 | ``NoSuchKey`` (not documented by Qianfan; Baidu's common code) |
| changed meanwhile | 409 | ``Conflict`` |
| Kubernetes API unreachable | 503 | ``ServiceUnavailable`` |
| anything else | 500 | ``InternalError`` |
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from modeleval.console.vendors import errors as e

CODES: dict[str, tuple[int, str]] = {
    e.INVALID: (400, "InappropriateJSON"),
    e.MALFORMED: (400, "MalformedJSON"),
    e.TOO_LARGE: (413, "EntityTooLarge"),
    e.UNAUTHENTICATED: (401, "AccessDenied"),
    e.DENIED: (403, "AccessDenied"),
    e.NOT_FOUND: (404, "NoSuchKey"),
    e.CONFLICT: (409, "Conflict"),
    e.UNAVAILABLE: (503, "ServiceUnavailable"),
    e.INTERNAL: (500, "InternalError"),
}


def _header(text: str) -> str:
    """Header-safe: ASCII, one line, bounded."""
    return " ".join(text.encode("ascii", "replace").decode("ascii").split())[:400]


def error_response(request_id: str, error: e.VendorError) -> JSONResponse:
    status, code = CODES.get(error.kind, CODES[e.INTERNAL])
    status, code = error.status or status, error.code or code
    return JSONResponse(
        {"requestId": request_id, "code": code, "message": error.message},
        status_code=status,
        headers={
            "X-Bce-Request-Id": request_id,
            "X-Bce-Error-Code": code,
            "X-Bce-Error-Message": _header(error.message),
        },
    )
