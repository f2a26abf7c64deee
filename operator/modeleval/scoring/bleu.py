"""Sentence BLEU as sacrebleu computes it, made fast enough for 100,000 items.

``sacrebleu.sentence_bleu`` spends most of its time (i) in the ``zh``/``13a`` tokenisers: a
Python loop over characters and ``re.sub`` calls whose ``\\1`` templates are expanded in
Python for every match, and (ii) in n-gram extraction, a Python loop of list slices. Here:

- Tokenisation: the per-character steps of those tokenisers become ``str.translate`` tables
  *derived from sacrebleu's own predicate (``TokenizerZh._is_chinese_char``, evaluated ahead
  of time into :mod:`modeleval.scoring.unicode_ranges`) and regular expression
  (``TokenizerRegexp``)*; the context-dependent steps (around ``.``, ``,``
  and ``-``) run sacrebleu's own compiled regular expressions, only when the line holds one
  of those characters, through ``Pattern.split`` rather than ``Pattern.sub`` (whose template
  expansion is Python code per match before 3.12), and not at all when each of those
  characters stands between whitespace (the steps would only add spaces). Spaces are not
  padded (that only lengthens runs of spaces). Results are cached per string.
- Lines of Chinese characters (as sacrebleu counts them), optionally with single ``.``/``,``
  between them, skip the tables: their tokens are the characters themselves.
- Statistics: the clipped n-gram matches and totals sacrebleu computes per segment are
  counted with sets (and ``collections.Counter`` where both sides repeat an n-gram) over
  ``zip``-built n-grams for one pair (:func:`segment_statistics`), and for many pairs at
  once with one ``numpy`` sort per n-gram order over int64-packed n-grams
  (:func:`batch_statistics`, used by :meth:`SentenceBleu.score_many`).
- The score itself is sacrebleu's formula, ``BLEU.compute_bleu`` with exponential smoothing
  and effective order as ``sacrebleu.sentence_bleu`` uses, restated operation for operation
  in :func:`sentence_score` so that no ``BLEUScore`` object is built per item; the tests
  check it gives the same floats as ``compute_bleu``.

``tests/unit/scoring/test_bleu*.py`` check tokens, statistics and scores against sacrebleu on
thousands of random strings (CJK, full-width forms, punctuation, digits, entities) and
tokens on every short string over the characters the steps look at.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import count, cycle, repeat
from operator import add
from typing import Any

import numpy as np
from sacrebleu.tokenizers.tokenizer_re import TokenizerRegexp

from modeleval.scoring.unicode_ranges import SACREBLEU_CHINESE

_TWO_GROUPS = re.compile(r"([^\\]*)\\1([^\\]*)\\2([^\\]*)")


class _Step:
    """One of sacrebleu's ``(pattern, r"..\1..\2..")`` steps, applied without ``re.sub``.

    ``pattern.sub(template, line)`` expands the template in Python for every match (before
    Python 3.12). ``pattern.split(line)`` finds the same non-overlapping matches and returns
    ``[text, group1, group2, text, ...]``; adding the template's literal text around the
    groups and joining gives the same string at C level.
    """

    def __init__(self, pattern: re.Pattern[str], template: str) -> None:
        parts = _TWO_GROUPS.fullmatch(template)
        if pattern.groups != 2 or parts is None:
            raise RuntimeError(f"unexpected sacrebleu tokenizer step {template!r}")
        before, between, after = parts.groups()
        self.pattern = pattern
        self._prefixes = ("", before, "")
        self._suffixes = ("", between, after)
        # The step can only match a line holding one of these characters.
        self.gate = re.compile(
            "[" + re.escape("".join(c for c in ".,-" if c in pattern.pattern)) + "]"
        )

    def __call__(self, line: str) -> str:
        pieces = self.pattern.split(line)
        if len(pieces) == 1:
            return line
        with_prefixes = map(add, cycle(self._prefixes), pieces)
        return "".join(map(add, with_prefixes, cycle(self._suffixes)))


# The context-dependent steps match a "." or "," next to a non-digit, or a "-" after a digit.
# When every such character has whitespace (or a line end) on both sides, the pair a step
# matches is that character and a whitespace, and the step only inserts spaces: skip them.
_ATTACHED = re.compile(r"\S[.,-]|[.,-]\S")
_ADJACENT_DOTS = re.compile(r"[.,]{2}")


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[int, str], dict[int, str], list[_Step]]:
    """(zh char table, 13a punctuation table, remaining regex steps) built from sacrebleu."""
    steps: list[tuple[re.Pattern[str], str]] = TokenizerRegexp()._re  # type: ignore[no-untyped-call]
    first_pattern, first_repl = steps[0]
    if first_repl != r" \1 ":  # the per-character step the translate table stands for
        raise RuntimeError(f"unexpected sacrebleu tokenizer step {first_repl!r}")
    # Space is in that class too, but padding it only lengthens runs of spaces, which no later
    # step can tell apart (in each step a space is either only a first or only a second
    # group, so one space per run is enough) and the final split removes.
    punct = {
        c: f" {chr(c)} "
        for c in range(128)
        if first_pattern.fullmatch(chr(c)) is not None and chr(c) != " "
    }
    zh = {c: f" {chr(c)} " for first, last in SACREBLEU_CHINESE for c in range(first, last + 1)}
    return zh, punct, [_Step(pattern, template) for pattern, template in steps[1:]]


@lru_cache(maxsize=2)
def make_tokenizer(kind: str) -> Callable[[str], str]:
    """A cached function giving token-for-token sacrebleu's ``zh`` or ``13a`` output; one per
    kind in a process (building one walks the CJK table: ~3 ms)."""
    if kind not in ("zh", "13a"):
        raise ValueError(f"unknown tokenizer {kind!r}")
    zh, punct, rest = _tables()

    zh_chars = frozenset(map(chr, zh))
    zh_chars_dots = zh_chars | {".", ","}
    has_punct = re.compile(f"[{re.escape(''.join(map(chr, punct)))}]").search

    @lru_cache(maxsize=2**16)
    def tokenize(line: str) -> str:
        if kind == "zh":
            line = line.strip()
            if zh_chars.issuperset(line):  # only Chinese characters: one token each
                return " ".join(line)
            if zh_chars_dots.issuperset(line) and _ADJACENT_DOTS.search(line) is None:
                # Each "." or "," then stands between padded Chinese characters: a token too.
                return " ".join(line)
            line = line.translate(zh)
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
        if has_punct(line):
            line = line.translate(punct)
        if _ATTACHED.search(line) is not None:  # else the steps would only add spaces
            for step in rest:
                if step.gate.search(line):
                    line = step(line)
        return " ".join(line.split())

    return tokenize


def segment_statistics(hypothesis: str, reference: str, max_order: int = 4) -> list[int]:
    """``[hyp_len, ref_len, correct_1..n, total_1..n]`` for tokenised, space-joined texts.

    The same statistics as sacrebleu's ``BLEU._compute_segment_statistics`` for one
    reference: per order, the n-gram total of the hypothesis and its clipped matches
    (sum over shared n-grams of min(count in hypothesis, count in reference)). The n-grams
    are built by ``zip`` and compared as sets, all at C level: when one side has each of its
    n-grams once, every shared n-gram adds exactly 1; otherwise ``Counter`` counts both
    sides. Once an order has no match no higher order can match, so counting stops.
    """
    hyp, ref = hypothesis.split(), reference.split()
    correct = [0] * max_order
    total = [max(len(hyp) - n, 0) for n in range(max_order)]
    for n in range(max_order):
        hyp_grams: list[Any]
        ref_grams: list[Any]
        if n:  # n-grams of order n + 1 as tuples
            hyp_grams = list(zip(*[hyp[i:] for i in range(n + 1)], strict=False))
            ref_grams = list(zip(*[ref[i:] for i in range(n + 1)], strict=False))
        else:  # unigrams: the tokens themselves (same counts as sacrebleu's 1-tuples)
            hyp_grams, ref_grams = hyp, ref
        hyp_set, ref_set = set(hyp_grams), set(ref_grams)
        common = hyp_set & ref_set
        if not common:
            break
        if len(hyp_set) == len(hyp_grams) or len(ref_set) == len(ref_grams):
            correct[n] = len(common)
        else:
            hyp_counts, ref_counts = Counter(hyp_grams), Counter(ref_grams)
            correct[n] = sum(
                map(min, map(hyp_counts.__getitem__, common), map(ref_counts.__getitem__, common))
            )
    return [len(hyp), len(ref), *correct, *total]


def sentence_score(stats: Sequence[int]) -> float:
    """sacrebleu's sentence BLEU (0-100) from ``[hyp_len, ref_len, correct_1..4, total_1..4]``.

    ``BLEU.compute_bleu(..., smooth_method="exp", effective_order=True)`` step for step
    (same operations in the same order, so the same float), without building a
    ``BLEUScore`` per item; ``test_bleu.py`` checks equality with it on random statistics.
    """
    sys_len, ref_len = stats[0], stats[1]
    order = (len(stats) - 2) // 2
    correct, total = stats[2 : 2 + order], stats[2 + order :]
    bp = 1.0
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    if not any(correct):
        return 0.0
    smooth_mteval = 1.0
    logs: list[float] = []
    for hits, grams in zip(correct, total, strict=True):
        if grams == 0:
            break
        if hits == 0:
            smooth_mteval *= 2
            logs.append(math.log(100.0 / (smooth_mteval * grams)))
        else:
            logs.append(math.log(100.0 * hits / grams))
    # A processed precision is never 0, so sacrebleu's floored log is math.log here; the
    # effective order is the number of orders processed (at least 1: correct_1 > 0).
    return bp * math.exp(sum(logs) / len(logs))


def batch_statistics(
    hypotheses: Sequence[str], references: Sequence[str], max_order: int = 4
) -> list[list[int]]:
    """:func:`segment_statistics` for many (hypothesis, reference) pairs at once.

    Texts must be tokenizer output: tokens joined by single spaces, as :func:`make_tokenizer`
    returns (a text is split on ``" "`` only). Per chunk of items, every n-gram occurrence
    becomes one int64 ``(item, token ids..., side)`` key; one ``numpy`` sort per order
    groups equal n-grams, and each n-gram seen on both sides adds min(count in hypothesis,
    count in reference) to its item's matches.
    """
    if len(hypotheses) != len(references):
        raise ValueError("hypotheses and references differ in length")
    out = np.zeros((len(hypotheses), 2 + 2 * max_order), dtype=np.int64)
    for start in range(0, len(hypotheses), _CHUNK):
        stop = start + _CHUNK
        _chunk_statistics(hypotheses[start:stop], references[start:stop], out[start:stop])
    result: list[list[int]] = out.tolist()
    return result


_CHUNK = 1024  # items per numpy batch: small enough for the arrays to stay in cache
_KEY_BITS = 63  # item bits + max_order * token-id bits + 1 side bit must fit an int64


def _chunk_statistics(hyps: Sequence[str], refs: Sequence[str], out: np.ndarray) -> None:
    n_items, max_order = len(hyps), (out.shape[1] - 2) // 2
    texts = [*hyps, *refs]
    flat = " ".join(filter(None, texts)).split(" ")  # lines up with the lengths below
    vocab = dict(zip(dict.fromkeys(flat), count(), strict=False))
    id_bits = max(len(vocab) - 1, 1).bit_length()
    if max(n_items - 1, 1).bit_length() + max_order * id_bits + 1 > _KEY_BITS:
        if n_items == 1:  # one pair with more than ~2**15 distinct tokens
            out[0] = segment_statistics(hyps[0], refs[0], max_order)
            return
        half = n_items // 2
        _chunk_statistics(hyps[:half], refs[:half], out[:half])
        _chunk_statistics(hyps[half:], refs[half:], out[half:])
        return
    lens = np.fromiter(map(str.count, texts, repeat(" ")), np.int64, len(texts)) + 1
    lens[~np.fromiter(map(bool, texts), bool, len(texts))] = 0
    n_tokens = len(flat)
    ids = np.fromiter(map(vocab.__getitem__, flat), np.int64, n_tokens)
    segment = np.repeat(np.arange(len(texts), dtype=np.int64), lens)
    side = segment >= n_items  # False: hypothesis, True: reference
    item = segment - side * n_items
    left = np.cumsum(lens)[segment] - np.arange(n_tokens)  # tokens from here to segment end
    hyp_len = lens[:n_items]
    out[:, 0], out[:, 1] = hyp_len, lens[n_items:]
    for n in range(max_order):
        out[:, 2 + max_order + n] = np.maximum(hyp_len - n, 0)
    key = (item << id_bits) | ids
    for n in range(max_order):
        if n:  # extend the n-gram starting at i by the token at i + n
            key = (key[:-1] << id_bits) | ids[n:]
        starts_gram = left[: n_tokens - n] > n
        keys = (key[starts_gram] << 1) | side[: n_tokens - n][starts_gram]
        if keys.size == 0:
            break
        keys.sort()
        first = np.empty(keys.size, dtype=bool)
        first[0] = True
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        run_start = np.flatnonzero(first)
        run_gram = keys[run_start] >> 1
        run_count = np.diff(run_start, append=keys.size)
        shared = np.flatnonzero(run_gram[1:] == run_gram[:-1])  # hypothesis run, then reference
        if shared.size == 0:
            break  # no match of this order: none of any higher order
        clipped = np.minimum(run_count[shared], run_count[shared + 1])
        owner = run_gram[shared] >> (id_bits * (n + 1))
        out[:, 2 + n] = np.bincount(owner, weights=clipped, minlength=n_items)


class SentenceBleu:
    """sacrebleu sentence BLEU (0-1) with the ``zh`` tokenizer for CJK, ``13a`` otherwise."""

    def __init__(self) -> None:
        self._tokenizers = {kind: make_tokenizer(kind) for kind in ("zh", "13a")}

    def tokenize(self, text: str, *, cjk: bool) -> str:
        """The tokenised text sacrebleu's BLEU would see (after its ``rstrip``)."""
        return self._tokenizers["zh" if cjk else "13a"](text.rstrip())

    def __call__(self, answer: str, target: str, *, cjk: bool) -> float:
        tokenize = self._tokenizers["zh" if cjk else "13a"]
        stats = segment_statistics(tokenize(answer.rstrip()), tokenize(target.rstrip()))
        return sentence_score(stats) / 100.0

    def score_many(
        self, answers: Sequence[str], targets: Sequence[str], cjk: Sequence[bool]
    ) -> list[float]:
        """``[self(a, t, cjk=c) for a, t, c in zip(answers, targets, cjk)]``, batched."""
        zh, other = self._tokenizers["zh"], self._tokenizers["13a"]
        hyps = [(zh if c else other)(a.rstrip()) for a, c in zip(answers, cjk, strict=True)]
        refs = [(zh if c else other)(t.rstrip()) for t, c in zip(targets, cjk, strict=True)]
        return [sentence_score(stats) / 100.0 for stats in batch_statistics(hyps, refs)]
