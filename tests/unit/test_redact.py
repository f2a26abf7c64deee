"""Known Secret values are masked in every form a writer may produce."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from modeleval import redact

VALUE = 'p@ss"w<rd>&1'


@pytest.fixture(autouse=True)
def secrets() -> Iterator[None]:
    redact.reset({"MODELEVAL_SECRET_ABC": VALUE, "MODELEVAL_SECRET_X": "ab", "OTHER": "visible"})
    yield
    redact.reset({})


@pytest.mark.parametrize(
    "form",
    [
        VALUE,
        json.dumps(VALUE)[1:-1],  # inside a JSON string
        quote(VALUE, safe=""),  # in a URL
        "p@ss&quot;w&lt;rd&gt;&amp;1",  # html.escape
        "p@ss&#34;w&lt;rd&gt;&amp;1",  # Jinja's autoescape
    ],
)
def test_every_form_of_a_secret_is_masked(form: str) -> None:
    assert redact.mask(f"error: invalid key {form}!") == "error: invalid key ***!"


def test_only_secret_variables_and_long_enough_values_count() -> None:
    assert redact.mask("visible ab") == "visible ab"  # not a secret; too short to mask
    redact.remember(["extra-token"])
    assert redact.mask("extra-token and " + VALUE) == "*** and ***"


def test_nested_data_and_streams_are_masked() -> None:
    assert redact.mask_data({"message": f"k={VALUE}", "n": 1, "l": [VALUE]}) == {
        "message": "k=***",
        "n": 1,
        "l": ["***"],
    }
    sink = io.StringIO()
    stream = redact.MaskingStream(sink)
    stream.write(f"Traceback: {VALUE}\n")
    stream.flush()
    assert sink.getvalue() == "Traceback: ***\n"


def test_the_scores_file_masks_what_a_judge_echoed() -> None:
    """A judge's error reaches ``scores.jsonl`` from memory, not from a masked file: the
    scoring writer masks it itself (engine._write_records)."""
    from modeleval.scoring.engine import _write_records
    from modeleval.scoring.records import ItemRecord, ModelResult

    echoed = ModelResult(answer="a", judge_error=f"HTTP 401: invalid key {VALUE}")
    out = io.StringIO()
    _write_records(out, [ItemRecord(id="i", input="q", target="t", models={"m": echoed})])
    line = json.loads(out.getvalue())
    assert line["models"]["m"]["judge"]["error"] == "HTTP 401: invalid key ***"
