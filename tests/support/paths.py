"""Where things are in the checkout: the repository, the chart, manifests, the generated CRDs and
the samples (read by tests of every tier)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "modeleval"
MANIFESTS = REPO / "manifests"
SAMPLES = sorted((REPO / "manifests" / "samples").glob("*.yaml"))


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with libyaml's parser (PyYAML's wheels carry it): the same objects,
    ten times faster on the CRDs and effects tables the unit tier reads again and again."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_crds() -> dict[str, dict[str, Any]]:
    crds = {}
    for path in sorted((REPO / "crds").glob("*.yaml")):
        crd = load_yaml(path.read_text(encoding="utf-8"))
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
