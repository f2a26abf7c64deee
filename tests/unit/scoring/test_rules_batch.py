"""RuleScorer.score_many gives, item for item, what RuleScorer.score gives (and sacrebleu)."""

from __future__ import annotations

import random

import pytest
import sacrebleu

from modeleval.scoring.config import RuleConfig
from modeleval.scoring.rules import RuleScorer

from .test_bleu import random_strings

PAIRS = [
    ("今天天气很好", "今天天气很好"),
    ("今天天气不错。", "今天天气很好"),
    ("The cat sat on the mat.", "the cat is on the mat"),
    ("用GPU训练", "用CPU训练"),
    ("", "答案"),
    ("B", "答案是 B"),
    ("ＡＢＣ１２３", "ABC123"),
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
