"""Prompt rendering and request bodies."""

from __future__ import annotations

import pytest

from modeleval.runner.payloads import (
    ApiFlavour,
    GenerationParams,
    PromptTemplate,
    build_body,
    parse_answer,
)


def test_template_replaces_only_input_placeholder() -> None:
    template = PromptTemplate('Answer in JSON like {"a": 1} about {topic}: {input}. {input}!')
    assert template.render("X") == 'Answer in JSON like {"a": 1} about {topic}: X. X!'


def test_template_without_placeholder_prefixes() -> None:
    assert PromptTemplate("Q: ").render("x") == "Q: x"
    assert PromptTemplate("").render("x") == "x"


def test_generation_params_mapping() -> None:
    params = GenerationParams(
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
    assert GenerationParams(max_length=512).to_body() == {"max_tokens": 512}
    assert GenerationParams().to_body() == {}


def test_chat_body_with_system_prompt_and_stream() -> None:
    body = build_body(
        api=ApiFlavour.CHAT,
        model="m",
        prompt="hi",
        system="be brief",
        params={"temperature": 0.5},
        stream=True,
    )
    assert body == {
        "model": "m",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
        ],
        "temperature": 0.5,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_completions_body_prepends_system() -> None:
    body = build_body(api=ApiFlavour.COMPLETIONS, model="m", prompt="hi", system="S", params={})
    assert body == {"model": "m", "prompt": "S\n\nhi"}
    assert ApiFlavour.COMPLETIONS.path == "/completions"


def test_parse_answer_shapes() -> None:
    chat = {"choices": [{"message": {"content": "ok"}}], "usage": {"prompt_tokens": 3}}
    assert parse_answer(ApiFlavour.CHAT, chat) == ("ok", {"prompt": 3, "completion": 0})
    assert parse_answer(ApiFlavour.COMPLETIONS, {"choices": [{"text": "t"}]})[0] == "t"
    with pytest.raises(ValueError, match="unexpected response shape"):
        parse_answer(ApiFlavour.CHAT, {"choices": []})
