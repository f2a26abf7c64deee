"""Fixtures of the end-to-end suite: the whole local cluster, or a real one (--kube-config).

Locally (default) one session-wide `LocalCluster` runs the API emulator, the workload executor
and the operator process (``python -m kopf run --standalone -A -m modeleval.main``) as the
``modeleval-operator`` ServiceAccount. With ``--kube-config PATH`` the same tests run against
that cluster, where the operator is installed (Helm), and ``needs_executor`` tests are skipped.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest

from modeleval_testkit.bundle import rbac_manifests
from modeleval_testkit.cluster import ClusterAccess, ExistingCluster, JsonApi, LocalCluster
from modeleval_testkit.executor import Executor
from tests.support.paths import MANIFESTS, REPO
from tests.support.written import WrittenObjects

_namespaces = itertools.count()
SCHEMA_SUMMARY = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    summary = config.stash.get(SCHEMA_SUMMARY, None)
    if summary:
        terminalreporter.write_line(summary)


@pytest.fixture(scope="session", autouse=True)
def written_objects(request: pytest.FixtureRequest) -> Iterator[WrittenObjects]:
    """Every object the operator writes in this session (each local cluster's emulator records
    them), checked at the end against Kubernetes' own schemas of every version the chart
    supports; with the whole suite run, every kind its RBAC lets it write must be among them.
    A failure shows as an error at the teardown of the last test."""
    written = WrittenObjects()
    yield written
    whole_suite = written.every_module_ran(request.session.items)
    problems = written.check(require_every_kind=whole_suite)
    request.config.stash[SCHEMA_SUMMARY] = written.describe(whole_suite)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def local_cluster(
    request: pytest.FixtureRequest, written_objects: WrittenObjects
) -> Iterator[ClusterAccess]:
    """The cluster under test: a `LocalCluster`, or an `ExistingCluster` with --kube-config."""
    kubeconfig = request.config.getoption("--kube-config")
    if kubeconfig is not None:
        with ExistingCluster(Path(kubeconfig)) as existing:
            yield existing
        return
    # The checkout's own CRD files and RBAC manifests, as a cluster would be given them.
    rbac = rbac_manifests(MANIFESTS / "rbac")
    with LocalCluster(crds=[REPO / "crds"], rbac_manifests=rbac, record_writes=True) as cluster:
        yield cluster
        written_objects.collect(cluster)


@pytest.fixture(scope="session")
def kubectl(local_cluster: ClusterAccess) -> Callable[..., CompletedProcess[str]]:
    """``kubectl("get", "et", "-n", ns, "-o", "json")``: the real binary as cluster admin."""
    return local_cluster.kubectl


@pytest.fixture(scope="session")
def k8s(local_cluster: ClusterAccess) -> Iterator[Any]:
    """An official ``kubernetes.client.ApiClient`` logged in as cluster admin."""
    client = local_cluster.api_client()
    yield client
    client.close()


@pytest.fixture
def api(local_cluster: ClusterAccess) -> Iterator[JsonApi]:
    """A plain JSON client (``api.get(path)`` / ``create`` / ``patch`` / ``delete``)."""
    with local_cluster.api() as client:
        yield client


@pytest.fixture
def namespace(api: JsonApi) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards."""
    name = f"e2e-{os.getpid()}-{next(_namespaces)}"
    api.create("/api/v1/namespaces", {"metadata": {"name": name}})
    yield name
    api.delete(f"/api/v1/namespaces/{name}")


@pytest.fixture
def executor(local_cluster: ClusterAccess) -> Executor:
    """The local workload executor (tests using it must be marked ``needs_executor``)."""
    if local_cluster.executor is None:
        pytest.skip("no local executor: running against --kube-config")
    return local_cluster.executor
