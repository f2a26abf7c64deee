"""Judge-model scoring: prompt filling, strict verdict reading, per-item retries and isolation.

A judge is anything that satisfies :class:`JudgeClient`: an async callable taking chat
messages (``[{"role": "user", "content": "..."}]``) and returning the reply text. The runner
passes its own HTTP client; :class:`modeleval.scoring.http_judge.OpenAIJudge` is a small
OpenAI-compatible one; tests pass an in-process function.

Replies are read by :mod:`modeleval.scoring.verdicts` (the accepted formats are listed there).
An item whose judge call still fails after the configured retries (no reply, or no verdict
that can be trusted) is returned as a :class:`JudgeOutcome` with ``error`` and ``cause`` set;
it never raises, so one bad item cannot stop the others. Whether too many failed is decided
over all items (:mod:`modeleval.scoring.failures`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from modeleval.scoring.config import JudgeConfig
from modeleval.scoring.verdicts import (
    JudgeParseError,
    PromptText,
    cached_prompt_text,
    parse_score,
)

ChatMessage = Mapping[str, str]

T = TypeVar("T")

__all__ = [
    "ChatMessage",
    "JudgeClient",
    "JudgeOutcome",
    "JudgeParseError",
    "call_with_retries",
    "fill_prompt",
    "gather_limited",
    "judge_answer",
    "parse_score",
    "prompt_text",
]


class JudgeClient(Protocol):
    """An async chat completion: messages in, the assistant's text out."""

    def __call__(self, messages: Sequence[ChatMessage], /) -> Awaitable[str]: ...


@dataclass(frozen=True, slots=True)
class JudgeOutcome:
    """One judge score: ``score`` in [0, maxScore] and the judge's reason, or an ``error``.

    ``cause`` is the error's short, countable form (e.g. "judge timed out after 60s").
    """

    score: float | None
    reason: str = ""
    error: str | None = None
    attempts: int = 1
    cause: str | None = None


def fill_prompt(template: str, config: JudgeConfig, **fields: str) -> str:
    """Fill ``{metric}``, ``{steps}``, ``{max_score}`` and the item fields into ``template``.

    Only known placeholders are replaced, so literal braces elsewhere (e.g. a JSON example
    written as ``{{"score": ...}}`` or ``{"score": ...}``) survive.
    """
    max_score = config.max_score
    values = {
        "metric": config.metric,
        "steps": config.steps,
        "max_score": str(int(max_score)) if float(max_score).is_integer() else str(max_score),
        **fields,
    }
    # One pass, so text inserted from the item is never re-interpreted.
    pattern = r"\{\{|\}\}|\{(" + "|".join(map(re.escape, values)) + r")\}"

    def substitute(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return values[match.group(1)]
        return match.group(0)[0]

    return re.sub(pattern, substitute, template)


ITEM_FIELDS = ("question", "reference", "answer", "answer_a", "answer_b")
"""Placeholders filled from the item: their text is the item's, not the prompt's own."""


def prompt_text(template: str, config: JudgeConfig) -> PromptText:
    """The fixed text of ``template``: what a reply must not repeat (see ``PromptText``).

    The item's fields and the user's metric and steps are cut out: a judge may quote those.
    """
    cut = "\x00"
    filled = fill_prompt(template, config, metric=cut, steps=cut, **dict.fromkeys(ITEM_FIELDS, cut))
    return cached_prompt_text(tuple(filled.split(cut)))


@dataclass(frozen=True, slots=True)
class Attempted(Generic[T]):
    """What :func:`call_with_retries` got: a parsed ``value``, or the last ``error``."""

    value: T | None
    error: str | None
    cause: str | None
    attempts: int


def failure_cause(exc: Exception) -> str:
    """The countable form of a failed judge call: the exception's ``cause`` or its type."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, str) and cause:
        return cause
    return f"judge call failed: {type(exc).__name__}"


async def call_with_retries(
    judge: JudgeClient,
    prompt: str,
    parse: Callable[[str], T],
    config: JudgeConfig,
) -> Attempted[T]:
    """Ask the judge, parse the reply; retry on any failure (an unreadable reply included)."""
    error = cause = "not attempted"
    delay = config.retry_backoff_seconds
    attempts = 0
    for attempt in range(config.retries + 1):
        attempts = attempt + 1
        try:
            async with asyncio.timeout(config.timeout_seconds):
                reply = await judge([{"role": "user", "content": prompt}])
            return Attempted(parse(reply), None, None, attempts)
        except TimeoutError:
            error = cause = f"judge timed out after {config.timeout_seconds:g}s"
        except JudgeParseError as exc:
            error, cause = str(exc), exc.cause
        except Exception as exc:
            error = f"judge call failed: {type(exc).__name__}: {exc}"
            cause = failure_cause(exc)
        if attempt < config.retries and delay > 0:
            await asyncio.sleep(delay)
            delay *= 2
    return Attempted(None, error, cause, attempts)


async def judge_answer(
    judge: JudgeClient,
    config: JudgeConfig,
    *,
    question: str,
    reference: str,
    answer: str,
) -> JudgeOutcome:
    """Score one answer; failures come back as an outcome with ``error`` and ``cause`` set."""
    prompt = fill_prompt(
        config.prompt_template, config, question=question, reference=reference, answer=answer
    )
    fixed = prompt_text(config.prompt_template, config)
    got = await call_with_retries(
        judge, prompt, lambda reply: parse_score(reply, config.max_score, prompt=fixed), config
    )
    if got.value is None:
        return JudgeOutcome(score=None, error=got.error, attempts=got.attempts, cause=got.cause)
    score, reason = got.value
    return JudgeOutcome(score=score, reason=reason, attempts=got.attempts)


async def gather_limited(
    factories: Sequence[Callable[[], Awaitable[T]]], concurrency: int
) -> list[T]:
    """Run coroutine factories with at most ``concurrency`` in flight; results in order.

    A fixed pool of workers pulls the next factory, so memory stays flat for 100,000s of
    judge calls (no task per item is created up front).
    """
    results: list[T | None] = [None] * len(factories)
    queue = iter(enumerate(factories))

    async def worker() -> None:
        for index, factory in queue:
            results[index] = await factory()

    workers = [asyncio.create_task(worker()) for _ in range(min(concurrency, len(factories)))]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    return results  # type: ignore[return-value]
