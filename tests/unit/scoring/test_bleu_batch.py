"""The batched BLEU path (numpy statistics, restated formula) equals sacrebleu's own results."""

from __future__ import annotations

import random

import pytest
import sacrebleu
from sacrebleu.metrics.bleu import BLEU
from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

from modeleval.scoring.bleu import (
    SentenceBleu,
    batch_statistics,
    make_tokenizer,
    segment_statistics,
    sentence_score,
)
from tests.support.textgen import random_strings


def random_token_lines(n: int, seed: int, vocab: int) -> list[str]:
    """Space-joined token lines from a small vocabulary (many repeated n-grams), some empty."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(vocab)]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(n)]


def test_batch_statistics_equal_sacrebleu_segment_statistics() -> None:
    bleu = BLEU(tokenize="none", effective_order=True)
    hyps = random_token_lines(2500, seed=1, vocab=4)  # more than two chunks of 1024 items
    refs = random_token_lines(2500, seed=2, vocab=4)
    got = batch_statistics(hyps, refs)
    for hyp, ref, stats in zip(hyps, refs, got, strict=True):
        expected = bleu._compute_segment_statistics(hyp, bleu._extract_reference_info([ref]))
        assert stats == expected, (hyp, ref)


def test_batch_statistics_on_tokenised_cjk_text() -> None:
    tokenize = make_tokenizer("zh")
    texts = [tokenize(t) for t in random_strings(1200, seed=21)]
    hyps, refs = texts[::2], texts[1::2]
    expected = [segment_statistics(h, r) for h, r in zip(hyps, refs, strict=True)]
    assert batch_statistics(hyps, refs) == expected


def test_batch_statistics_splits_chunks_whose_ngrams_do_not_fit_int64() -> None:
    # 64 pairs with 600 distinct tokens each: ~38,000 token ids need 16 bits, and
    # 6 item bits + 4 x 16 id bits + 1 side bit exceed 63, so the chunk is split.
    rng = random.Random(5)
    hyps, refs = [], []
    for i in range(64):
        words = [f"t{i}_{j}" for j in range(600)]
        hyps.append(" ".join(rng.choice(words) for _ in range(700)))
        refs.append(" ".join(rng.choice(words) for _ in range(700)))
    refs[0] = hyps[0]  # one exact copy among them
    expected = [segment_statistics(h, r) for h, r in zip(hyps, refs, strict=True)]
    assert batch_statistics(hyps, refs) == expected
    # A single pair too large to pack falls back to the per-pair counter.
    huge = " ".join(f"u{j}" for j in range(40_000))
    assert batch_statistics([huge], [huge]) == [segment_statistics(huge, huge)]


def test_batch_statistics_rejects_unequal_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        batch_statistics(["a"], [])


def test_sentence_score_equals_compute_bleu() -> None:
    rng = random.Random(9)
    for _ in range(20000):
        hyp_len, ref_len = rng.randint(0, 30), rng.randint(0, 30)
        total = [max(hyp_len - n, 0) for n in range(4)]
        correct = [0] * 4
        for n in range(4):
            cap = total[n] if n == 0 else min(total[n], correct[n - 1])
            correct[n] = rng.randint(0, cap) if rng.random() < 0.8 else 0
        expected = BLEU.compute_bleu(
            correct=list(correct),
            total=list(total),
            sys_len=hyp_len,
            ref_len=ref_len,
            smooth_method="exp",
            effective_order=True,
        ).score
        assert sentence_score([hyp_len, ref_len, *correct, *total]) == expected


def test_chinese_only_lines_tokenised_as_sacrebleu() -> None:
    rng = random.Random(13)
    alphabet = "今天气很好我们去公园散步，。、“”《》（）ＡＢＣ１２３々〇"
    reference = TokenizerZh()  # type: ignore[no-untyped-call]
    tokenize = make_tokenizer("zh")
    for _ in range(2000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert tokenize(line) == reference(line), line
        assert tokenize(f" {line}\t") == reference(f" {line}\t"), line


def test_score_many_equals_sacrebleu_sentence_bleu() -> None:
    bleu = SentenceBleu()
    texts = [t for t in random_strings(1600, seed=17) if t.strip()]
    answers, targets = texts[::2], texts[1::2]
    answers = answers[: len(targets)]
    for cjk, name in ((True, "zh"), (False, "13a")):
        got = bleu.score_many(answers, targets, [cjk] * len(answers))
        for answer, target, value in zip(answers, targets, got, strict=True):
            expected = sacrebleu.sentence_bleu(answer, [target], tokenize=name).score / 100
            assert value == pytest.approx(expected, abs=1e-12), (answer, target)
            assert value == bleu(answer, target, cjk=cjk)


def test_score_many_mixes_tokenizers_per_item() -> None:
    bleu = SentenceBleu()
    answers = ["今天天气很好", "the cat sat on the mat", "今天 good", ""]
    targets = ["今天天气不错", "the cat sat on a mat", "今天 good", "x"]
    cjk = [True, False, True, False]
    got = bleu.score_many(answers, targets, cjk)
    assert got == [bleu(a, t, cjk=c) for a, t, c in zip(answers, targets, cjk, strict=True)]
    assert got[2] == pytest.approx(1.0) and got[3] == 0.0  # identical texts; empty answer
