"""The image, built from the Dockerfile (scripts/build-image.sh) and run as users run it.

The operator runs as the chart renders it: its Deployment is applied to the API emulator and
the executor runs the pod as a real container (read-only root, uid 65532, no capabilities,
the chart's env and probes, in-cluster ServiceAccount login). It reconciles an EvalTask to
Succeeded; the runner Jobs it creates run as real containers too, exactly as their manifests
say (command, env, mounts, securityContext), against a mock model server.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from modeleval_testkit.cluster import LocalCluster
from modeleval_testkit.executor import ExecutorConfig
from modeleval_testkit.mockserver import MockModelServer
from tests.support.kube import NAMESPACE, KubeTools, one
from tests.support.paths import REPO
from tests.support.realparts import BuiltImage

pytestmark = [pytest.mark.slow, pytest.mark.containers]

SIZE_BUDGET_BYTES = 650 * 10**6
"""The image is ~525 MB (base 144 MB + a 382 MB venv: kubernetes, numpy, jieba, botocore…)."""
CHART_UID = 65532
HARDENED = ["--read-only", "--user", "65532:65532", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges", "--memory", "512m"]  # fmt: skip
SECRET_FILES = (
    r"\( -name '*.key' -o -name 'id_rsa*' -o -name 'id_ed25519*' -o -name .netrc"
    r" -o -name .pypirc -o -name pip.conf -o -name .git-credentials -o -name .dockercfg"
    r" -o -name '*.p12' -o -name '*.pfx' -o -path '*/.aws/*' -o -path '*/.docker/*'"
    r" -o -path '*/.kube/*' -o -name '.env' -o -path /wheelhouse -o -path /wheels"
    r" -o -path /src \)"
)
KNOWN_TEXTS = ("/botocore/data/",)
"""Files that mention a private key without holding one (AWS API documentation examples)."""


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=False, timeout=300
    )
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:3])}…: {result.stderr[-2000:]}")
    return result


def test_the_image_is_small_and_runs_as_the_chart_uid(
    project_image: BuiltImage, kube_tools: KubeTools
) -> None:
    assert project_image.size_bytes < SIZE_BUDGET_BYTES, project_image
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}",
                               project_image.tag).stdout)  # fmt: skip
    assert config["User"] == f"{CHART_UID}:{CHART_UID}"
    pod = one(kube_tools.helm_template(), "Deployment", "modeleval-operator")["spec"]["template"]
    assert pod["spec"]["securityContext"]["runAsUser"] == CHART_UID
    who = docker("run", "--rm", *HARDENED, project_image.tag, "python", "-c",
                 "import getpass, os, sys; print(os.getuid(), os.getgid(), getpass.getuser(),"
                 " os.environ['HOME'], sys.version_info[:2])").stdout  # fmt: skip
    assert who.split()[:4] == ["65532", "65532", "nonroot", "/tmp"], who
    runner = docker("run", "--rm", *HARDENED, project_image.tag,
                    "python", "-m", "modeleval.runner", "--help")  # fmt: skip
    assert "infer" in runner.stdout
    # The console's extra is in the image: its schema migrates (Alembic scripts are packaged)
    # on a writable /tmp (the pods mount an emptyDir there), as the console does at start.
    migrated = docker("run", "--rm", *HARDENED, "--tmpfs", "/tmp", project_image.tag,
                      "python", "-c",
                      "from modeleval.console.db.engine import make_engine, upgrade,"
                      " current_revision, head_revision;"
                      " e = make_engine('sqlite:////tmp/console.db'); upgrade(e);"
                      " print(current_revision(e) == head_revision(), head_revision())"
                      ).stdout  # fmt: skip
    assert migrated.split()[0] == "True", migrated


def test_no_secret_is_reachable_from_a_shell_in_the_image(project_image: BuiltImage) -> None:
    """What a shell in a running container can read: its environment, files, history."""
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}",
                               project_image.tag).stdout)  # fmt: skip
    names = [entry.split("=", 1)[0] for entry in config.get("Env") or []]
    assert not [
        n
        for n in names
        if any(w in n.upper() for w in ("SECRET", "TOKEN", "PASSW", "KEY", "CREDENTIAL"))
    ], names
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", project_image.tag)
    assert "PIP_INDEX_URL" not in history.stdout and "token" not in history.stdout.lower()
    found = docker("run", "--rm", *HARDENED, "--entrypoint", "sh", project_image.tag, "-c",
                   f"find / -xdev {SECRET_FILES} -print 2>/dev/null;"
                   " grep -rlI 'PRIVATE KEY-----' /opt /etc /tmp /root /home 2>/dev/null;"
                   " env", check=False).stdout  # fmt: skip
    lines = [
        line
        for line in found.splitlines()
        if "=" not in line and not any(known in line for known in KNOWN_TEXTS)
    ]
    assert lines == [], lines
    assert not [e for e in found.splitlines() if "=" in e and "TOKEN" in e.upper()]


@pytest.fixture(scope="module")
def installed(
    project_image: BuiltImage, kube_tools: KubeTools, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalCluster]:
    """The chart installed into the emulator; the executor runs its pods as real containers."""
    work = tmp_path_factory.mktemp("image")
    repository, tag = project_image.tag.split(":")
    objects = kube_tools.helm_template("--set", f"image.repository={repository}",
                                       "--set", f"image.tag={tag}")  # fmt: skip
    manifest = work / "install.yaml"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    manifest.write_text(yaml.safe_dump_all([namespace, *objects]), encoding="utf-8")
    config = ExecutorConfig(
        time_scale=0.05, container_images=(project_image.tag,), work_dir=work / "executor"
    )
    with LocalCluster(
        work_dir=work / "run", operator=None, crds=[REPO / "crds"], rbac_manifests=[],
        executor=config,
    ) as cluster:  # fmt: skip
        cluster.kubectl("apply", "-f", str(manifest))
        yield cluster


def wait(what: str, check: Any, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def operator_pod(cluster: LocalCluster) -> dict[str, Any]:
    with cluster.api() as api:
        pods = api.get(f"/api/v1/namespaces/{NAMESPACE}/pods") or {}
    [pod] = pods["items"]
    return dict(pod)


def test_the_operator_container_starts_and_answers_its_liveness_probe(
    installed: LocalCluster,
) -> None:
    def available() -> bool:
        with installed.api() as api:
            deployment = api.get(
                f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/modeleval-operator"
            ) or {}  # fmt: skip
        return bool((deployment.get("status") or {}).get("availableReplicas"))

    try:
        wait("the operator Deployment to be available", available)
    except AssertionError:
        pod = operator_pod(installed)
        raise AssertionError(installed.logs(pod["metadata"]["name"], NAMESPACE)[-3000:]) from None

    def healthy() -> bool:
        try:
            with urllib.request.urlopen("http://127.0.0.1:8080/healthz", timeout=5) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    try:
        wait("/healthz to answer 200", healthy, timeout=60)
    except AssertionError:
        pod = operator_pod(installed)
        raise AssertionError(installed.logs(pod["metadata"]["name"], NAMESPACE)[-3000:]) from None
    with urllib.request.urlopen("http://127.0.0.1:9090/metrics", timeout=5) as response:
        assert b"# TYPE" in response.read()
    [status] = operator_pod(installed)["status"]["containerStatuses"]
    assert status["ready"] and status["restartCount"] == 0
    assert status["containerID"].startswith("docker://")


def test_the_operator_container_reconciles_a_task_whose_runner_containers_succeed(
    installed: LocalCluster, tmp_path: Path
) -> None:
    rows = [{"id": str(i), "input": f"say {i}", "target": f"say {i}"} for i in range(12)]
    dataset = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "qa", "namespace": "default"},
        "data": {"qa.jsonl": "".join(json.dumps(row) + "\n" for row in rows)},
    }
    task: dict[str, Any] = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": "in-containers", "namespace": "default"},
        "spec": {
            "models": [],
            # A ConfigMap dataset: the runner container reads it through its mount.
            "dataset": {"configMap": {"name": "qa", "key": "qa.jsonl"}},
            "inference": {"promptTemplate": "{input}", "client": {"parallel": 2}},
            "scoring": {"modes": ["rule"], "rule": {"scoreModes": ["accuracy"]}},
        },
    }
    with MockModelServer(latency_s=0.01).running() as mock:
        task["spec"]["models"] = [
            {"name": "mock", "endpoint": {"url": mock.url, "model": "mock-model"}}
        ]
        installed.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([dataset, task]))

        def finished() -> dict[str, Any] | None:
            with installed.api() as api:
                obj = api.get(
                    "/apis/modeleval.io/v1alpha1/namespaces/default/evaltasks/in-containers"
                ) or {}  # fmt: skip
            status = obj.get("status") or {}
            return status if status.get("state") in ("Succeeded", "Failed") else None

        status = wait("the task to finish", finished, timeout=180)
    pod = operator_pod(installed)
    log = installed.logs(pod["metadata"]["name"], NAMESPACE)
    assert status["state"] == "Succeeded", (status.get("message"), log[-3000:])
    assert status["totalScore"] == 100.0
    with installed.api() as api:
        runner_pods = (api.get("/api/v1/namespaces/default/pods") or {})["items"]
    runners = [p for p in runner_pods if p["spec"]["containers"][0]["name"] == "runner"]
    assert {p["status"]["phase"] for p in runners} == {"Succeeded"}
    for runner in runners:
        [state] = runner["status"]["containerStatuses"]
        assert state["containerID"].startswith("docker://"), state
        assert state["image"] == pod["spec"]["containers"][0]["image"]
    # The runner wrote its results to the claim, as uid 65532 through a bind mount.
    assert installed.executor is not None
    results = list((installed.executor.work_dir / "pvc" / "default").rglob("summary.json"))
    assert results, "no summary.json on the results volume"
