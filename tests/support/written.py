"""What the operator wrote during the e2e suite, checked against Kubernetes' own schemas.

Each local cluster of the suite runs its emulator with ``record_writes=True``; its fixture
hands the cluster to `WrittenObjects.collect` before stopping it. At the end of the session
`check` validates every distinct object the operator's ServiceAccount created, updated or
patched: built-in kinds against the official schemas of every supported Kubernetes version
(strict: unknown fields fail), custom resources by the emulator's CRD validation (a write it
rejected was never recorded). With the whole suite run, every kind the operator's RBAC lets it
write must have been written at least once, so the check cannot pass by seeing nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from modeleval_testkit.cluster import LocalCluster, load_manifests
from tests.support.k8s_schemas import KubernetesSchemas, report, supported_versions
from tests.support.paths import MANIFESTS

OPERATOR_USER = "system:serviceaccount:modeleval-system:modeleval-operator"
WRITE_VERBS = {"create", "update", "patch"}
E2E = Path(__file__).resolve().parents[1] / "e2e"


def writable_resources() -> set[tuple[str, str]]:
    """(apiGroup, plural) the operator's roles let it create, update or patch."""
    found = set()
    for doc in load_manifests(sorted((MANIFESTS / "rbac").glob("operator_*.yaml"))):
        for rule in doc.get("rules") or []:
            if WRITE_VERBS & set(rule.get("verbs") or []):
                for group in rule.get("apiGroups") or []:
                    for resource in rule.get("resources") or []:
                        if "/" not in resource:  # subresources are writes to the same kind
                            found.add((group, resource))
    return found


class WrittenObjects:
    def __init__(self) -> None:
        self.objects: list[dict[str, Any]] = []
        self.kinds: dict[tuple[str, str], str] = {}
        """(apiGroup, plural) -> kind, from the emulators' registries."""

    def collect(self, cluster: LocalCluster) -> None:
        server = cluster.apiserver
        if server is None or server.writes is None:
            return
        self.objects += [w.object for w in list(server.writes) if w.user == OPERATOR_USER]
        for (api_version, kind), info in server.objects.registry.by_kind.items():
            group = api_version.rpartition("/")[0]
            self.kinds[(group, info.plural)] = kind

    @staticmethod
    def every_module_ran(items: Sequence[pytest.Item]) -> bool:
        ran = {Path(str(item.path)).resolve() for item in items}
        return set(E2E.glob("test_*.py")) <= ran

    def check(self, *, require_every_kind: bool) -> list[str]:
        """Problems found; empty when every written object is valid (and every kind seen)."""
        if not self.objects:
            return []
        schemas = KubernetesSchemas(supported_versions())
        builtin = [
            o for o in self.objects if schemas.has_schema(o.get("apiVersion", ""), o["kind"])
        ]
        problems = report(schemas, builtin)
        if problems:
            problems.insert(
                0,
                f"{len(problems)} object(s) the operator wrote are invalid for Kubernetes "
                f"{', '.join(schemas.versions)} (strict):",
            )
        if require_every_kind:
            written = {o["kind"] for o in self.objects}
            expected = {self.kinds.get(r, f"?{r}") for r in writable_resources()}
            missing = sorted(expected - written)
            if missing:
                problems.append(
                    f"the e2e suite never made the operator write {missing}: the schema check "
                    "cannot vouch for them (add a test that does)"
                )
        return problems

    def describe(self, whole_suite: bool) -> str:
        """One line for the terminal: what was checked, against which versions."""
        if not self.objects:
            return ""
        counts = Counter(o["kind"] for o in self.objects)
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
        versions = supported_versions()
        scope = "every kind the operator may write" if whole_suite else "a partial run"
        return (
            f"schema check: {len(self.objects)} distinct objects the operator wrote ({kinds}); "
            f"built-in kinds valid for Kubernetes {versions[0]}-{versions[-1]} (strict), "
            f"custom resources by the emulator's CRD validation; {scope}"
        )
