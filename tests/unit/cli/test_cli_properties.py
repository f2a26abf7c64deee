"""Property: whatever a file holds, ``modeleval validate`` and the intake answer with a clean
error or a verdict — never an uncaught exception."""

from __future__ import annotations

import io
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modeleval.api.intake import IntakeError, read_documents
from modeleval.cli import main

PROPERTY = settings(
    max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=15,
)
objects = st.fixed_dictionaries(
    {
        "apiVersion": st.sampled_from(["modeleval.io/v1alpha1", "v1", "modeleval.io/v9", ""]),
        "kind": st.sampled_from(["EvalTask", "ModelEvalServiceGroup", "ConfigMap", "List", "X"]),
    },
    optional={
        "metadata": st.dictionaries(st.sampled_from(["name", "labels"]), values, max_size=2),
        "spec": values,
        "items": st.lists(values, max_size=2),
    },
)


def check(content: bytes) -> None:
    out = io.StringIO()
    with tempfile.TemporaryDirectory() as folder, redirect_stdout(out), redirect_stderr(out):
        path = Path(folder) / "f.yaml"
        path.write_bytes(content)
        try:
            read_documents([path])
        except IntakeError as exc:
            assert str(exc).startswith(str(path))
        assert main(["validate", "-f", str(path)]) in (0, 1)
    assert "Traceback" not in out.getvalue()


@PROPERTY
@given(content=st.binary(max_size=200))
def test_any_bytes(content: bytes) -> None:
    check(content)


@PROPERTY
@given(text=st.text(alphabet=st.sampled_from(list(":-[]{}?!&*#|>'\"\n\t abc1.%@`,")), max_size=120))
def test_yaml_looking_text(text: str) -> None:
    check(text.encode())


@PROPERTY
@given(docs=st.lists(st.one_of(objects, values), min_size=0, max_size=3))
def test_any_documents(docs: list[Any]) -> None:
    check(yaml.safe_dump_all(docs).encode())
