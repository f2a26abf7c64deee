"""Prompt rendering and request bodies."""

from __future__ import annotations

import pytest

from modeleval.runner.payloads import (
    ApiFlavour,
    PromptTemplate,
    build_body,
    parse_answer,
)


def test_template_fills_columns_and_leaves_other_braces() -> None:
    template = PromptTemplate('Answer in JSON like {"a": 1} about {topic}: {input}. {input}!')
    assert template.columns == {"topic"}
    row = {"topic": "rivers", "input": "ignored: {input} is the item's input"}
    assert template.render("X", row) == 'Answer in JSON like {"a": 1} about rivers: X. X!'


def test_template_escapes_braces_and_formats_non_text_columns() -> None:
    template = PromptTemplate("{{literal}} {{input}} {n} {tags} {gone}: {input}")
    assert template.columns == {"n", "tags", "gone"}
    row = {"n": 3, "tags": ["a", "中"], "gone": None}
    assert template.render("Q", row) == '{literal} {input} 3 ["a", "中"] : Q'
    assert template.missing({"n": 1}) == ["gone", "tags"]


def test_input_only_templates_take_the_plain_path() -> None:
    template = PromptTemplate("Q: {input} / {input}")
    assert template.columns == frozenset()
    assert template.render("x") == "Q: x / x"
    assert PromptTemplate("{ctx} then ").render("x", {"ctx": "C"}) == "C then x"


def test_template_without_placeholder_prefixes() -> None:
    assert PromptTemplate("Q: ").render("x") == "Q: x"
    assert PromptTemplate("").render("x") == "x"


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


def test_item_ids_become_safe_header_values() -> None:
    from modeleval.runner.client import header_safe

    assert header_safe("q-1 中文") == "q-1 中文"  # unchanged unless it must change
    assert header_safe("a\r\nb\x00\x7f") == "a%0D%0Ab%00%7F"
