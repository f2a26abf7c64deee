"""Secret values are never recorded: everything the runner writes passes through :func:`mask`.

The runner receives every Secret value a task names as an environment variable
(``MODELEVAL_SECRET_*``, docs/dev/CONTRACTS.md). A server may echo a key back — an error body
saying ``invalid key: Bearer sk-…`` — and error texts are recorded: in the predictions and
scores files, ``summary.json``, ``report.html``, the log, the termination message (which the
operator copies into ``status.message`` and an Event) and the status the runner patches. So
each of those writers masks the known values, and the runner's stdout and stderr are wrapped
(:class:`MaskingStream`), tracebacks included.

Known values: those of the ``MODELEVAL_SECRET_*`` variables of this process (read on first
use) and any :func:`remember`-ed; each also in its JSON-escaped, URL-quoted and HTML-escaped
forms. Values shorter than :data:`MIN_LENGTH` are not masked (they would mangle every text
and protect nothing). A value split across two writes of a stream is not recognised; files
and messages are masked whole.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import IO, Any
from urllib.parse import quote

MASK = "***"
SECRET_ENV_PREFIX = "MODELEVAL_SECRET_"
MIN_LENGTH = 4

_remembered: set[str] = set()
_from_env: tuple[str, ...] | None = None
_forms: tuple[str, ...] = ()


def _html(value: str) -> tuple[str, str]:
    """``value`` as HTML escapes it: the stdlib's way and Jinja's (markupsafe's)."""
    amp = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        amp.replace('"', "&quot;").replace("'", "&#x27;"),
        amp.replace('"', "&#34;").replace("'", "&#39;"),
    )


def _rebuild() -> None:
    global _forms
    values = set(_remembered) | set(_from_env or ())
    forms: set[str] = set()
    for value in values:
        if len(value) < MIN_LENGTH:
            continue
        forms.update({value, json.dumps(value)[1:-1], quote(value, safe=""), *_html(value)})
    _forms = tuple(sorted(forms, key=len, reverse=True))


def _known() -> tuple[str, ...]:
    global _from_env
    if _from_env is None:
        _from_env = tuple(
            value for name, value in os.environ.items() if name.startswith(SECRET_ENV_PREFIX)
        )
        _rebuild()
    return _forms


def remember(values: Iterable[str]) -> None:
    """Mask these values too (besides the ``MODELEVAL_SECRET_*`` environment)."""
    _known()
    _remembered.update(v for v in values if v)
    _rebuild()


def reset(env: Mapping[str, str] | None = None) -> None:
    """Forget every value; read ``env`` (default: this process's environment) again."""
    global _from_env
    _remembered.clear()
    source = os.environ if env is None else env
    _from_env = tuple(v for k, v in source.items() if k.startswith(SECRET_ENV_PREFIX))
    _rebuild()


def mask(text: str) -> str:
    """``text`` with every known secret value replaced by ``***``."""
    for form in _known():
        if form in text:
            text = text.replace(form, MASK)
    return text


def mask_data(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings) with every string masked."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {mask_data(k): mask_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_data(item) for item in value]
    return value


class MaskingStream:
    """A text stream that masks what is written to it (the runner's stdout and stderr)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(mask(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def mask_streams() -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` (once) so nothing printed shows a secret."""
    import sys

    if not isinstance(sys.stdout, MaskingStream):
        sys.stdout = MaskingStream(sys.stdout)
    if not isinstance(sys.stderr, MaskingStream):
        sys.stderr = MaskingStream(sys.stderr)
