"""The handlers run in-process here, under the local cluster's policy (every model image may
run, as `modeleval_testkit.cluster.LOCAL_POLICY_ENV` sets for the operator process)."""

from __future__ import annotations

import dataclasses

import pytest

from modeleval.handlers import servicegroup_children, usable


@pytest.fixture(autouse=True)
def local_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = dataclasses.replace(usable.SETTINGS, allowed_model_images=("*",))
    for module in (servicegroup_children, usable):
        monkeypatch.setattr(module, "SETTINGS", settings)
