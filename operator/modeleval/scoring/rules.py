"""Rule metrics: accuracy and similarity of one answer to its target, each on a 0-1 scale.

The computations come from libraries:

- ROUGE-L F1 = 2·P·R/(P+R) with P = LCS/len(answer), R = LCS/len(target), where the LCS
  length is ``rapidfuzz.distance.LCSseq.similarity`` over tokens: one token per CJK
  character when either side contains CJK text, words otherwise (see ``text.tokens``).
  (``rouge-score``'s default tokeniser drops CJK characters and scores Chinese as 0.)
- BLEU = ``sacrebleu`` sentence BLEU (``effective_order=True``, exponential smoothing,
  i.e. ``sacrebleu.sentence_bleu``'s defaults) with ``tokenize='zh'`` for CJK and ``'13a'``
  otherwise, divided by 100 (see ``bleu`` for how it is made fast).
- edit similarity = ``rapidfuzz.distance.Levenshtein.normalized_similarity`` on the
  NFKC-normalised, whitespace-collapsed texts.
- accuracy = normalised exact match, "answer contains target", or equal option letters.

For many items call :meth:`RuleScorer.score_many` (same values as :meth:`RuleScorer.score`
item by item): BLEU is then counted for whole batches with numpy, which makes scoring
100,000 items with accuracy + ROUGE-L + BLEU roughly twice as fast as the per-item loop
(``bench/scoring_throughput.py``).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rapidfuzz.distance import LCSseq, Levenshtein

from modeleval.scoring.choice import extract_choice
from modeleval.scoring.config import RuleConfig
from modeleval.scoring.text import (
    Normalization,
    StopWords,
    cjk_character_tokens,
    has_cjk,
    tokens,
)

if TYPE_CHECKING:
    from modeleval.scoring.bleu import SentenceBleu

_LIGHT = Normalization(lowercase=False, remove_punctuation=False)


def rouge_l(answer: str, target: str, *, cjk: bool | None = None) -> float:
    """ROUGE-L F1 of ``answer`` against ``target`` (0-1); CJK detected from both texts."""
    if cjk is None:
        cjk = has_cjk(answer) or has_cjk(target)
    if cjk:  # one token per character: compare the characters as strings (same LCS, faster)
        answer_chars, target_chars = cjk_character_tokens(answer), cjk_character_tokens(target)
        if answer_chars is not None and target_chars is not None:
            return rouge_l_tokens(answer_chars, target_chars)
    return rouge_l_tokens(tokens(answer, cjk=cjk), tokens(target, cjk=cjk))


def rouge_l_tokens(answer: Sequence[str], target: Sequence[str]) -> float:
    """ROUGE-L F1 from token sequences; the LCS length comes from rapidfuzz."""
    if not answer or not target:
        return 0.0
    lcs = LCSseq.similarity(answer, target)
    if lcs == 0:
        return 0.0
    precision = lcs / len(answer)
    recall = lcs / len(target)
    return 2 * precision * recall / (precision + recall)


def edit_similarity(answer: str, target: str) -> float:
    """1 - normalised Levenshtein distance (rapidfuzz), on lightly normalised text."""
    return float(Levenshtein.normalized_similarity(_LIGHT.apply(answer), _LIGHT.apply(target)))


@dataclass(slots=True)
class RuleScorer:
    """Scores answers with the metrics a :class:`RuleConfig` enables.

    ``metric_names`` lists the result keys in order: ``accuracy`` and/or the similarity
    metrics (``rougeL``, ``bleu``, ``editDistance``).
    """

    config: RuleConfig
    stop_words: StopWords = field(init=False)
    normalization: Normalization = field(init=False)
    metric_names: tuple[str, ...] = field(init=False)
    _bleu: SentenceBleu | None = field(init=False, default=None)
    """Made only when BLEU is enabled: its module imports numpy and sacrebleu."""
    _similarity: dict[str, Callable[[str, str, bool], float]] = field(init=False)

    def __post_init__(self) -> None:
        cfg = self.config
        self.stop_words = StopWords.load(inline=cfg.stop_word_list, path=cfg.stop_words_path)
        self.normalization = cfg.normalization.build()
        available: dict[str, Callable[[str, str, bool], float]] = {
            "rougeL": lambda a, t, cjk: rouge_l(a, t, cjk=cjk),
            "bleu": lambda a, t, cjk: self.bleu(a, t, cjk=cjk),
            "editDistance": lambda a, t, cjk: edit_similarity(a, t),
        }
        names: list[str] = []
        if "accuracy" in cfg.score_modes:
            names.append("accuracy")
        self._similarity = {}
        if "similarity" in cfg.score_modes:
            for name in cfg.similarity_metrics:
                self._similarity[name] = available[name]
                names.append(name)
        self.metric_names = tuple(dict.fromkeys(names))

    @property
    def bleu(self) -> SentenceBleu:
        """The BLEU scorer, made on first use."""
        if self._bleu is None:
            from modeleval.scoring.bleu import SentenceBleu

            self._bleu = SentenceBleu()
        return self._bleu

    def accuracy(self, answer: str, target: str) -> float:
        """1.0 when the answer matches the target under the configured rule, else 0.0."""
        remove = self.stop_words.remove
        return self._accuracy(answer, target, remove(answer), remove(target))

    def _accuracy(self, answer: str, target: str, clean_answer: str, clean_target: str) -> float:
        """:meth:`accuracy`, given the texts without stop words (``clean_*``)."""
        mode = self.config.accuracy_match
        if mode == "choice":
            expected = extract_choice(target, self.config.choices)
            if expected is not None:
                return float(extract_choice(answer, self.config.choices) == expected)
        a = self.normalization.apply(clean_answer)
        t = self.normalization.apply(clean_target)
        if mode == "contains":
            return float(bool(t) and t in a)
        return float(a == t)

    def score(self, answer: str, target: str) -> dict[str, float]:
        """Every enabled metric for one item, each in [0, 1]."""
        result: dict[str, float] = {}
        prepared = self._similarity_input(answer, target) if self._similarity else None
        if "accuracy" in self.metric_names:
            if prepared is not None and self.normalization.nfkc:
                # The similarity input is the same stop-word-free text after NFKC, which
                # normalisation applies first anyway (NFKC is idempotent): reuse it.
                result["accuracy"] = self._accuracy(answer, target, prepared[0], prepared[1])
            else:
                result["accuracy"] = self.accuracy(answer, target)
        if prepared is not None:
            clean_answer, clean_target, cjk = prepared
            for name, metric in self._similarity.items():
                result[name] = _clamp(metric(clean_answer, clean_target, cjk))
        return result

    def score_many(self, pairs: Iterable[tuple[str, str]]) -> list[dict[str, float]]:
        """``[self.score(answer, target) for answer, target in pairs]``, computed per metric.

        BLEU runs batched (:meth:`SentenceBleu.score_many`); the other metrics loop over the
        items without the per-item dispatch of :meth:`score`. Use this for many items.
        """
        items = list(pairs)
        results: list[dict[str, float]] = [{} for _ in items]
        prepared = [self._similarity_input(a, t) for a, t in items] if self._similarity else []
        if "accuracy" in self.metric_names:
            if prepared and self.normalization.nfkc:  # as in score()
                cleaned = [(a, t) for a, t, _ in prepared]
            else:
                remove = self.stop_words.remove
                cleaned = [(remove(a), remove(t)) for a, t in items]
            accuracy = self._accuracy
            for result, (answer, target), (clean_answer, clean_target) in zip(
                results, items, cleaned, strict=True
            ):
                result["accuracy"] = accuracy(answer, target, clean_answer, clean_target)
        if not self._similarity:
            return results
        answers = [answer for answer, _, _ in prepared]
        targets = [target for _, target, _ in prepared]
        cjk = [flag for _, _, flag in prepared]
        for name, metric in self._similarity.items():
            if name == "bleu":
                values = self.bleu.score_many(answers, targets, cjk)
            else:
                values = [metric(a, t, c) for a, t, c in prepared]
            for result, value in zip(results, values, strict=True):
                result[name] = _clamp(value)
        return results

    def _similarity_input(self, answer: str, target: str) -> tuple[str, str, bool]:
        """(answer, target, cjk) as the similarity metrics see them: stop words removed, NFKC."""
        if self.stop_words:
            answer, target = self.stop_words.remove(answer), self.stop_words.remove(target)
        answer = unicodedata.normalize("NFKC", answer)
        target = unicodedata.normalize("NFKC", target)
        return answer, target, has_cjk(answer) or has_cjk(target)


def _clamp(value: float) -> float:
    """A metric value forced into [0, 1]; NaN and infinities become 0."""
    return min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.0
