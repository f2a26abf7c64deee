"""Fixtures of the delivery tests: helm and kubectl from the PyPI wheel."""

from __future__ import annotations

import pytest

from tests.support.kube import KubeTools, require_kube_tools


@pytest.fixture(scope="session")
def kube_tools(tmp_path_factory: pytest.TempPathFactory) -> KubeTools:
    kubectl, helm = require_kube_tools()
    return KubeTools(kubectl=kubectl, helm=helm, home=tmp_path_factory.mktemp("helm-home"))
