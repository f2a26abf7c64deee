"""Property: whatever bytes a dataset holds, parsing returns items or a DatasetError —
never another exception (a traceback in the runner's log instead of ``FILE:LINE``)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modeleval.runner.datasets import DatasetError, FieldMapping, parse_items

FORMATS = st.sampled_from(["jsonl", "json", "csv"])
PROPERTY = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
rows = st.dictionaries(
    st.sampled_from(["input", "prompt", "target", "response", "id", "x", ""]),
    json_values,
    max_size=4,
)
mappings = st.builds(
    FieldMapping,
    input=st.none() | st.sampled_from(["input", "q", "x"]),
    target=st.none() | st.sampled_from(["target", "x"]),
    id=st.none() | st.sampled_from(["id", "x"]),
)


def parse(data: bytes | str, fmt: str, mapping: FieldMapping | None = None) -> Any:
    try:
        items = parse_items(data, name="d", fmt=fmt, mapping=mapping)
    except DatasetError as exc:
        assert str(exc).startswith("d"), exc  # names the source
        return None
    for item in items:
        assert isinstance(item.input, str) and isinstance(item.id, str)
    return items


@PROPERTY
@given(data=st.binary(max_size=300), fmt=FORMATS)
def test_any_bytes_parse_or_fail_cleanly(data: bytes, fmt: str) -> None:
    parse(data, fmt)


@PROPERTY
@given(text=st.text(max_size=300), fmt=FORMATS)
def test_any_text_parses_or_fails_cleanly(text: str, fmt: str) -> None:
    parse(text, fmt)


@PROPERTY
@given(
    values=st.lists(st.one_of(rows, json_values), max_size=6),
    fmt=FORMATS,
    mapping=st.none() | mappings,
)
def test_any_json_rows_parse_or_fail_cleanly(
    values: list[Any], fmt: str, mapping: FieldMapping | None
) -> None:
    if fmt == "jsonl":
        data = "\n".join(json.dumps(v) for v in values)
    elif fmt == "json":
        data = json.dumps(values)
    else:
        header = ",".join(
            str(k) for k in (values[0] if values and isinstance(values[0], dict) else {"input": 1})
        )
        data = (
            header
            + "\n"
            + "\n".join(
                ",".join(str(c) for c in (v.values() if isinstance(v, dict) else [v]))
                for v in values
            )
        )
    parse(data, fmt, mapping)
