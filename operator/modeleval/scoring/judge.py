"""Judge-model scoring: prompt filling, robust score parsing, per-item retries and isolation.

A judge is anything that satisfies :class:`JudgeClient`: an async callable taking chat
messages (``[{"role": "user", "content": "..."}]``) and returning the reply text. The runner
passes its own HTTP client; :class:`modeleval.scoring.http_judge.OpenAIJudge` is a small
OpenAI-compatible one; tests pass an in-process function.

An item whose judge call still fails after the configured retries is returned as a
:class:`JudgeOutcome` with ``error`` set; it never raises, so one bad item cannot fail the task.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from modeleval.scoring.config import JudgeConfig

ChatMessage = Mapping[str, str]

T = TypeVar("T")


class JudgeClient(Protocol):
    """An async chat completion: messages in, the assistant's text out."""

    def __call__(self, messages: Sequence[ChatMessage], /) -> Awaitable[str]: ...


class JudgeParseError(ValueError):
    """The judge replied, but no score/verdict could be read from the reply."""


@dataclass(frozen=True, slots=True)
class JudgeOutcome:
    """One judge score: ``score`` in [0, maxScore] and the judge's reason, or an ``error``."""

    score: float | None
    reason: str = ""
    error: str | None = None
    attempts: int = 1


_NUMBER = r"(-?\d+(?:\.\d+)?)"
_LABELLED_SCORE_RES = [
    re.compile(
        r"(?:评分|得分|分数|打分|总分|score|rating|grade)\s*\**\s*(?:是|为|[:：=])?\s*\**\s*"
        + _NUMBER
        + r"\s*(?:分)?\s*(?:(?:/|／|out of|满分)\s*"
        + _NUMBER
        + ")?",
        re.IGNORECASE,
    ),
]
_FRACTION_RE = re.compile(_NUMBER + r"\s*(?:/|／|out of)\s*" + _NUMBER, re.IGNORECASE)
_BARE_NUMBER_RE = re.compile(r"^\s*\**\s*" + _NUMBER + r"\s*(?:分)?\s*\**\s*[.。]?\s*$")
_NUMBER_ONLY_RE = re.compile(r"\s*" + _NUMBER + r"\s*")
_JSON_OBJECT_RE = re.compile(r"\{.*\}", re.DOTALL)


def find_json_object(text: str) -> dict[str, object] | None:
    """The JSON object in a reply (also inside a ```json fence), or ``None``."""
    match = _JSON_OBJECT_RE.search(text)
    if not match:
        return None
    try:
        value = json.loads(match.group(0))
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _scaled(value: float, denominator: float | None, max_score: float) -> float:
    if denominator and denominator > 0 and denominator != max_score:
        value = value / denominator * max_score
    return min(max(value, 0.0), max_score)


def parse_score(reply: str, max_score: float) -> tuple[float, str]:
    """Read ``(score, reason)`` from a judge reply; raise :class:`JudgeParseError` if none.

    Accepted forms: JSON ``{"score": 4, "reason": "..."}``; labelled text such as
    ``评分：4``, ``得分: 4分``, ``Score: 4/5``, ``Rating: 8 out of 10``; a fraction ``4/5``;
    a bare number. A fraction with another denominator is rescaled to ``max_score``
    (``8/10`` with max 5 gives 4). The score is clamped to ``[0, max_score]``.
    """
    obj = find_json_object(reply)
    if obj is not None:
        for key in ("score", "rating", "评分", "得分", "分数"):
            raw = obj.get(key)
            if isinstance(raw, bool):
                continue
            numeric = isinstance(raw, int | float)
            if not numeric and not (isinstance(raw, str) and _NUMBER_ONLY_RE.fullmatch(raw)):
                continue
            score = float(raw)  # type: ignore[arg-type]
            reason = obj.get("reason", obj.get("explanation", obj.get("理由", "")))
            return _scaled(score, None, max_score), str(reason)
    for pattern in _LABELLED_SCORE_RES:
        match = pattern.search(reply)
        if match:
            den = float(match.group(2)) if match.group(2) else None
            return _scaled(float(match.group(1)), den, max_score), reply.strip()
    fraction = _FRACTION_RE.search(reply)
    if fraction:
        value, den = float(fraction.group(1)), float(fraction.group(2))
        return _scaled(value, den, max_score), reply.strip()
    bare = _BARE_NUMBER_RE.match(reply)
    if bare:
        return _scaled(float(bare.group(1)), None, max_score), ""
    raise JudgeParseError(f"no score in judge reply: {reply[:200]!r}")


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


async def call_with_retries(
    judge: JudgeClient,
    prompt: str,
    parse: Callable[[str], T],
    config: JudgeConfig,
) -> tuple[T | None, str | None, int]:
    """Ask the judge, parse the reply; retry on any failure. Returns (value, error, attempts)."""
    error = "not attempted"
    delay = config.retry_backoff_seconds
    attempts = 0
    for attempt in range(config.retries + 1):
        attempts = attempt + 1
        try:
            async with asyncio.timeout(config.timeout_seconds):
                reply = await judge([{"role": "user", "content": prompt}])
            return parse(reply), None, attempts
        except TimeoutError:
            error = f"judge timed out after {config.timeout_seconds:g}s"
        except JudgeParseError as exc:
            error = str(exc)
        except Exception as exc:
            error = f"judge call failed: {type(exc).__name__}: {exc}"
        if attempt < config.retries and delay > 0:
            await asyncio.sleep(delay)
            delay *= 2
    return None, error, attempts


async def judge_answer(
    judge: JudgeClient,
    config: JudgeConfig,
    *,
    question: str,
    reference: str,
    answer: str,
) -> JudgeOutcome:
    """Score one answer; failures come back as an outcome with ``error`` set."""
    prompt = fill_prompt(
        config.prompt_template, config, question=question, reference=reference, answer=answer
    )
    parsed, error, attempts = await call_with_retries(
        judge, prompt, lambda reply: parse_score(reply, config.max_score), config
    )
    if parsed is None:
        return JudgeOutcome(score=None, error=error, attempts=attempts)
    score, reason = parsed
    return JudgeOutcome(score=score, reason=reason, attempts=attempts)


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
