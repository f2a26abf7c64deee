"""Benchmark request bodies and answers (``runner.benchmark_payloads``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modeleval.benchmarks import Request
from modeleval.runner.benchmark_payloads import (
    benchmark_body,
    cut_at_stop,
    finish_record,
    loglikelihoods,
)
from modeleval.runner.config import ModelRun
from modeleval.runner.payloads import ApiFlavour
from modeleval_testkit.mockserver.answers import PREFERRED_LOGPROB, echo_logprobs

LL = Request(
    id="s/0",
    kind="loglikelihood",
    text="Q: 2+2?\nAnswer:",
    continuations=(" A", " B"),
    meta={"subset": "s", "gold": 1, "reference": "B", "choices": ["A", "B"]},
)
GEN = Request(
    id="s/1",
    kind="generate",
    text="Question: 1+1?\nAnswer:",
    messages=({"role": "user", "content": "Question: 1+1?\nAnswer:"},),
    stop=("Question:", "</s>", "<|im_end|>", "\n\n", "END"),
    max_tokens=256,
    meta={"subset": "s", "gold": -1, "reference": "#### 2", "options": 0},
)


def model(api: ApiFlavour, **params: Any) -> ModelRun:
    return ModelRun(name="m", url="http://x/v1", model="served", api=api, params=params)


def test_loglikelihood_body_is_lm_evals_echo_request_with_every_choice() -> None:
    body = benchmark_body(LL, model(ApiFlavour.COMPLETIONS, temperature=0.7))
    assert body == {
        "model": "served",
        "prompt": ["Q: 2+2?\nAnswer: A", "Q: 2+2?\nAnswer: B"],
        "max_tokens": 1,
        "temperature": 0,
        "logprobs": 1,
        "echo": True,
    }


def test_generation_bodies_are_greedy_with_four_stops_and_the_users_params_win() -> None:
    chat = benchmark_body(GEN, model(ApiFlavour.CHAT))
    assert chat["messages"] == [{"role": "user", "content": "Question: 1+1?\nAnswer:"}]
    assert (chat["temperature"], chat["max_tokens"]) == (0, 256)
    assert chat["stop"] == ["Question:", "</s>", "<|im_end|>", "\n\n"]
    text = benchmark_body(GEN, model(ApiFlavour.COMPLETIONS, max_tokens=512, temperature=0.2))
    assert text["prompt"] == GEN.text and "messages" not in text
    assert (text["temperature"], text["max_tokens"]) == (0.2, 512)


def test_answers_are_cut_at_the_first_stop_string() -> None:
    assert cut_at_stop(" 2\n\nQuestion: next", GEN.stop) == " 2"
    assert cut_at_stop(" #### 2 END more", GEN.stop) == " #### 2 "


def answer(prompts: list[str], preferred: int | None) -> dict[str, Any]:
    choices = []
    for index, prompt in enumerate(prompts):
        start = len(LL.text) if index == preferred else None
        choices.append({"index": index, "text": prompt, "logprobs": echo_logprobs(prompt, start)})
    return {"choices": list(reversed(choices))}  # any order: matched by index


def test_a_choice_sums_the_logprobs_of_the_tokens_covering_its_continuation() -> None:
    pairs = loglikelihoods(
        LL, answer(benchmark_body(LL, model(ApiFlavour.COMPLETIONS))["prompt"], 1)
    )
    assert pairs[1] == [PREFERRED_LOGPROB, True]
    assert pairs[0][0] < PREFERRED_LOGPROB


def test_a_token_straddling_the_boundary_counts_for_the_continuation() -> None:
    logprobs = {
        "tokens": ["Q:", " 2+2?\nAnswer", ": A"],
        "token_logprobs": [None, -1.0, -0.25],
        "top_logprobs": [None, {" x": -0.5}, {": A": -0.25}],
        "text_offset": [0, 2, 13],
    }
    body = {"choices": [{"index": 0, "logprobs": logprobs}, {"index": 1, "logprobs": logprobs}]}
    assert loglikelihoods(LL, body)[0] == [-0.25, True]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"choices": [{"index": 0}]}, "expected 2 choices"),
        ({"choices": [{"index": 0, "text": "x"}, {"index": 1, "text": "y"}]}, "no logprobs"),
        (
            {
                "choices": [
                    {
                        "index": i,
                        "logprobs": {
                            "tokens": ["Q:"],
                            "token_logprobs": [None],
                            "text_offset": [0],
                        },
                    }
                    for i in (0, 1)
                ]
            },
            "no prompt token covers",
        ),
    ],
)
def test_unusable_answers_say_why(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        loglikelihoods(LL, body)


def test_the_predictions_line_keeps_what_scoring_needs() -> None:
    record: dict[str, Any] = {"id": LL.id}
    prompts = benchmark_body(LL, model(ApiFlavour.COMPLETIONS))["prompt"]
    finish_record(record, LL, "ignored", answer(prompts, 0))
    assert record["output"] == "A"
    assert record["benchmark"] == LL.meta
    assert len(record["logprobs"]) == 2
    json.dumps(record)
    finish_record(record, GEN, " 2\n\nQuestion:", None)
    assert record["output"] == " 2"
