"""kustomize (manifests/) renders the same objects as the Helm chart's defaults."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support.kube import NAMESPACE, KubeTools, by_key, of_kind, one
from tests.support.paths import MANIFESTS, REPO

CRDS = REPO / "crds"
WATCHED = "modeleval-workloads"  # the namespace of manifests/overlays/namespaced


def crd_files() -> list[Path]:
    return sorted(p for p in CRDS.glob("*.yaml") if p.name != "kustomization.yaml")


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of manifests/ and crds/; crds/ gets a kustomization if it has none yet."""
    root = tmp_path_factory.mktemp("checkout")
    shutil.copytree(MANIFESTS, root / "manifests")
    shutil.copytree(CRDS, root / "crds")
    kustomization = root / "crds" / "kustomization.yaml"
    if not kustomization.exists():
        resources = [path.name for path in crd_files()]
        kustomization.write_text(yaml.safe_dump({"resources": resources}), encoding="utf-8")
    return root


def compare(kustomized: list[dict[str, Any]], helm: list[dict[str, Any]]) -> None:
    ours = by_key(obj for obj in kustomized if obj["kind"] != "Namespace")
    theirs = by_key(helm)
    assert sorted(ours) == sorted(theirs)
    for key, obj in ours.items():
        assert obj == theirs[key], f"{key} differs between kustomize and helm"


def test_base_equals_the_chart_defaults(kube_tools: KubeTools) -> None:
    kustomized = kube_tools.kustomize(MANIFESTS / "base")
    assert one(kustomized, "Namespace", NAMESPACE)
    compare(kustomized, kube_tools.helm_template())
    for obj in kustomized:
        kubernetes_validate.validate(obj, "1.32.0", strict=True)


def test_default_equals_the_chart_with_its_crds(kube_tools: KubeTools, checkout: Path) -> None:
    assert crd_files(), "crds/ holds no generated CRDs"
    kustomized = kube_tools.kustomize(checkout / "manifests" / "default")
    crds = of_kind(kustomized, "CustomResourceDefinition")
    assert {crd["metadata"]["name"] for crd in crds} == {
        "modelevalservicegroups.modeleval.io",
        "evaltasks.modeleval.io",
    }
    compare(kustomized, kube_tools.helm_template(include_crds=True))


def test_namespaced_overlay_equals_the_chart_with_watch_namespaces(
    kube_tools: KubeTools, checkout: Path
) -> None:
    kustomized = kube_tools.kustomize(checkout / "manifests" / "overlays" / "namespaced")
    helm = kube_tools.helm_template("--set", f"watchNamespaces={{{WATCHED}}}", include_crds=True)
    compare(kustomized, helm)
    assert [b["metadata"]["namespace"] for b in of_kind(kustomized, "RoleBinding")] == [WATCHED]


def test_webhook_overlay_equals_the_chart_with_the_webhook(
    kube_tools: KubeTools, checkout: Path
) -> None:
    kustomized = kube_tools.kustomize(checkout / "manifests" / "overlays" / "webhook")
    helm = kube_tools.helm_template(
        "--set",
        "webhook.enabled=true",
        "--set",
        "webhook.certManager.enabled=true",
        include_crds=True,
    )
    compare(kustomized, helm)


def test_kubectl_apply_k_works_on_the_real_default_overlay(kube_tools: KubeTools) -> None:
    """`kubectl apply -k manifests/default` needs crds/kustomization.yaml (kustomize
    refuses to load files outside a kustomization's own directory)."""
    assert (CRDS / "kustomization.yaml").exists(), (
        "crds/kustomization.yaml is missing: the CRD generator must write it "
        "(resources: the generated CRD files)"
    )
    kustomized = kube_tools.kustomize(MANIFESTS / "default")
    assert len(of_kind(kustomized, "CustomResourceDefinition")) == len(crd_files())
