"""The code-point tables computed ahead of time equal what their sources say today."""

from __future__ import annotations

import unicodedata

import pytest
from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

from modeleval.scoring import tablegen, unicode_ranges
from modeleval.scoring.text import Normalization, punctuation_ranges


def expand(ranges: tuple[tuple[int, int], ...]) -> list[int]:
    return [c for first, last in ranges for c in range(first, last + 1)]


@pytest.fixture(scope="module")
def punctuation_points() -> list[int]:
    """This Python's P* and S* code points (a walk over all 1.1 M: computed once here)."""
    return tablegen.punctuation_points()


def test_the_generated_module_is_current() -> None:
    assert tablegen.main(["--check"]) == 0


def test_punctuation_equals_the_unicode_database(punctuation_points: list[int]) -> None:
    assert unicodedata.unidata_version == unicode_ranges.UNICODE_VERSION
    assert expand(unicode_ranges.PUNCTUATION) == punctuation_points


def test_chinese_characters_equal_sacrebleus_predicate() -> None:
    expected = [c for c in range(tablegen.BMP) if TokenizerZh._is_chinese_char(chr(c))]
    assert expand(unicode_ranges.SACREBLEU_CHINESE) == expected


def test_another_unicode_version_computes_its_own_table(
    monkeypatch: pytest.MonkeyPatch, punctuation_points: list[int]
) -> None:
    monkeypatch.setattr(unicode_ranges, "UNICODE_VERSION", "0.0.0")
    monkeypatch.setattr(unicode_ranges, "PUNCTUATION", ((0x21, 0x21),))
    assert expand(punctuation_ranges()) == punctuation_points


def test_ranges_merge_consecutive_points() -> None:
    assert tablegen.to_ranges([1, 2, 3, 7, 9, 10]) == [(1, 3), (7, 7), (9, 10)]


def test_cjk_and_ascii_punctuation_are_removed() -> None:
    assert Normalization().apply("你好，世界！「Hello」, world…") == "你好世界hello world"
