"""What the runner sends for each benchmark item: a :class:`Request` per evaluated doc.

A generation request holds the prompt both as text (completions) and as chat turns; the
runner picks by the model's API. A log-likelihood request holds the context and one
continuation per choice (``target_delimiter + choice``, as lm-eval's ``loglikelihood``
requests); the runner sends ``context + continuation`` for every choice in one completions
request with ``echo`` and ``logprobs``. ``meta`` is everything scoring needs later, so the
scoring phase never reads the benchmark's files again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from modeleval.benchmarks.catalogue import get_benchmark
from modeleval.benchmarks.definitions import (
    LOGLIKELIHOOD,
    Benchmark,
    EvalScopePrompt,
    LmEvalPrompt,
    Subset,
    Variant,
)
from modeleval.benchmarks.fewshot import choose_shots
from modeleval.benchmarks.prompts import Rendered, lmeval_target, render_evalscope, render_lmeval
from modeleval.benchmarks.records import LETTERS, Doc, fields


@dataclass(frozen=True, slots=True)
class RunSpec:
    """A benchmark run as the task asks for it, defaults filled in."""

    benchmark: Benchmark
    variant: Variant
    subsets: tuple[Subset, ...]
    shots: int
    limit: int | None = None
    """Items per subset (lm-eval's ``--limit``: the first N)."""
    system: str | None = None
    """A system instruction before the prompt (lm-eval's ``--system_instruction``)."""

    @property
    def needs_pool(self) -> bool:
        """Whether few-shot examples come from the files (not fixed in the definition)."""
        return self.shots > 0 and not self.variant.fewshot.samples


def resolve(
    name: str,
    *,
    mode: str | None = None,
    subsets: Sequence[str] | None = None,
    shots: int | None = None,
    limit: int | None = None,
    system: str | None = None,
) -> RunSpec:
    """The run of ``spec.benchmark``; ``ValueError`` names what does not exist."""
    benchmark = get_benchmark(name)
    variant = benchmark.variant(mode)
    chosen = (
        tuple(benchmark.subset(s) for s in dict.fromkeys(subsets)) if subsets else benchmark.subsets
    )
    k = variant.fewshot.default if shots is None else shots
    if variant.fewshot.samples and k > len(variant.fewshot.samples):
        raise ValueError(
            f"{name} has {len(variant.fewshot.samples)} fixed few-shot examples; {k} asked for"
        )
    if k > 0 and not variant.fewshot.samples and benchmark.data.fewshot_split is None:
        raise ValueError(f"{name} has no few-shot examples")
    return RunSpec(benchmark, variant, chosen, k, limit, system)


@dataclass(frozen=True, slots=True)
class Request:
    id: str
    """``<subset>/<row>``: stable across runs (the checkpoint key)."""
    kind: str
    """``generate`` or ``loglikelihood``."""
    text: str
    """Completions prompt, or the log-likelihood context."""
    messages: tuple[dict[str, str], ...] = ()
    continuations: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    max_tokens: int | None = None
    question: str = ""
    """The item's own question, for records and reports."""
    target: str = ""
    """The expected answer, as text."""
    meta: dict[str, Any] = field(default_factory=dict)
    """``subset``, ``gold``, ``reference``, and ``choices`` (log-likelihood: the scored choice
    strings, whose lengths ``acc_norm`` divides by) or ``options`` (their count)."""


def _fixed_pool(spec: RunSpec, subset: str) -> tuple[list[Doc], list[str]]:
    samples = spec.variant.fewshot.samples
    docs = [
        Doc(
            subset, i, s.question, answer=s.answer, row={"question": s.question, "target": s.answer}
        )
        for i, s in enumerate(samples)
    ]
    return docs, [s.answer for s in samples]


def build_requests(
    spec: RunSpec, subset: Subset, docs: Sequence[Doc], pool: Sequence[Doc] = ()
) -> list[Request]:
    """The requests of one subset's evaluated ``docs`` (the first ``limit``), shots from
    ``pool`` (the few-shot split; ignored when the examples are fixed)."""
    variant = spec.variant
    shot_answers: list[str] | None = None
    if variant.fewshot.samples:
        pool, shot_answers = _fixed_pool(spec, subset.name)
    evaluated = list(docs if spec.limit is None else docs[: spec.limit])
    shots = choose_shots(variant.fewshot, spec.shots, pool, evaluated)
    cache: dict[int, tuple[str, str]] = {}
    requests = []
    for doc, chosen in zip(evaluated, shots, strict=True):
        answers = shot_answers[: len(chosen)] if shot_answers is not None else None
        requests.append(_request(spec, subset, doc, chosen, answers, cache))
    return requests


def _request(
    spec: RunSpec,
    subset: Subset,
    doc: Doc,
    shots: Sequence[Doc],
    shot_answers: Sequence[str] | None,
    cache: dict[int, tuple[str, str]],
) -> Request:
    variant = spec.variant
    prompt = variant.prompt
    values = fields(doc, title=subset.title, zh=subset.zh)
    rendered: Rendered
    if isinstance(prompt, EvalScopePrompt):
        rendered = render_evalscope(prompt, doc, shots, zh=subset.zh, system=spec.system)
        reference = values["gold_label"]
    else:
        rendered = render_lmeval(
            prompt,
            doc,
            shots,
            title=subset.title,
            zh=subset.zh,
            system=spec.system,
            shot_answers=shot_answers,
            shot_cache=cache,
        )
        reference = lmeval_target(prompt, values, len(shots))
    meta: dict[str, Any] = {"subset": subset.name, "gold": doc.gold, "reference": reference}
    if variant.mode == LOGLIKELIHOOD:
        assert isinstance(prompt, LmEvalPrompt)
        choices = doc.choices if prompt.choices == "texts" else tuple(LETTERS[: len(doc.choices)])
        meta["choices"] = list(choices)
        return Request(
            id=doc.id,
            kind=LOGLIKELIHOOD,
            text=rendered.text,
            continuations=tuple(prompt.target_delimiter + c for c in choices),
            question=rendered.question,
            target=choices[doc.gold] if 0 <= doc.gold < len(choices) else "",
            meta=meta,
        )
    meta["options"] = len(doc.choices)
    return Request(
        id=doc.id,
        kind=variant.mode,
        text=rendered.text,
        messages=rendered.messages,
        stop=variant.until,
        max_tokens=variant.max_tokens,
        question=rendered.question,
        target=reference,
        meta=meta,
    )
