"""modeleval.text: UTF-8 text out of a user's bytes, or an error naming line and column."""

from __future__ import annotations

import pytest

from modeleval.text import decode_utf8


class Bad(ValueError):
    pass


def test_text_is_decoded_and_a_leading_bom_dropped() -> None:
    assert decode_utf8("\ufeff北京\n".encode(), "f", error=Bad) == "北京\n"
    assert decode_utf8(b"", "f", error=Bad) == ""


def test_a_bom_is_dropped_only_at_the_start_of_the_file() -> None:
    line = "\ufeffx\n".encode()
    assert decode_utf8(line, "f", error=Bad, first_line=1) == "x\n"
    assert decode_utf8(line, "f", error=Bad, first_line=2) == "\ufeffx\n"


@pytest.mark.parametrize(
    ("data", "first_line", "where"),
    [
        (b"\xff", 1, "f:1: not UTF-8 text (byte 0xff at column 1)"),
        (b"ab\ncd\xc3(\n", 1, "f:2: not UTF-8 text (byte 0xc3 at column 3)"),
        (b"\xef\xbb\xbfab\n\xff", 1, "f:2: not UTF-8 text (byte 0xff at column 1)"),
        (b"\xef\xbb\xbfab\xff", 1, "f:1: not UTF-8 text (byte 0xff at column 3)"),
        (b"abc\xfe\n", 7, "f:7: not UTF-8 text (byte 0xfe at column 4)"),
    ],
)
def test_bytes_that_are_not_utf8_name_line_and_column(
    data: bytes, first_line: int, where: str
) -> None:
    with pytest.raises(Bad) as raised:
        decode_utf8(data, "f", error=Bad, first_line=first_line)
    assert str(raised.value) == where
