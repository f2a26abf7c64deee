"""The handlers run in-process here, under the local cluster's policy (every model image may
run, as `modeleval_testkit.cluster.LOCAL_POLICY_ENV` sets for the operator process)."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modeleval import kube
from modeleval.handlers import servicegroup_children, usable
from modeleval_testkit.cluster import LocalCluster


@pytest.fixture(autouse=True)
def local_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = dataclasses.replace(usable.SETTINGS, allowed_model_images=("*",))
    for module in (servicegroup_children, usable):
        monkeypatch.setattr(module, "SETTINGS", settings)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """The emulator alone (no operator, no executor): the handlers are called directly."""
    with LocalCluster(operator=None, run_executor=False) as running:
        yield running


@pytest.fixture
def api(cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """``modeleval.kube`` logged in as admin to the emulator (through ``~/.kube/config``)."""
    (tmp_path / ".kube").mkdir()
    shutil.copy(cluster.admin_kubeconfig, tmp_path / ".kube" / "config")
    monkeypatch.setenv("HOME", str(tmp_path))
    kube.api_client.cache_clear()
    with cluster.api() as json_api:
        yield json_api
    kube.api_client().close()
    kube.api_client.cache_clear()
