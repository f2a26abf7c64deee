"""RuleScorer.score_many gives, item for item, what RuleScorer.score gives (and sacrebleu)."""

from __future__ import annotations

import random
import re
import sys

import pytest
import sacrebleu

from modeleval.scoring.config import NormalizationConfig, RuleConfig
from modeleval.scoring.rules import RuleScorer, rouge_l, rouge_l_tokens
from modeleval.scoring.text import Normalization, cjk_character_tokens, has_cjk, tokens
from tests.support.textgen import random_strings

PAIRS = [
    ("今天天气很好", "今天天气很好"),
    ("今天天气不错。", "今天天气很好"),
    ("The cat sat on the mat.", "the cat is on the mat"),
    ("用GPU训练", "用CPU训练"),
    ("", "答案"),
    ("B", "答案是 B"),
    ("ＡＢＣ１２３", "ABC123"),
    ("答案：Ｃ", "C"),
    (" 今天 天气\u3000很好 ", "今天天气很好"),
    ("a\u00a0b\tc\n", "A B C"),
]


def random_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    texts = random_strings(2 * n, seed=seed)
    pairs = list(zip(texts[::2], texts[1::2], strict=True))
    # Some answers are edited copies of their target, so that n-grams match.
    for i in range(0, n, 3):
        target = pairs[i][1]
        cut = rng.randint(0, len(target))
        pairs[i] = (target[:cut] + "，" + target[cut:], target)
    return pairs


@pytest.mark.parametrize(
    "config",
    [
        RuleConfig(),
        RuleConfig(score_modes=["accuracy", "similarity"], similarity_metrics=["rougeL", "bleu"]),
        RuleConfig(score_modes=["similarity"], similarity_metrics=["bleu", "editDistance"]),
        RuleConfig(score_modes=["accuracy"], accuracy_match="contains"),
        RuleConfig(stop_word_list=["的", "the", "是"]),
        RuleConfig(normalization=NormalizationConfig(nfkc=False, lowercase=False)),
        RuleConfig(accuracy_match="choice", normalization=NormalizationConfig(nfkc=False)),
    ],
)
def test_score_many_equals_score_item_by_item(config: RuleConfig) -> None:
    scorer = RuleScorer(config)
    pairs = PAIRS + random_pairs(400, seed=len(config.similarity_metrics))
    many = scorer.score_many(pairs)
    assert len(many) == len(pairs)
    for (answer, target), result in zip(pairs, many, strict=True):
        single = scorer.score(answer, target)
        assert list(result) == list(single) == list(scorer.metric_names)
        assert result == single, (answer, target)
        if "accuracy" in single:  # the shared NFKC text gives accuracy()'s own value
            assert single["accuracy"] == scorer.accuracy(answer, target), (answer, target)


def test_score_many_bleu_is_sacrebleu_sentence_bleu() -> None:
    scorer = RuleScorer(RuleConfig(score_modes=["similarity"], similarity_metrics=["bleu"]))
    pairs = [
        ("今天天气不错。", "今天天气很好。"),
        ("the cat sat on the mat", "the cat is on the mat"),
    ]
    got = scorer.score_many(pairs)
    for (answer, target), result, tokenize in zip(pairs, got, ("zh", "13a"), strict=True):
        expected = sacrebleu.sentence_bleu(answer, [target], tokenize=tokenize).score / 100
        assert result["bleu"] == pytest.approx(expected, abs=1e-12)
        assert 0.0 < result["bleu"] < 1.0


def test_score_many_of_nothing() -> None:
    assert RuleScorer(RuleConfig()).score_many([]) == []


WHITESPACE_RUNS = re.compile(r"\s+")
CJK_SPACES = re.compile(
    "(?<=[\u1100-\u11ff\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3130-\u318f"
    "\u31a0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]) "
    "| (?=[\u1100-\u11ff\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3130-\u318f"
    "\u31a0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff])"
)


def test_whitespace_collapse_is_the_regular_expression_definition() -> None:
    # Normalization collapses whitespace with str.split(); the definition is re's \s+ -> " "
    # and strip(). Both agree on every code point ...
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        assert (WHITESPACE_RUNS.fullmatch(char) is not None) == char.isspace(), hex(code)
    # ... and on whole texts, including the CJK space removal that follows.
    light = Normalization(lowercase=False, remove_punctuation=False, nfkc=False)
    rng = random.Random(8)
    pieces = [" ", "\t", "\n", "\u00a0", "\u3000", "\u2028", "\x1c", "a", "今", "。", "b c"]
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        expected = WHITESPACE_RUNS.sub(" ", text).strip()
        if has_cjk(expected):
            expected = CJK_SPACES.sub("", expected)
        assert light.apply(text) == expected, repr(text)


def test_rouge_l_character_path_equals_token_lists() -> None:
    # CJK text without other letters is compared as strings; the value must be the one the
    # token lists give.
    rng = random.Random(4)
    alphabet = "今天天气很好我们去公园，。、！ 　ＡＢ１a1ーカナ한국"
    checked_fast = 0
    for _ in range(4000):
        answer = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 15)))
        target = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 15)))
        expected = rouge_l_tokens(tokens(answer, cjk=True), tokens(target, cjk=True))
        assert rouge_l(answer, target, cjk=True) == expected, (answer, target)
        fast = cjk_character_tokens(answer)
        if fast is not None:
            checked_fast += 1
            assert list(fast) == tokens(answer, cjk=True)
    assert checked_fast > 100
    assert cjk_character_tokens("今天，天气。") == "今天天气"
    assert cjk_character_tokens("用GPU训练") is None
