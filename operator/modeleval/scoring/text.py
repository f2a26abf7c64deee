"""Text handling shared by the rule metrics: CJK detection, normalisation, tokens, stop words.

Every rule metric sees text through these functions, so "what counts as the same answer"
is decided in one place:

- :class:`Normalization` says which differences to ignore (case, whitespace, punctuation
  including CJK punctuation, full-width vs half-width forms via Unicode NFKC).
- :func:`has_cjk` decides per item whether text is scored on characters (Chinese, Japanese,
  Korean) or on words (space-delimited languages).
- :class:`StopWords` removes stop words: Chinese text is segmented with jieba first, other text
  is split on whitespace.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# Han (incl. extension A and compatibility ideographs), kana, Hangul syllables and jamo,
# CJK symbols and punctuation, bopomofo.
CJK_CLASS = (
    "\u1100-\u11ff\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3130-\u318f"
    "\u31a0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
)
_CJK_LETTER_CLASS = (
    "\u1100-\u11ff\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3130-\u318f"
    "\u31a0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
)
_CJK_RE = re.compile(f"[{_CJK_LETTER_CLASS}]")
# One token per CJK character, one token per run of other letters/digits; punctuation and
# whitespace separate tokens and are dropped (as in ROUGE's usual word tokenisation).
_MIXED_TOKEN_RE = re.compile(f"[{_CJK_LETTER_CLASS}]|[^\\W{_CJK_LETTER_CLASS}]+")
_WORD_TOKEN_RE = re.compile(r"\w+")
_OTHER_WORD_RE = re.compile(f"[^\\W{_CJK_LETTER_CLASS}]")
_NOT_CJK_LETTERS_RE = re.compile(f"[^{_CJK_LETTER_CLASS}]+")
_WHITESPACE_RE = re.compile(r"\s+")
_SPLIT_KEEP_SPACE_RE = re.compile(r"(\s+)")


def has_cjk(text: str) -> bool:
    """True when ``text`` contains at least one CJK ideograph, kana or Hangul character."""
    return _CJK_RE.search(text) is not None


def tokens(text: str, *, cjk: bool | None = None) -> list[str]:
    """Lower-cased tokens: CJK characters one by one plus other words, or words only.

    ``cjk=None`` detects the script from ``text`` itself.
    """
    if cjk is None:
        cjk = has_cjk(text)
    pattern = _MIXED_TOKEN_RE if cjk else _WORD_TOKEN_RE
    return pattern.findall(text.lower())


def cjk_character_tokens(text: str) -> str | None:
    """``"".join(tokens(text, cjk=True))`` when every such token is one CJK character, else None.

    That is the case when ``text`` holds no letters or digits other than CJK ones; the
    characters then compare (e.g. for an LCS) as the tokens do, without building a list.
    """
    text = text.lower()
    if _OTHER_WORD_RE.search(text) is not None:
        return None
    return _NOT_CJK_LETTERS_RE.sub("", text)


def punctuation_ranges() -> tuple[tuple[int, int], ...]:
    """Runs of punctuation and symbol code points (Unicode categories P* and S*).

    Stored ahead of time (:mod:`modeleval.scoring.unicode_ranges`) for this Python's Unicode
    version; another version computes them (a loop over every code point, ~0.1-0.3 s)."""
    from modeleval.scoring import unicode_ranges

    if unicodedata.unidata_version == unicode_ranges.UNICODE_VERSION:
        return unicode_ranges.PUNCTUATION
    from modeleval.scoring.tablegen import punctuation_points, to_ranges

    return tuple(to_ranges(punctuation_points()))


@lru_cache(maxsize=1)
def _punctuation_table() -> dict[int, str]:
    """Every punctuation or symbol code point (Unicode categories P* and S*) → a space.

    Covers ASCII punctuation as well as CJK punctuation such as 。，、「」《》 and full-width
    forms, so that removal is one C-level ``str.translate``.
    """
    return {c: " " for first, last in punctuation_ranges() for c in range(first, last + 1)}


@dataclass(frozen=True, slots=True)
class Normalization:
    """Which differences between an answer and its target are ignored."""

    lowercase: bool = True
    """Compare case-insensitively."""
    collapse_whitespace: bool = True
    """Strip the ends and turn every run of whitespace into a single space."""
    remove_punctuation: bool = True
    """Drop punctuation and symbols (Unicode categories P* and S*), CJK punctuation included."""
    nfkc: bool = True
    """Apply Unicode NFKC: full-width letters, digits and punctuation become half-width."""

    def apply(self, text: str) -> str:
        """Return ``text`` with the configured differences removed."""
        if self.nfkc:
            text = unicodedata.normalize("NFKC", text)
        if self.lowercase:
            text = text.lower()
        if self.remove_punctuation:
            text = text.translate(_punctuation_table())
        if self.collapse_whitespace:
            # Same as _WHITESPACE_RE.sub(" ", text).strip(): \s and str.split() agree on
            # what whitespace is (str.isspace), and this is several times faster.
            text = " ".join(text.split())
            if " " in text and has_cjk(text):
                # Spaces between CJK characters carry no meaning ("今天 天气" == "今天天气").
                text = _remove_spaces_next_to_cjk(text)
        return text


_SPACE_NEXT_TO_CJK_RE = re.compile(f"(?<=[{CJK_CLASS}]) | (?=[{CJK_CLASS}])")


def _remove_spaces_next_to_cjk(text: str) -> str:
    return _SPACE_NEXT_TO_CJK_RE.sub("", text)


class StopWords:
    """A set of stop words and the means to remove them from text.

    Chinese (and other CJK) text is segmented with jieba so that multi-character stop words
    such as ``然后`` are found as words; space-delimited text is split on whitespace.
    Matching is case-insensitive.
    """

    def __init__(self, words: Iterable[str] = ()) -> None:
        self.words: frozenset[str] = frozenset(w.strip().lower() for w in words if w.strip())

    @classmethod
    def load(cls, *, inline: Iterable[str] = (), path: str | Path | None = None) -> StopWords:
        """Combine an inline list with a file of one stop word per line (``#`` comments)."""
        words = list(inline)
        if path is not None:
            for line in Path(path).read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    words.append(line)
        return cls(words)

    def __bool__(self) -> bool:
        return bool(self.words)

    def remove(self, text: str) -> str:
        """Return ``text`` without its stop words; the remaining text keeps its spacing."""
        if not self.words:
            return text
        if has_cjk(text):
            import jieba  # imported lazily: loading its dictionary takes ~1 s

            pieces = jieba.lcut(text)
        else:
            pieces = _SPLIT_KEEP_SPACE_RE.split(text)
        kept = [p for p in pieces if p.strip().lower() not in self.words or not p.strip()]
        return _WHITESPACE_RE.sub(" ", "".join(kept)).strip()
