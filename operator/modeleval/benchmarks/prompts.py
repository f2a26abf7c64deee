"""Prompt rendering: plain text (completions) and chat messages, per the reference harness.

lm-evaluation-harness builds a list of messages (system = optional system instruction +
description, then user/assistant pairs for the shots, then the question) and either joins
them as text, each followed by its delimiter, or sends them as chat turns
(``apply_chat_template`` with ``fewshot_as_multiturn``). EvalScope's adapters render one user
message from their templates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from modeleval.benchmarks.definitions import EvalScopePrompt, LmEvalPrompt
from modeleval.benchmarks.records import LETTERS, Doc, fields, options


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    content: str
    delimiter: str = ""
    """Appended after the content in the plain-text rendering."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A prompt in both renderings."""

    text: str
    """Plain text: the completions prompt (and the log-likelihood context)."""
    messages: tuple[dict[str, str], ...]
    """Chat turns."""
    question: str
    """The item's own question text (``doc_to_text``), for records and reports."""


def _join_ws(prefix: str, suffix: str, delimiter: str) -> str:
    """lm-eval's ``maybe_delimit``: the delimiter only where neither side has whitespace."""
    if not prefix:
        return suffix
    if not suffix:
        return prefix
    if prefix[-1].isspace() or suffix[0].isspace():
        return prefix + suffix
    return prefix + delimiter + suffix


def _needs_delimiter(prefix: str, suffix: str) -> bool:
    """lm-eval's ``requires_delimiter``."""
    return bool(prefix) and not (prefix[-1].isspace() or suffix[0].isspace())


def lmeval_question(prompt: LmEvalPrompt, doc: Doc, values: Mapping[str, str], shots: int) -> str:
    template = prompt.zero_shot_question if shots == 0 and prompt.zero_shot_question else None
    return (template or prompt.question).format_map(values)


def lmeval_target(prompt: LmEvalPrompt, values: Mapping[str, str], shots: int) -> str:
    template = prompt.zero_shot_target if shots == 0 and prompt.zero_shot_target else None
    return (template or prompt.target).format_map(values)


def render_lmeval(
    prompt: LmEvalPrompt,
    doc: Doc,
    shots: Sequence[Doc],
    *,
    title: str = "",
    zh: str = "",
    system: str | None = None,
    shot_answers: Sequence[str] | None = None,
    shot_cache: dict[int, tuple[str, str]] | None = None,
) -> Rendered:
    """The item's prompt with ``shots`` before it (``shot_answers`` overrides the shots'
    rendered answers: GSM8K CoT's fixed exemplars). ``shot_cache`` keeps rendered shots
    between items of one subset (keyed by the shot's identity)."""
    values = fields(doc, title=title, zh=zh)
    messages: list[Message] = []
    header = _join_ws(system or "", prompt.description.format_map(values), prompt.fewshot_delimiter)
    if header:
        messages.append(Message("system", header))
    for number, shot in enumerate(shots):
        cached = shot_cache.get(id(shot)) if shot_cache is not None else None
        if cached is None:
            shot_values = fields(shot, title=title, zh=zh)
            cached = (
                prompt.question.format_map(shot_values),
                prompt.answer.format_map(shot_values),
            )
            if shot_cache is not None:
                shot_cache[id(shot)] = cached
        shot_question, answer = cached
        if shot_answers is not None:
            answer = shot_answers[number]
        delimiter = (
            prompt.target_delimiter
            if not prompt.gen_prefix or _needs_delimiter(shot_question, prompt.gen_prefix)
            else ""
        )
        messages.append(Message("user", shot_question, delimiter))
        answer = _join_ws(prompt.gen_prefix, answer, " ")
        messages.append(Message("assistant", answer, prompt.fewshot_delimiter))
    question = lmeval_question(prompt, doc, values, len(shots))
    if prompt.gen_prefix:
        needs = _needs_delimiter(question, prompt.gen_prefix)
        messages.append(Message("user", question, prompt.target_delimiter if needs else ""))
        messages.append(Message("assistant", prompt.gen_prefix))
    else:
        messages.append(Message("user", question))
    return Rendered(
        text="".join(m.content + m.delimiter for m in messages),
        messages=tuple({"role": m.role, "content": m.content} for m in messages),
        question=question,
    )


def render_evalscope(
    prompt: EvalScopePrompt,
    doc: Doc,
    shots: Sequence[Doc],
    *,
    zh: str = "",
    system: str | None = None,
) -> Rendered:
    """An EvalScope multiple-choice prompt (one user message; a system prompt before it)."""

    def values(item: Doc) -> dict[str, str]:
        return {
            "question": item.question,
            "options": options(
                tuple(c.strip() for c in item.choices) if prompt.strip_options else item.choices,
                prompt.option,
            ),
            "explanation": item.explanation,
            "gold_label": LETTERS[item.gold] if 0 <= item.gold < len(item.choices) else "",
            "subject_zh": zh,
            "letters": prompt.letters_separator.join(LETTERS[: len(item.choices)]),
        }

    body = prompt.instruction.format(**values(doc))
    if shots:
        examples = "\n\n".join(prompt.shot.format(**values(s)) for s in shots)
        body = prompt.fewshot.format(fewshot=examples) + prompt.joiner + body
    messages: list[dict[str, str]] = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": body})
    return Rendered(
        text=f"{system}\n\n{body}" if system else body,
        messages=tuple(messages),
        question=doc.question,
    )
