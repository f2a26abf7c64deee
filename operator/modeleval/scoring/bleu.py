"""Sentence BLEU as sacrebleu computes it, made fast enough for 100,000 items.

``sacrebleu.sentence_bleu`` spends most of its time (i) in the ``zh``/``13a`` tokenisers: a
Python loop over characters and ``re.sub`` calls whose ``\\1`` templates are expanded in
Python for every match, and (ii) in n-gram extraction, a Python loop of list slices. Here:

- Tokenisation: the per-character steps of those tokenisers become ``str.translate`` tables
  *derived at start-up from sacrebleu's own predicate (``TokenizerZh._is_chinese_char``) and
  regular expression (``TokenizerRegexp``)*; the context-dependent steps (around ``.``, ``,``
  and ``-``) run sacrebleu's own compiled regular expressions, only when the line holds one
  of those characters. Results are cached per string.
- Statistics: the clipped n-gram matches and totals sacrebleu computes per segment are
  counted with ``collections.Counter`` over ``zip``-built n-grams (:func:`segment_statistics`).
- The score itself is sacrebleu's formula: ``BLEU.compute_bleu`` with exponential smoothing
  and effective order, as ``sacrebleu.sentence_bleu`` uses.

``tests/unit/scoring/test_bleu.py`` checks tokens, statistics and scores against sacrebleu on
thousands of random strings (CJK, full-width forms, punctuation, digits, entities).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sacrebleu.metrics.bleu import BLEU
from sacrebleu.tokenizers.tokenizer_re import TokenizerRegexp
from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

_BMP = 0x10000
Gate = re.Pattern[str]
"""A character class; a step can only match a line in which the class finds something."""


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[int, str], dict[int, str], list[tuple[re.Pattern[str], str, Gate]]]:
    """(zh char table, 13a punctuation table, remaining regex steps) built from sacrebleu."""
    steps: list[tuple[re.Pattern[str], str]] = TokenizerRegexp()._re  # type: ignore[no-untyped-call]
    first_pattern, first_repl = steps[0]
    if first_repl != r" \1 ":  # the per-character step the translate table stands for
        raise RuntimeError(f"unexpected sacrebleu tokenizer step {first_repl!r}")
    punct = {c: f" {chr(c)} " for c in range(128) if first_pattern.fullmatch(chr(c)) is not None}
    zh = {c: f" {chr(c)} " for c in range(_BMP) if TokenizerZh._is_chinese_char(chr(c))}
    # A later step can only match when the line holds one of these characters.
    rest = [
        (p, repl, re.compile("[" + re.escape("".join(c for c in ".,-" if c in p.pattern)) + "]"))
        for p, repl in steps[1:]
    ]
    return zh, punct, rest


def make_tokenizer(kind: str) -> Callable[[str], str]:
    """A cached function giving token-for-token sacrebleu's ``zh`` or ``13a`` output."""
    if kind not in ("zh", "13a"):
        raise ValueError(f"unknown tokenizer {kind!r}")
    zh, punct, rest = _tables()

    @lru_cache(maxsize=2**16)
    def tokenize(line: str) -> str:
        if kind == "zh":
            line = line.strip().translate(zh)
        else:
            line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
            if "&" in line:
                line = (
                    line.replace("&quot;", '"')
                    .replace("&amp;", "&")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                )
            line = f" {line} "
        line = line.translate(punct)
        for pattern, repl, gate in rest:
            if gate.search(line):
                line = pattern.sub(repl, line)
        return " ".join(line.split())

    return tokenize


def segment_statistics(hypothesis: str, reference: str, max_order: int = 4) -> list[int]:
    """``[hyp_len, ref_len, correct_1..n, total_1..n]`` for tokenised, space-joined texts.

    The same statistics as sacrebleu's ``BLEU._compute_segment_statistics`` for one
    reference: per order, the n-gram total of the hypothesis and its clipped matches
    (sum over shared n-grams of min(count in hypothesis, count in reference)). The n-grams
    are built and counted by ``zip``/``Counter`` and the clipped sum by ``map(min, ...)``,
    all at C level. Once an order has no match no higher order can match, so counting stops.
    """
    hyp, ref = hypothesis.split(), reference.split()
    correct = [0] * max_order
    total = [max(len(hyp) - n, 0) for n in range(max_order)]
    for n in range(max_order):
        hyp_counts: Counter[Any]
        ref_counts: Counter[Any]
        if n:  # n-grams of order n + 1 as tuples
            hyp_counts = Counter(zip(*[hyp[i:] for i in range(n + 1)], strict=False))
            ref_counts = Counter(zip(*[ref[i:] for i in range(n + 1)], strict=False))
        else:  # unigrams: the tokens themselves (same counts as sacrebleu's 1-tuples)
            hyp_counts, ref_counts = Counter(hyp), Counter(ref)
        common = hyp_counts.keys() & ref_counts.keys()
        if not common:
            break
        correct[n] = sum(
            map(min, map(hyp_counts.__getitem__, common), map(ref_counts.__getitem__, common))
        )
    return [len(hyp), len(ref), *correct, *total]


class SentenceBleu:
    """sacrebleu sentence BLEU (0-1) with the ``zh`` tokenizer for CJK, ``13a`` otherwise."""

    def __init__(self) -> None:
        self._tokenizers = {kind: make_tokenizer(kind) for kind in ("zh", "13a")}
        self._smooth_value = BLEU.SMOOTH_DEFAULTS["exp"]

    def tokenize(self, text: str, *, cjk: bool) -> str:
        """The tokenised text sacrebleu's BLEU would see (after its ``rstrip``)."""
        return self._tokenizers["zh" if cjk else "13a"](text.rstrip())

    def __call__(self, answer: str, target: str, *, cjk: bool) -> float:
        tokenize = self._tokenizers["zh" if cjk else "13a"]
        stats = segment_statistics(tokenize(answer.rstrip()), tokenize(target.rstrip()))
        score = BLEU.compute_bleu(
            correct=stats[2:6],
            total=stats[6:],
            sys_len=stats[0],
            ref_len=stats[1],
            smooth_method="exp",
            smooth_value=self._smooth_value,
            effective_order=True,
        )
        return float(score.score) / 100.0
