"""MODELEVAL_REQUIRE_USABLE_LABEL: unlabelled Secrets, ServiceAccounts and PVCs are refused
only while the setting is on; the administrator's policy applies either way."""

from __future__ import annotations

import dataclasses

import pytest

from modeleval.api import EvalTaskSpec
from modeleval.handlers import usable

SPEC = EvalTaskSpec.model_validate(
    {
        "models": [{"name": "m", "endpoint": {
            "url": "https://llm.example/v1", "apiKeySecretRef": {"name": "llm", "key": "k"}}}],
        "dataset": {"inline": [{"input": "x"}]},
    }
)  # fmt: skip


@pytest.mark.parametrize("required", [True, False])
def test_unlabelled_objects_are_refused_only_when_the_label_is_required(
    monkeypatch: pytest.MonkeyPatch, required: bool
) -> None:
    seen: list[str] = []

    def unlabelled(namespace: str, found: object) -> list[str]:
        seen.append(namespace)
        return ["Secret llm is not labelled modeleval.io/usable-by-modeleval=true"]

    monkeypatch.setattr(usable, "unlabelled", unlabelled)
    settings = dataclasses.replace(usable.SETTINGS, require_usable_label=required)
    monkeypatch.setattr(usable, "SETTINGS", settings)
    problems = usable.refusals(SPEC, "team-a")
    assert bool(problems) is required
    assert seen == (["team-a"] if required else [])
