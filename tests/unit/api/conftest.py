"""Shared data for the API tests: the repository, the generated CRDs and the samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
SAMPLES = sorted((REPO / "manifests" / "samples").glob("*.yaml"))


def load_crds() -> dict[str, dict[str, Any]]:
    crds = {}
    for path in sorted((REPO / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        if crd.get("kind") == "CustomResourceDefinition":
            crds[crd["spec"]["names"]["kind"]] = crd
    return crds


def sample_documents() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in SAMPLES:
        for index, doc in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
            if doc and doc.get("apiVersion", "").startswith("modeleval.io/"):
                docs.append((f"{path.name}#{index}", doc))
    return docs


@pytest.fixture(scope="session")
def crds() -> dict[str, dict[str, Any]]:
    return load_crds()
