"""Generation parameters as request-body fields."""

from __future__ import annotations

from modeleval.builders.request_params import BodyParams


def test_generation_params_mapping() -> None:
    params = BodyParams(
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        max_new_tokens=128,
        max_length=4096,
        repetition_penalty=1.1,
        stop=["\n\n"],
        seed=7,
        extra={"enable_citation": True, "top_k": 5},
    )
    assert params.to_body() == {
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 5,  # vendor extras win: they are passed through verbatim
        "max_tokens": 128,
        "repetition_penalty": 1.1,
        "stop": ["\n\n"],
        "seed": 7,
        "enable_citation": True,
    }


def test_max_length_is_the_cap_when_max_new_tokens_is_unset() -> None:
    assert BodyParams(max_length=512).to_body() == {"max_tokens": 512}
    assert BodyParams().to_body() == {}
