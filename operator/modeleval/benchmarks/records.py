"""Rows of a benchmark's parquet files -> :class:`Doc`, and the fields prompt templates use.

One converter per row format, each doing what the reference harness does to a row before
rendering it (HellaSwag's ``preprocess``, ARC's label lookup, CMMLU's letter answer).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class RecordError(ValueError):
    """A row does not have the benchmark's columns; the message names subset, row and column."""


@dataclass(frozen=True, slots=True)
class Doc:
    """One benchmark item, normalised."""

    subset: str
    index: int
    """Row number within the split (file order, as the Hub's ``datasets`` loads it)."""
    question: str
    """The question (HellaSwag: the preprocessed context), not stripped."""
    choices: tuple[str, ...] = ()
    gold: int = -1
    """Index of the right choice (-1: free answer)."""
    answer: str = ""
    """The reference answer text (GSM8K: the whole rationale ending ``#### N``)."""
    explanation: str = ""
    row: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The source row; equal rows are the same item (lm-eval's few-shot exclusion compares
    documents with ``!=``)."""

    @property
    def id(self) -> str:
        return f"{self.subset}/{self.index}"


def _text(row: Mapping[str, Any], column: str, where: str) -> str:
    if column not in row:
        raise RecordError(f"{where}: no column {column!r} (columns: {', '.join(sorted(row))})")
    value = row[column]
    return "" if value is None else str(value)


def mmlu(subset: str, index: int, row: Mapping[str, Any]) -> Doc:
    """cais/mmlu: ``question``, ``choices`` (list), ``answer`` (ClassLabel index 0-3)."""
    where = f"{subset}[{index}]"
    choices = row.get("choices")
    if not isinstance(choices, list):
        raise RecordError(f"{where}: column 'choices' must be a list")
    return Doc(
        subset=subset,
        index=index,
        question=_text(row, "question", where),
        choices=tuple(str(c) for c in choices),
        gold=_index(row.get("answer"), len(choices), where),
        row=row,
    )


def _letter_choices(
    subset: str, index: int, row: Mapping[str, Any], question: str, answer: str
) -> tuple[str, tuple[str, ...], int]:
    where = f"{subset}[{index}]"
    choices = tuple(_text(row, letter, where) for letter in "ABCD")
    letter = _text(row, answer, where).strip()
    gold = "ABCD".index(letter) if letter in ("A", "B", "C", "D") else -1
    return _text(row, question, where), choices, gold


def cmmlu(subset: str, index: int, row: Mapping[str, Any]) -> Doc:
    """haonan-li/cmmlu: ``Question``, ``A``-``D``, ``Answer`` (a letter)."""
    question, choices, gold = _letter_choices(subset, index, row, "Question", "Answer")
    return Doc(subset, index, question, choices, gold, row=row)


def ceval(subset: str, index: int, row: Mapping[str, Any]) -> Doc:
    """ceval/ceval-exam: ``question``, ``A``-``D``, ``answer`` (letter; empty on test),
    ``explanation`` (dev)."""
    question, choices, gold = _letter_choices(subset, index, row, "question", "answer")
    return Doc(
        subset,
        index,
        question,
        choices,
        gold,
        answer=str(row.get("answer") or ""),
        explanation=str(row.get("explanation") or ""),
        row=row,
    )


def gsm8k(subset: str, index: int, row: Mapping[str, Any]) -> Doc:
    """openai/gsm8k: ``question``, ``answer`` (rationale, then ``#### N``)."""
    where = f"{subset}[{index}]"
    return Doc(
        subset,
        index,
        _text(row, "question", where),
        answer=_text(row, "answer", where),
        row=row,
    )


def arc(subset: str, index: int, row: Mapping[str, Any]) -> Doc:
    """allenai/ai2_arc: ``question``, ``choices: {text: [...], label: [...]}``, ``answerKey``
    (a label: ``A``-``E`` or ``1``-``5``)."""
    where = f"{subset}[{index}]"
    choices = row.get("choices")
    if not isinstance(choices, Mapping) or not isinstance(choices.get("text"), list):
        raise RecordError(f"{where}: column 'choices' must be {{text: [...], label: [...]}}")
    labels = [str(label) for label in choices.get("label") or []]
    key = _text(row, "answerKey", where)
    if key not in labels:
        raise RecordError(f"{where}: answerKey {key!r} is not one of the labels {labels}")
    return Doc(
        subset,
        index,
        _text(row, "question", where),
        tuple(str(t) for t in choices["text"]),
        labels.index(key),
        row=row,
    )


def _hellaswag_clean(text: str) -> str:
    """lm-eval's ``hellaswag.utils.preprocess`` (the strip comes before the bracket removal,
    so ``"[step] Water it"`` keeps a leading space)."""
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")


def hellaswag(subset: str, index: int, row: Mapping[str, Any]) -> Doc:
    """Rowan/hellaswag: ``activity_label``, ``ctx_a``, ``ctx_b``, ``endings``, ``label``."""
    where = f"{subset}[{index}]"
    endings = row.get("endings")
    if not isinstance(endings, list):
        raise RecordError(f"{where}: column 'endings' must be a list")
    ctx = _text(row, "ctx_a", where) + " " + _text(row, "ctx_b", where).capitalize()
    label = _text(row, "label", where)
    return Doc(
        subset,
        index,
        _hellaswag_clean(_text(row, "activity_label", where) + ": " + ctx),
        tuple(_hellaswag_clean(str(e)) for e in endings),
        int(label) if label.isdecimal() else -1,
        row=row,
    )


def _index(value: Any, size: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
        raise RecordError(f"{where}: column 'answer' must be an index below {size}, not {value!r}")
    return value


CONVERTERS: dict[str, Callable[[str, int, Mapping[str, Any]], Doc]] = {
    "mmlu": mmlu,
    "cmmlu": cmmlu,
    "ceval": ceval,
    "gsm8k": gsm8k,
    "arc": arc,
    "hellaswag": hellaswag,
}


def to_docs(record: str, subset: str, rows: list[dict[str, Any]]) -> list[Doc]:
    convert = CONVERTERS[record]
    return [convert(subset, index, row) for index, row in enumerate(rows)]


def options(choices: tuple[str, ...], line: str = "{label}. {text}", limit: int = 26) -> str:
    """Lettered option lines (``A. x\\nB. y``), at most ``limit`` of them."""
    if line == "{label}. {text}":  # the common case, without a format call per line
        return "\n".join(f"{LETTERS[i]}. {text}" for i, text in enumerate(choices[:limit]))
    return "\n".join(
        line.format(label=LETTERS[i], text=text) for i, text in enumerate(choices[:limit])
    )


class Fields(dict[str, str]):
    """Template fields, each computed when a template first asks for it (``format_map``)."""

    def __init__(self, doc: Doc, title: str, zh: str) -> None:
        super().__init__(question=doc.question, subject_title=title, subject_zh=zh)
        self.doc = doc

    def __missing__(self, key: str) -> str:
        doc = self.doc
        gold_ok = 0 <= doc.gold < len(doc.choices)
        if key == "question_strip":
            value = doc.question.strip()
        elif key == "options":
            value = options(doc.choices)
        elif key == "options4":
            value = options(doc.choices, limit=4)
        elif key == "gold_label":
            value = LETTERS[doc.gold] if gold_ok else doc.answer
        elif key == "gold_text":
            value = doc.choices[doc.gold] if gold_ok else ""
        elif key == "answer":
            value = doc.answer
        elif key == "answer_number":
            value = doc.answer.split("####")[-1].strip()
        elif key == "explanation":
            value = doc.explanation
        else:
            raise KeyError(key)
        self[key] = value
        return value


def fields(doc: Doc, *, title: str = "", zh: str = "") -> Fields:
    """What templates may use (with ``str.format_map``): ``question``, ``question_strip``,
    ``options``, ``options4`` (at most four, ``arc_challenge_chat``), ``gold_label``,
    ``gold_text``, ``answer``, ``answer_number`` (after the last ``####``, stripped),
    ``explanation``, ``subject_title``, ``subject_zh``."""
    return Fields(doc, title, zh)
