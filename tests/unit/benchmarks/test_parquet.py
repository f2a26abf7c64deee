"""The pure-Python parquet reader against files pyarrow wrote (tests/data/benchmarks/parquet)."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from modeleval.benchmarks.parquet import ParquetError, read_table, snappy_decompress
from modeleval.benchmarks.parquet.codecs import CodecError
from tests.support.benchmarks import DATA, HUB

FILES = DATA / "parquet"
EXPECTED = json.loads((FILES / "mmlu.json").read_text("utf-8"))
HAS_ZSTD = sys.version_info >= (3, 14) or importlib.util.find_spec("zstandard") is not None


@pytest.mark.parametrize("variant", ["snappy", "gzip", "plain", "v2", "pages"])
def test_every_encoding_reads_the_same_rows(variant: str) -> None:
    """Snappy with dictionary pages (pyarrow's default, the Hub's), gzip, plain without a
    dictionary, data pages v2, and many small pages in several row groups."""
    assert read_table((FILES / f"mmlu-{variant}.parquet").read_bytes()) == EXPECTED


def test_zstd_needs_a_decoder_and_says_which() -> None:
    data = (FILES / "mmlu-zstd.parquet").read_bytes()
    if HAS_ZSTD:
        assert read_table(data) == EXPECTED
    else:
        with pytest.raises(ParquetError, match="zstandard"):
            read_table(data)


def test_nulls_empty_lists_booleans_and_numbers() -> None:
    expected = json.loads((FILES / "nulls.json").read_text("utf-8"))
    assert read_table((FILES / "nulls.parquet").read_bytes()) == expected


def test_structs_of_lists_are_rows_of_dicts() -> None:
    rows = read_table(
        (HUB / "allenai/ai2_arc/ARC-Challenge/test-00000-of-00001.parquet").read_bytes()
    )
    assert rows[1]["choices"]["label"] == ["1", "2", "3", "4"]
    assert rows[2]["choices"]["text"] == ["graduated cylinder", "balance", "thermometer"]
    assert set(rows[0]) == {"id", "question", "choices", "answerKey"}


@pytest.mark.parametrize("data", [b"", b"PAR1", b"not a parquet file at all", b"PAR1xxxxPAR1"])
def test_garbage_is_a_parquet_error(data: bytes) -> None:
    with pytest.raises(ParquetError):
        read_table(data)


def test_a_truncated_file_is_a_parquet_error() -> None:
    data = (FILES / "mmlu-snappy.parquet").read_bytes()
    with pytest.raises(ParquetError):
        read_table(data[:200] + data[-8:])


def _literal(raw: bytes) -> bytes:
    return bytes([(len(raw) - 1) << 2]) + raw


def test_snappy_literals_and_overlapping_copies() -> None:
    # "abcabcabca": literal "abc", then a copy of 7 bytes from 3 back (overlapping)
    block = bytes([10]) + _literal(b"abc") + bytes([0b01 | ((7 - 4) << 2), 3])
    assert snappy_decompress(block) == b"abcabcabca"
    # two-byte offset copy and a long literal (length in an extra byte)
    long = bytes(range(100))
    block = bytes([105]) + bytes([60 << 2, 99]) + long + bytes([0b10 | (4 << 2), 100, 0])
    assert snappy_decompress(block) == long + long[:5]


@pytest.mark.parametrize(
    "block",
    [bytes([5]) + _literal(b"ab"), bytes([3]) + bytes([0b01, 9]), bytes([4, 0xF0])],
    ids=["short", "bad-offset", "literal-past-end"],
)
def test_corrupt_snappy_is_a_codec_error(block: bytes) -> None:
    with pytest.raises(CodecError):
        snappy_decompress(block)


def test_hostile_sizes_do_not_allocate() -> None:
    """A crafted run length, snappy length or gzip bomb stays within the page's size."""
    import gzip

    from modeleval.benchmarks.parquet.codecs import GZIP, decompress
    from modeleval.benchmarks.parquet.reader import _hybrid

    huge_run = bytes([0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 1])  # an RLE run of 2**31 ones
    assert _hybrid(huge_run, 0, len(huge_run), 1, 3) == [1, 1, 1]
    with pytest.raises(CodecError, match="declared length"):
        snappy_decompress(bytes([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) + _literal(b"x"))
    bomb = gzip.compress(bytes(10_000_000))
    assert len(decompress(GZIP, bomb, 100)) == 100
