"""Request bodies and answers of benchmark items (``Item.request``), per lm-eval's API models.

Generation: the rendered prompt as ``prompt`` (completions) or ``messages`` (chat), greedy
(``temperature: 0``), ``max_tokens`` and the first four stop strings (what lm-eval's
``local-completions`` / ``local-chat-completions`` send); the task's generation parameters
override them. The answer is cut at the first stop string (lm-eval cuts completions; a server
that ignored ``stop`` is cut the same way).

Log-likelihood: one completions request per item with every choice, ``prompt:
[context + continuation, ...]``, ``echo: true``, ``logprobs: 1``, ``max_tokens: 1``,
``temperature: 0`` (lm-eval's ``local-completions`` body). A choice's log-likelihood is the sum
of the prompt-token log-probabilities whose text (``text_offset``) overlaps the continuation;
lm-eval tokenizes context and continuation separately and sums the continuation's tokens, which
is the same split whenever the tokenizer does not merge across the boundary (the continuations
here start with a space).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modeleval.runner.config import ModelRun
from modeleval.runner.payloads import ApiFlavour
from modeleval.runner.server_compat import cut_at_stop

LOGLIKELIHOOD = "loglikelihood"


def benchmark_body(
    request: Any, model: ModelRun, params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON body for one benchmark item (``request``: ``modeleval.benchmarks.Request``);
    ``params``: the model's request-body parameters less those its server refused (default:
    all of ``model.params``)."""
    body: dict[str, Any] = {"model": model.model}
    if request.kind == LOGLIKELIHOOD:
        body["prompt"] = [request.text + c for c in request.continuations]
        body.update(max_tokens=1, temperature=0, logprobs=1, echo=True)
        return body
    if model.api is ApiFlavour.CHAT:
        body["messages"] = [dict(m) for m in request.messages]
    else:
        body["prompt"] = request.text
    body["max_tokens"] = request.max_tokens
    body["temperature"] = 0
    if request.stop:
        body["stop"] = list(request.stop[:4])
    body.update(model.params if params is None else params)
    return body


def _choice_loglikelihood(choice: Mapping[str, Any], start: int, end: int) -> tuple[float, bool]:
    logprobs = choice.get("logprobs")
    if not isinstance(logprobs, Mapping):
        raise ValueError("no logprobs in the answer (does the server support echo + logprobs?)")
    offsets, values, tokens = (
        logprobs.get(key) for key in ("text_offset", "token_logprobs", "tokens")
    )
    top = logprobs.get("top_logprobs") or []
    if not (isinstance(offsets, list) and isinstance(values, list) and isinstance(tokens, list)):
        raise ValueError("logprobs need tokens, token_logprobs and text_offset (echo)")
    total = 0.0
    greedy = True
    used = 0
    for index, offset in enumerate(offsets):
        stop = offsets[index + 1] if index + 1 < len(offsets) else offset + len(str(tokens[index]))
        if stop <= start:
            continue
        if offset >= end:
            break
        value = values[index]
        if value is None:
            raise ValueError("the server sent no log-probability for a continuation token")
        total += float(value)
        used += 1
        alternatives = top[index] if index < len(top) else None
        if isinstance(alternatives, Mapping) and alternatives:
            greedy = greedy and float(value) >= max(float(v) for v in alternatives.values())
    if used == 0:
        raise ValueError("no prompt token covers the continuation (echo missing?)")
    return total, greedy


def loglikelihoods(request: Any, answer: Mapping[str, Any]) -> list[list[Any]]:
    """``[[sum of logprobs, is_greedy], ...]`` per continuation, from an echo answer."""
    choices = answer.get("choices")
    if not isinstance(choices, list) or len(choices) != len(request.continuations):
        raise ValueError(f"expected {len(request.continuations)} choices in the answer")
    ordered = sorted(choices, key=lambda c: int(c.get("index", 0)))
    start = len(request.text)
    return [
        list(_choice_loglikelihood(choice, start, start + len(continuation)))
        for choice, continuation in zip(ordered, request.continuations, strict=True)
    ]


def finish_record(record: dict[str, Any], request: Any, text: str, body: Any) -> None:
    """Fill a benchmark item's predictions line from its answer (``ValueError``: unusable)."""
    record["benchmark"] = request.meta
    if request.kind == LOGLIKELIHOOD:
        from modeleval.benchmarks.metrics import argmax

        if not isinstance(body, Mapping):
            raise ValueError("the answer is not a JSON object")
        pairs = loglikelihoods(request, body)
        record["logprobs"] = pairs
        record["output"] = request.meta["choices"][argmax([p[0] for p in pairs])]
        return
    record["output"] = cut_at_stop(text, list(request.stop))  # all of them, not only 4 sent
