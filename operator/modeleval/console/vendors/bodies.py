"""Reading a vendor request's JSON body: bounded, parsed strictly, and checked field by field.

    body = await read_json_object(request, limit)   # dict, or VendorError
    parsed = parse_model(CreateEvalTask, body)      # the model, or VendorError naming the field

A body over ``limit`` bytes is refused before it is read (``Content-Length``) or as soon as it
passes the limit (chunked). JSON must be an object; ``NaN``/``Infinity`` and absurd nesting are
malformed rather than errors deeper down. Field errors name the path as the vendor spells it
(``evalObjectConfig.evalModelConfig.evalModelConfigList[0].params.temperature``).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from modeleval.api.validation import error_lines, field_path
from modeleval.console.vendors.errors import MALFORMED, TOO_LARGE, VendorError

Model = TypeVar("Model", bound=BaseModel)
SHOWN = 3
"""Problems named in one message before "(and N more)"."""


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise VendorError(
            TOO_LARGE, f"the request body is {declared} bytes; at most {limit} are accepted"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise VendorError(
                TOO_LARGE, f"the request body is over {limit} bytes; at most {limit} are accepted"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json_object(raw: bytes, *, empty: dict[str, Any] | None = None) -> dict[str, Any]:
    """The body as a JSON object (``empty`` when there is no body and that is allowed)."""
    if not raw.strip() and empty is not None:
        return dict(empty)
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise VendorError(
            MALFORMED, f"The JSON you provided was not well-formed: {reason}"
        ) from None
    if not isinstance(value, dict):
        raise VendorError(
            MALFORMED,
            f"The JSON you provided was not well-formed: expected an object, got "
            f"{type(value).__name__}",
        )
    return value


async def read_json_object(
    request: Request, limit: int, *, empty: dict[str, Any] | None = None
) -> dict[str, Any]:
    return parse_json_object(await read_body(request, limit), empty=empty)


def error_message(exc: ValidationError) -> tuple[str, str]:
    """``(first field, message naming every field)`` of a validation error."""
    errors = exc.errors()
    first = field_path(tuple(errors[0]["loc"]), brackets=True) if errors else ""
    lines = [line.replace(": Value error, ", ": ") for line in error_lines(exc, brackets=True)]
    more = len(lines) - SHOWN
    return first, "; ".join(lines[:SHOWN]) + (f" (and {more} more)" if more > 0 else "")


def check_manifest(model: type[BaseModel], manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` if ``model`` (an API kind) accepts it, as the API server would; else a
    `VendorError` (``invalid``) naming the fields."""
    try:
        model.model_validate(manifest)
    except ValidationError as exc:
        first, text = error_message(exc)
        kind = manifest.get("kind", model.__name__)
        raise VendorError(
            "invalid", f"the request makes an invalid {kind}: {text}", field=first or None
        ) from None
    return manifest


def parse_model(model: type[Model], body: dict[str, Any]) -> Model:
    """Validate ``body`` against ``model``; a `VendorError` (``invalid``) names the fields."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first, text = error_message(exc)
        raise VendorError("invalid", text, field=first or None) from None
