"""sacrebleu's context-dependent tokenizer steps, applied via Pattern.split, equal Pattern.sub."""

from __future__ import annotations

import random
import re

import pytest
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sacrebleu.tokenizers.tokenizer_re import TokenizerRegexp
from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

from modeleval.scoring.bleu import _Step, make_tokenizer

STEPS = TokenizerRegexp()._re[1:]  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(("pattern", "template"), STEPS)
def test_step_equals_pattern_sub(pattern: re.Pattern[str], template: str) -> None:
    step = _Step(pattern, template)
    rng = random.Random(template)
    alphabet = "a1.,- 9x\t。"
    for _ in range(20000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert step(line) == pattern.sub(template, line), line


def test_every_short_string_over_the_relevant_classes() -> None:
    # All strings of up to 6 characters from one member of each class the steps look at.
    steps = [(_Step(p, t), p, t) for p, t in STEPS]
    lines = [""]
    for _ in range(6):
        lines = [line + c for line in lines for c in "a1.,- "]
        for line in lines:
            for step, pattern, template in steps:
                assert step(line) == pattern.sub(template, line), (line, template)


def test_unexpected_template_rejected() -> None:
    with pytest.raises(RuntimeError, match="unexpected"):
        _Step(re.compile(r"(a)(b)"), r"\2\1")
    with pytest.raises(RuntimeError, match="unexpected"):
        _Step(re.compile(r"(a)"), r" \1 ")


@pytest.mark.parametrize("kind", ["13a", "zh"])
def test_tokenizer_on_every_short_string(kind: str) -> None:
    # Every string of up to 5 characters over letters, digits, the context-dependent
    # characters, class punctuation, spaces, tabs and a Chinese character.
    reference = Tokenizer13a() if kind == "13a" else TokenizerZh()  # type: ignore[no-untyped-call]
    ours = make_tokenizer(kind)
    lines = [""]
    for _ in range(5):
        lines = [line + c for line in lines for c in "a1.,- (\t今"]
        for line in lines:
            assert ours(line) == reference(line), line
