"""Whose is an existing child: only the controlling owner reference makes it ours."""

from __future__ import annotations

from typing import Any

import pytest

from modeleval.reconcile.children import controlled_by


def obj(*refs: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "t-runner", "ownerReferences": list(refs)}}


@pytest.mark.parametrize(
    ("found", "ours"),
    [
        (obj({"uid": "u1", "controller": True}), True),
        (obj({"uid": "other", "controller": True}, {"uid": "u1"}), False),  # we only own a bit
        (obj({"uid": "u1"}), False),  # an owner reference without controller: not ours
        (obj({"uid": "u1", "controller": False}), False),
        (obj(), False),
        ({"metadata": {}}, False),
    ],
)
def test_only_a_controller_reference_to_the_parent_makes_a_child_ours(
    found: dict[str, Any], ours: bool
) -> None:
    assert controlled_by(found, "u1") is ours


def test_a_parent_without_uid_owns_nothing() -> None:
    assert controlled_by(obj({"uid": "", "controller": True}), "") is False
    assert controlled_by(obj({"uid": "u1", "controller": True}), None) is False
