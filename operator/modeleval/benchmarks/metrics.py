"""Per-item verdicts: log-likelihood accuracy and generation exact match, as the harnesses score.

Log-likelihood (lm-eval ``multiple_choice``): ``acc`` = the choice with the highest summed
log-probability is the gold one; ``acc_norm`` = the same after dividing each choice's
log-probability by its length in *characters* (the choice text, without the leading
delimiter). Ties go to the first choice (``numpy.argmax``).

Generation: extraction steps, then lm-eval's ``exact_match`` (each ``regexes_to_ignore``
removed from both sides with ``re.sub``, then lower-casing and deletion of ASCII punctuation
when asked) or EvalScope's accuracy (extracted letter == target, both stripped and lower-cased).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Sequence

from modeleval.benchmarks.definitions import ChoiceMatch, ExactMatch, GenerationMetric
from modeleval.benchmarks.extract import apply_steps

_PUNCTUATION = str.maketrans("", "", string.punctuation)


def argmax(values: Sequence[float]) -> int:
    """``numpy.argmax``: the first NaN, else the first maximum."""
    best = 0
    for index, value in enumerate(values):
        if math.isnan(value):
            return index
        if value > values[best]:
            best = index
    return best


def _per_char(value: float, length: int) -> float:
    if length:
        return value / length
    if value == 0 or math.isnan(value):
        return math.nan
    return math.copysign(math.inf, value)


def likelihood_scores(
    logprobs: Sequence[float], choices: Sequence[str], gold: int, names: Sequence[str]
) -> dict[str, float]:
    """``acc`` / ``acc_norm`` of one item from its choices' summed log-probabilities."""
    scores: dict[str, float] = {}
    if "acc" in names:
        scores["acc"] = 1.0 if argmax(logprobs) == gold else 0.0
    if "acc_norm" in names:
        normed = [_per_char(lp, len(c)) for lp, c in zip(logprobs, choices, strict=True)]
        scores["acc_norm"] = 1.0 if argmax(normed) == gold else 0.0
    return scores


def exact_match(prediction: str, reference: str, metric: ExactMatch) -> float:
    for pattern in metric.ignore:
        prediction = re.sub(pattern, "", prediction)
        reference = re.sub(pattern, "", reference)
    if metric.ignore_case:
        prediction, reference = prediction.lower(), reference.lower()
    if metric.ignore_punctuation:
        prediction = prediction.translate(_PUNCTUATION)
        reference = reference.translate(_PUNCTUATION)
    return 1.0 if prediction == reference else 0.0


def generation_scores(
    output: str, reference: str, metrics: Sequence[GenerationMetric], n_choices: int
) -> tuple[dict[str, float], dict[str, str]]:
    """Each metric's verdict on one generated text, and what each extracted from it."""
    scores: dict[str, float] = {}
    extracted: dict[str, str] = {}
    for metric in metrics:
        answer = apply_steps(output, metric.steps, n_choices)
        extracted[metric.name] = answer
        if isinstance(metric, ChoiceMatch):
            scores[metric.name] = (
                1.0 if answer.strip().lower() == reference.strip().lower() else 0.0
            )
        else:
            scores[metric.name] = exact_match(answer, reference, metric)
    return scores, extracted
