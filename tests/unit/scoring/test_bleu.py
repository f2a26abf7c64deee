"""The fast BLEU path gives sacrebleu's own tokens and scores, string for string."""

from __future__ import annotations

import pytest
import sacrebleu
from sacrebleu.metrics.bleu import BLEU
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

from modeleval.scoring.bleu import SentenceBleu, make_tokenizer, segment_statistics
from tests.support.textgen import random_strings


@pytest.mark.parametrize(("kind", "reference"), [("zh", TokenizerZh()), ("13a", Tokenizer13a())])
def test_tokenizer_output_equals_sacrebleu(kind: str, reference: object) -> None:
    ours = make_tokenizer(kind)
    for text in random_strings(3000, seed=hash(kind) % 1000):
        assert ours(text) == reference(text), text  # type: ignore[operator]


def test_scores_equal_sacrebleu_sentence_bleu() -> None:
    bleu = SentenceBleu()
    texts = random_strings(1200, seed=3)
    for answer, target in zip(texts[::2], texts[1::2], strict=True):
        if not answer.strip() or not target.strip():
            continue
        for cjk, tokenize in ((True, "zh"), (False, "13a")):
            expected = sacrebleu.sentence_bleu(answer, [target], tokenize=tokenize).score / 100
            assert bleu(answer, target, cjk=cjk) == pytest.approx(expected, abs=1e-12)


def test_published_example() -> None:
    # The classic Papineni et al. example sentences, checked against sacrebleu's value.
    hyp = (
        "It is a guide to action which ensures that the military always obeys "
        "the commands of the party."
    )
    ref = "It is a guide to action that ensures that the military will forever heed Party commands."
    expected = sacrebleu.sentence_bleu(hyp, [ref]).score / 100
    assert SentenceBleu()(hyp, ref, cjk=False) == pytest.approx(expected)
    assert 0.2 < expected < 0.6


def test_unknown_tokenizer_rejected() -> None:
    with pytest.raises(ValueError, match="unknown tokenizer"):
        make_tokenizer("intl")


def test_segment_statistics_equal_sacrebleu() -> None:
    bleu = BLEU(tokenize="13a", effective_order=True)
    texts = [make_tokenizer("zh")(t) for t in random_strings(400, seed=11)]
    texts += ["a a a b", "a a b b", "x y z x y z x y", "x y z"]
    for hyp, ref in zip(texts[::2], texts[1::2], strict=True):
        expected = bleu._compute_segment_statistics(hyp, bleu._extract_reference_info([ref]))
        assert segment_statistics(hyp, ref) == expected, (hyp, ref)
