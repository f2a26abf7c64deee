"""Bytes read from a user's file as UTF-8 text, or an error naming the line and column of the
first byte that is not (``data.jsonl:3: not UTF-8 text (byte 0xff at column 12)``)."""

from __future__ import annotations

import codecs
from collections.abc import Callable


def decode_utf8(
    data: bytes, name: str, *, error: Callable[[str], Exception], first_line: int = 1
) -> str:
    """``data`` as text; a BOM at the very start (``first_line`` 1) is dropped. Bytes that are
    not UTF-8 raise ``error(message)``; ``first_line`` is the line ``data`` starts at in
    ``name``, for a caller decoding line by line."""
    if first_line == 1 and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = exc.start
        line = first_line + data.count(b"\n", 0, bad)
        column = bad - (data.rfind(b"\n", 0, bad) + 1) + 1
        raise error(
            f"{name}:{line}: not UTF-8 text (byte 0x{data[bad]:02x} at column {column})"
        ) from None
