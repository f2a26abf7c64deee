"""The declarative shape of a benchmark: its files, subsets, prompt format, few-shot and scoring.

A :class:`Benchmark` names where its Hub files are (:class:`DataFiles`), how a row becomes a
:class:`~modeleval.benchmarks.records.Doc` (``record``), its subsets and one :class:`Variant`
per scoring mode. A variant carries the reference harness's prompt format (lm-evaluation-harness
``fewshot_context`` or an EvalScope adapter's templates), few-shot construction, generation
settings and metrics. Adding a benchmark is a new entry in ``catalogue.py`` plus a test.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

GENERATE = "generate"
"""Free generation (chat or completions), then the answer is extracted from the text."""
LOGLIKELIHOOD = "loglikelihood"
"""Multiple choice scored by each choice's log-likelihood (completions with prompt logprobs)."""
MODES = (GENERATE, LOGLIKELIHOOD)


@dataclass(frozen=True, slots=True)
class Subset:
    """One subject / subset of a benchmark."""

    name: str
    """Config name on the Hub (``abstract_algebra``); also the key in results."""
    category: str
    """Group it is reported in (``stem``; EvalScope's ``STEM``); the name itself if none."""
    title: str = ""
    """English title used in prompts (``abstract algebra``)."""
    zh: str = ""
    """Chinese name used in prompts (CMMLU, C-Eval)."""


@dataclass(frozen=True, slots=True)
class DataFiles:
    """Where a benchmark's parquet files are in its Hub dataset repository (and in a mirror)."""

    repo: str
    """``owner/name`` of the dataset repository."""
    revision: str
    """Branch or ref holding parquet files (``main``, or ``refs/convert/parquet``)."""
    pattern: str
    """Path of a split's files, ``{subset}`` and ``{split}`` filled in; ``*`` only in the file
    name (``{subset}/{split}-*.parquet``). Several matching files are read in name order."""
    eval_split: str
    """The split that is evaluated."""
    fewshot_split: str | None
    """The split few-shot examples are drawn from (None: fixed examples or none)."""

    def directory(self, subset: str, split: str) -> str:
        """The folder (inside the repository) holding a split's files."""
        path = self.pattern.format(subset=subset, split=split)
        return path.rpartition("/")[0]

    def matches(self, path: str, subset: str, split: str) -> bool:
        """Whether ``path`` (relative to the repository) is one of a split's files."""
        return fnmatch.fnmatchcase(path, self.pattern.format(subset=subset, split=split))


@dataclass(frozen=True, slots=True)
class Shot:
    """A fixed few-shot example (the GSM8K chain-of-thought exemplars)."""

    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class FewShot:
    """How few-shot examples are chosen (lm-eval's samplers; EvalScope takes the first k)."""

    default: int
    """Shots when the task does not say (the reference harness's default)."""
    sampler: Literal["first_n", "random"] = "first_n"
    """``first_n``: the first k of the pool in file order; ``random``: one
    ``random.Random(seed).sample(pool, k)`` per evaluated item, in item order."""
    seed: int = 1234
    draw_extra: bool = False
    """Draw k+1 and drop the evaluated item (lm-eval does this when the few-shot split equals the
    test split, including both unset: HellaSwag)."""
    samples: tuple[Shot, ...] = ()
    """Fixed examples replacing the pool (GSM8K CoT)."""


@dataclass(frozen=True, slots=True)
class LmEvalPrompt:
    """lm-evaluation-harness's prompt assembly (``ConfigurableTask.fewshot_context``).

    Plain text: ``description + Σ shots(question + target_delimiter + answer +
    fewshot_delimiter) + question`` (+ ``" " + gen_prefix``). Chat: the description is the
    system message and each shot a user/assistant pair (``fewshot_as_multiturn``).
    Templates are ``str.format`` strings over :func:`~modeleval.benchmarks.records.fields`.
    """

    question: str
    """``doc_to_text``."""
    answer: str
    """A shot's answer (``doc_to_target`` rendered through ``doc_to_choice``)."""
    description: str = ""
    target: str = "{gold_label}"
    """Reference of exact-match scoring (generation)."""
    choices: Literal["labels", "texts"] = "labels"
    """Log-likelihood continuations: the letters or the choice texts."""
    gen_prefix: str = ""
    """Start of the answer the model continues (``arc_challenge_chat``)."""
    zero_shot_question: str = ""
    """Used instead of ``question`` with no shots (``gsm8k_cot`` -> ``gsm8k_cot_zeroshot``)."""
    zero_shot_target: str = ""
    target_delimiter: str = " "
    fewshot_delimiter: str = "\n\n"


@dataclass(frozen=True, slots=True)
class EvalScopePrompt:
    """An EvalScope multiple-choice adapter's prompt: one user message.

    ``fewshot.format(fewshot=shots joined by blank lines) + joiner + instruction`` with shots,
    else ``instruction`` alone.
    """

    instruction: str
    """Fields: ``{subject_zh}``, ``{question}``, ``{options}``, ``{letters}``."""
    option: str
    """One option line: ``{label}`` and ``{text}``."""
    shot: str
    """A few-shot example: ``{question}``, ``{options}``, ``{explanation}``, ``{gold_label}``."""
    fewshot: str = "以下是一些示例问题：\n\n{fewshot}\n\n"
    joiner: str = ""
    letters_separator: str = ","
    strip_options: bool = False
    """Strip each choice text (EvalScope's CMMLU copy holds ``"(A) text"``, cut and stripped)."""


Prompt = LmEvalPrompt | EvalScopePrompt


@dataclass(frozen=True, slots=True)
class Regex:
    """lm-eval's ``regex`` filter: ``re.findall``, take match ``group`` (-1: last), the first
    non-empty group of a tuple, stripped; ``fallback`` when nothing matches."""

    pattern: str
    group: int = 0
    fallback: str = "[invalid]"


@dataclass(frozen=True, slots=True)
class Strip:
    """lm-eval's ``remove_whitespace`` filter (``str.strip``)."""


@dataclass(frozen=True, slots=True)
class ChineseChoice:
    """EvalScope's ``parse_answers_zh`` for a single answer: the label after the last
    ``答案：`` marker, else the last capital letter when it is an option; ``""`` otherwise."""


Step = Regex | Strip | ChineseChoice


@dataclass(frozen=True, slots=True)
class ExactMatch:
    """One generation metric: extraction steps, then lm-eval's ``exact_match`` (regexes removed
    from both sides, then case and ASCII punctuation ignored as configured)."""

    name: str
    steps: tuple[Step, ...]
    ignore_case: bool = False
    ignore_punctuation: bool = False
    ignore: tuple[str, ...] = ()
    """``regexes_to_ignore``, applied in order with ``re.sub`` to prediction and reference."""


@dataclass(frozen=True, slots=True)
class ChoiceMatch:
    """EvalScope's accuracy: the extracted letter equals the target (stripped, lower-cased)."""

    name: str
    steps: tuple[Step, ...] = (ChineseChoice(),)


GenerationMetric = ExactMatch | ChoiceMatch


@dataclass(frozen=True, slots=True)
class Variant:
    """A benchmark in one scoring mode, as one reference harness task defines it."""

    mode: str
    reference: str
    """The harness and task reproduced (``lm-eval 0.4.13 mmlu``)."""
    prompt: Prompt
    fewshot: FewShot
    headline: str
    """The metric whose overall average is totalScore."""
    aggregation: Literal["lm-eval", "evalscope"] = "lm-eval"
    """lm-eval: plain means, overall = mean over all items (``weight_by_size``).
    EvalScope: subset means rounded to 4 places, then categories and overall from those."""
    likelihood_metrics: tuple[str, ...] = ()
    """``acc`` and/or ``acc_norm`` (log-likelihood mode)."""
    generation_metrics: tuple[GenerationMetric, ...] = ()
    until: tuple[str, ...] = ()
    """Stop strings: sent as ``stop`` (the first four) and cut client-side."""
    max_tokens: int = 256
    """Generated tokens (lm-eval's ``max_gen_toks`` default)."""

    @property
    def metric_names(self) -> tuple[str, ...]:
        if self.mode == LOGLIKELIHOOD:
            return self.likelihood_metrics
        return tuple(m.name for m in self.generation_metrics)


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A standard benchmark: data, subsets and its variants by mode."""

    name: str
    title: str
    record: str
    """Row format (``records.CONVERTERS``): mmlu, cmmlu, ceval, gsm8k, arc, hellaswag."""
    data: DataFiles
    subsets: tuple[Subset, ...]
    variants: Mapping[str, Variant]
    default_mode: str
    total_score: str
    """What totalScore is, in words (docs and ``summary.json``)."""
    categories: tuple[str, ...] = field(default=())
    """Category order in reports (default: order of first appearance)."""

    def variant(self, mode: str | None) -> Variant:
        chosen = mode or self.default_mode
        if chosen not in self.variants:
            modes = ", ".join(self.variants)
            raise ValueError(f"{self.name} has no {chosen} mode (it has: {modes})")
        return self.variants[chosen]

    def subset(self, name: str) -> Subset:
        for subset in self.subsets:
            if subset.name == name:
                return subset
        known = ", ".join(s.name for s in self.subsets[:8])
        more = ", ..." if len(self.subsets) > 8 else ""
        raise ValueError(f"{self.name} has no subset {name!r} (it has: {known}{more})")
