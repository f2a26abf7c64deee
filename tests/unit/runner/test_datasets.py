"""Dataset parsing: formats, field mapping, Qianfan layout, limits, bad rows by line number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modeleval.runner.datasets import DatasetError, FieldMapping, detect_format, parse_items
from modeleval.runner.sources import DatasetSource, load_dataset


def test_jsonl_default_fields_and_generated_ids() -> None:
    text = '{"input": "q1", "target": "a1"}\n\n{"prompt": "q2", "answer": "a2"}\n'
    items = parse_items(text, name="d.jsonl", fmt="jsonl")
    assert [(i.id, i.input, i.target) for i in items] == [("0", "q1", "a1"), ("1", "q2", "a2")]


def test_json_list_and_data_wrapper_with_explicit_mapping() -> None:
    rows = [{"key": "k1", "question": "q", "gold": "g", "extra": 3}]
    mapping = FieldMapping(input="question", target="gold", id="key")
    for data in (json.dumps(rows), json.dumps({"data": rows})):
        (item,) = parse_items(data, name="d.json", fmt="json", mapping=mapping)
        assert (item.id, item.input, item.target) == ("k1", "q", "g")
        assert item.fields["extra"] == 3


def test_csv_with_header_and_mapping() -> None:
    text = 'id,question,reference\nx1,what?,that\nx2,"multi, comma",b\n'
    items = parse_items(
        text, name="d.csv", fmt="csv", mapping=FieldMapping(input="question", target="reference")
    )
    assert [(i.id, i.input, i.target) for i in items] == [
        ("x1", "what?", "that"),
        ("x2", "multi, comma", "b"),
    ]


def test_qianfan_prompt_response_layout() -> None:
    line1 = json.dumps([{"prompt": "hi", "response": [["hello"]]}])
    line2 = json.dumps([{"prompt": "a", "response": [["b"]]}, {"prompt": "c", "response": [["d"]]}])
    items = parse_items(f"{line1}\n{line2}\n", name="q.jsonl", fmt="jsonl")
    assert [(i.input, i.target) for i in items] == [("hi", "hello"), ("c", "d")]
    assert items[1].fields["history"] == [{"prompt": "a", "response": [["b"]]}]


def test_limit_keeps_the_first_n_and_stops_before_bad_rows() -> None:
    text = '{"input": "1"}\n{"input": "2"}\n{"input": "3"}\nnot json\n'
    items = parse_items(text, name="d.jsonl", fmt="jsonl", limit=2)
    assert [i.input for i in items] == ["1", "2"]


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        ("jsonl", '{"input": "ok"}\n\n{"input": broken}\n', "d:3: invalid JSON"),
        ("jsonl", '{"input": "ok"}\n{"target": "x"}\n', "d:2: no input field"),
        ("jsonl", '{"input": "a", "id": 1}\n{"input": "b", "id": 1}\n', "d:2: duplicate item id"),
        ("jsonl", '"just a string"\n', "d:1: a row must be an object"),
        ("csv", "input,target\na,b\nc,d,e\n", "d:3: more cells than header columns"),
        ("json", '[{"input": "a"}, {"nope": 1}]', "d:2: no input field"),
        ("json", '[{"input": "a"},\n {"input": }]', "d:2: invalid JSON"),
    ],
)
def test_bad_rows_name_the_line(fmt: str, text: str, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        parse_items(text, name="d", fmt=fmt)


def test_missing_configured_field_is_reported() -> None:
    with pytest.raises(DatasetError, match="d:1: missing input field 'question'"):
        parse_items('{"input": "x"}', name="d", fmt="jsonl", mapping=FieldMapping(input="question"))


def test_detect_format() -> None:
    assert detect_format("a/b.CSV") == "csv"
    assert detect_format("https://h/x.json?sig=1") == "json"
    assert detect_format("data.jsonl") == "jsonl"
    assert detect_format("data.txt", "csv") == "csv"
    with pytest.raises(DatasetError, match="unknown dataset format"):
        detect_format("x", "xml")


def test_local_path_source_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("input,target\nq,a\n")
    (item,) = load_dataset(DatasetSource(path=str(path)))
    assert (item.input, item.target) == ("q", "a")
    with pytest.raises(DatasetError, match="dataset file not found"):
        load_dataset(DatasetSource(path=str(tmp_path / "nope.jsonl")))


def test_inline_source_with_limit() -> None:
    rows = [{"id": "a", "input": "1"}, {"id": "b", "input": "2"}]
    items = load_dataset(DatasetSource(inline=rows, limit=1))
    assert [i.id for i in items] == ["a"]


def test_exactly_one_source_is_required() -> None:
    with pytest.raises(DatasetError, match="exactly one"):
        load_dataset(DatasetSource())


def test_system_column_and_row_position() -> None:
    data = '{"q": "a", "sys": "be terse"}\n\n{"q": "b", "sys": ""}\n'
    items = parse_items(
        data, name="d.jsonl", fmt="jsonl", mapping=FieldMapping(input="q", system="sys")
    )
    assert [(i.system, i.where) for i in items] == [("be terse", "d.jsonl:1"), (None, "d.jsonl:3")]
    with pytest.raises(DatasetError, match=r"d.jsonl:1: missing system field 'sys'"):
        mapping = FieldMapping(system="sys")
        parse_items('{"input": "a"}\n', name="d.jsonl", fmt="jsonl", mapping=mapping)


@pytest.mark.parametrize(
    ("fmt", "data", "message"),
    [
        (
            "jsonl",
            b'{"input": "ok"}\n{"input": "\xff\xfe"}\n',
            r"d:2: not UTF-8 text \(byte 0xff at column 12\)",
        ),
        ("csv", b"input,target\na,b\n\xc3(,x\n", r"d:3: not UTF-8 text \(byte 0xc3 at column 1\)"),
        (
            "csv",
            b"input,target,id\na,b,1\nc,d\n",
            r"d:3: fewer cells than header columns \(no 'id'\)",
        ),
        ("jsonl", b'{"input": "a"}\n{"input": null, "target": "x"}\n', "d:2: the input is null"),
        ("json", b'[{"input": "a"}, {"prompt": null}]', "d:2: the input is null"),
    ],
)
def test_hostile_rows_are_refused_with_their_line(fmt: str, data: bytes, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        parse_items(data, name="d", fmt=fmt)


def test_an_empty_csv_cell_is_text_not_a_missing_cell() -> None:
    (item,) = parse_items("input,target\n,\n", name="d", fmt="csv")
    assert (item.input, item.target) == ("", "")
