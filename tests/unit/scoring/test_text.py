"""Normalisation, CJK detection, tokens and multiple-choice extraction."""

from __future__ import annotations

import pytest

from modeleval.scoring.choice import extract_choice
from modeleval.scoring.text import Normalization, StopWords, has_cjk, tokens


@pytest.mark.parametrize(
    ("text", "cjk"),
    [
        ("今天", True),
        ("カタカナ", True),
        ("한국어", True),
        ("hello", False),
        ("，。", False),
        ("GPU 训练", True),
        ("", False),
    ],
)
def test_has_cjk(text: str, cjk: bool) -> None:
    assert has_cjk(text) is cjk


def test_tokens() -> None:
    assert tokens("用GPU训练，很快!") == ["用", "gpu", "训", "练", "很", "快"]
    assert tokens("The cat, sat.") == ["the", "cat", "sat"]
    assert tokens("今天", cjk=False) == ["今天"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Hello,   World!  ", "hello world"),
        ("ＨＥＬＬＯ　ｗｏｒｌｄ", "hello world"),  # full-width letters and ideographic space
        ("《北京》，欢迎你！", "北京欢迎你"),
        ("今天 天气 很好", "今天天气很好"),
        ("GPU 训练 fast", "gpu训练fast"),
        ("a-b_c", "a b c"),
        ("①②", "12"),
    ],
)
def test_default_normalization(text: str, expected: str) -> None:
    assert Normalization().apply(text) == expected


def test_each_normalization_switch() -> None:
    text = " Ａ，b "
    assert Normalization(lowercase=False).apply(text) == "A b"
    assert Normalization(nfkc=False).apply(text) == "ａ b"  # full-width kept; ， is punctuation
    assert Normalization(remove_punctuation=False).apply(text) == "a,b"
    assert Normalization(collapse_whitespace=False).apply(text) == " a b "


def test_stop_words_keep_spacing_and_ignore_case() -> None:
    stop = StopWords(["The", "of"])
    assert stop.remove("the capital of France") == "capital France"
    assert StopWords().remove("the end") == "the end"
    assert not StopWords()
    assert StopWords(["", "  "]).words == frozenset()


@pytest.mark.parametrize(
    ("answer", "choice"),
    [
        ("B", "B"),
        ("B.", "B"),
        ("B. Paris", "B"),
        ("(c)", "C"),
        ("（Ｄ）", "D"),
        ("答案是B", "B"),
        ("答案：C", "C"),
        ("正确答案为 A。", "A"),
        ("我选D", "D"),
        ("选B选项", "B"),
        ("The answer is (C).", "C"),
        ("the answer is (c)", "C"),
        ("b) 42", "B"),
        ("B Paris", "B"),
        ("Answer: D", "D"),
        ("I think the answer is A, not B. Final answer: B", "B"),
        ("我认为是 C", "C"),
        ("A and B", None),
        ("I choose a different approach", None),
        ("不知道", None),
        ("E", None),
    ],
)
def test_extract_choice(answer: str, choice: str | None) -> None:
    assert extract_choice(answer) == choice


def test_extract_choice_custom_letters() -> None:
    assert extract_choice("答案是E", "ABCDE") == "E"
    assert extract_choice("答案是E") is None
