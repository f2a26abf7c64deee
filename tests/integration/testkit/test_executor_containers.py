"""Pods as real containers (``ExecutorConfig.container_images``): the project's image run by the
Docker engine as a kubelet would run it: command/args, env from Secrets, volumes as bind
mounts, securityContext, a memory limit enforced by a real cgroup, probes, SIGKILL."""

from __future__ import annotations

import json
import socket
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest

from modeleval_testkit.cluster import JsonApi, LocalCluster
from modeleval_testkit.executor import ExecutorConfig
from tests.support.realparts import BuiltImage

pytestmark = [pytest.mark.slow, pytest.mark.containers]

NS = "default"
HARDENED = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}

INSPECT = textwrap.dedent(
    """
    import json, os, pathlib
    report = {
        "uid": os.getuid(), "gid": os.getgid(), "groups": sorted(os.getgroups()),
        "secret_env": os.environ.get("API_KEY"),
        "config": pathlib.Path("/etc/app/settings.txt").read_text(),
        "secret_file": pathlib.Path("/etc/secret/key").read_text(),
        "hostname": os.environ.get("HOSTNAME"),
        "in_cluster": os.environ.get("KUBERNETES_SERVICE_HOST"),
        "sa_files": sorted(os.listdir("/var/run/secrets/kubernetes.io/serviceaccount")),
        "cap_eff": [l for l in open("/proc/self/status") if l.startswith("CapEff")][0].split()[1],
    }
    for path in ("/", "/etc/app"):
        try:
            open(path.rstrip("/") + "/probe-write", "w").close()
            report["writable " + path] = True
        except OSError as exc:
            report["writable " + path] = exc.strerror
    pathlib.Path("/scratch/tmp.txt").write_text("emptyDir")
    pathlib.Path("/data/out/result.txt").write_text("written to the claim")
    pathlib.Path("/dev/termination-log").write_text("all done")
    print("REPORT " + json.dumps(report), flush=True)
    """
)


@pytest.fixture(scope="module")
def cluster(
    project_image: BuiltImage, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalCluster]:
    work = tmp_path_factory.mktemp("containers")
    config = ExecutorConfig(
        time_scale=0.05, container_images=("modeleval:*",), work_dir=work / "executor"
    )
    with LocalCluster(work_dir=work / "run", operator=None, executor=config) as local:
        yield local


@pytest.fixture
def api(cluster: LocalCluster) -> Iterator[JsonApi]:
    with cluster.api() as client:
        yield client


def pod(name: str, image: str, container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": image, **container}],
            **spec,
        },
    }


def create(api: JsonApi, *objects: dict[str, Any]) -> None:
    for obj in objects:
        api.create(f"/api/v1/namespaces/{NS}/{obj['kind'].lower()}s", obj)


def wait_pod(api: JsonApi, name: str, done: Any, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    current: dict[str, Any] = {}
    while time.monotonic() < deadline:
        current = api.get(f"/api/v1/namespaces/{NS}/pods/{name}") or {}
        if done(current.get("status") or {}):
            return current
        time.sleep(0.2)
    raise AssertionError(f"pod {name}: {json.dumps(current.get('status'))[:2000]}")


def terminated(status: dict[str, Any]) -> dict[str, Any] | None:
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if "terminated" in state:
            return dict(state["terminated"])
    return None


def waiting_reason(status: dict[str, Any]) -> str | None:
    for container in status.get("containerStatuses") or []:
        reason = ((container.get("state") or {}).get("waiting") or {}).get("reason")
        if reason not in (None, "ContainerCreating"):
            return str(reason)
    return None


def test_a_hardened_pod_runs_with_its_volumes_secrets_and_security_context(
    cluster: LocalCluster, api: JsonApi, project_image: BuiltImage
) -> None:
    create(
        api,
        {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "creds"},
         "stringData": {"api-key": "s3cr3t", "key": "file-secret"}},
        {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "settings"},
         "data": {"settings.txt": "mode=test"}},
        {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "metadata": {"name": "data"},
         "spec": {"accessModes": ["ReadWriteOnce"],
                  "resources": {"requests": {"storage": "1Gi"}}}},
    )  # fmt: skip
    container = {
        "command": ["python", "-c"],
        "args": [INSPECT],
        "env": [
            {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "api-key"}}}
        ],
        "securityContext": HARDENED,
        "resources": {"limits": {"memory": "256Mi", "cpu": "1"}},
        "volumeMounts": [
            {"name": "settings", "mountPath": "/etc/app", "readOnly": True},
            {"name": "secret", "mountPath": "/etc/secret"},
            {"name": "scratch", "mountPath": "/scratch"},
            {"name": "data", "mountPath": "/data/out", "subPath": "results"},
        ],
    }  # fmt: skip
    volumes = [
        {"name": "settings", "configMap": {"name": "settings"}},
        {"name": "secret",
         "secret": {"secretName": "creds", "items": [{"key": "key", "path": "key"}]}},
        {"name": "scratch", "emptyDir": {}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
    ]  # fmt: skip
    create(
        api,
        pod(
            "hardened",
            project_image.tag,
            container,
            volumes=volumes,
            securityContext={"runAsGroup": 65532, "fsGroup": 65532},
        ),
    )
    done = wait_pod(api, "hardened", lambda s: s.get("phase") in ("Succeeded", "Failed"))
    log = cluster.logs("hardened", NS)
    assert done["status"]["phase"] == "Succeeded", log
    report = json.loads(log.split("REPORT ", 1)[1].splitlines()[0])
    assert (report["uid"], report["gid"]) == (65532, 65532)
    assert 65532 in report["groups"]
    assert report["secret_env"] == "s3cr3t"
    assert report["config"] == "mode=test" and report["secret_file"] == "file-secret"
    assert report["hostname"] == "hardened"
    assert report["in_cluster"] == "127.0.0.1"
    assert report["sa_files"] == ["ca.crt", "namespace", "token"]
    assert report["cap_eff"] == "0000000000000000"
    assert report["writable /"] == "Read-only file system"
    assert report["writable /etc/app"] == "Read-only file system"
    state = terminated(done["status"])
    assert state is not None and state["message"] == "all done"
    assert state["containerID"].startswith("docker://")
    claim = cluster.executor.pvc_path("data", NS) if cluster.executor else None
    assert claim is not None and (claim / "results" / "result.txt").read_text() == (
        "written to the claim"
    )
    assert "s3cr3t" not in json.dumps(done)


def test_going_over_the_memory_limit_is_a_real_oom_kill(
    api: JsonApi, project_image: BuiltImage
) -> None:
    hog = "blocks = []\nwhile True:\n    blocks.append(bytearray(16 * 2**20))"
    container = {
        "command": ["python", "-c", hog],
        "securityContext": HARDENED,
        "resources": {"limits": {"memory": "96Mi"}},
    }
    create(api, pod("hog", project_image.tag, container))
    done = wait_pod(api, "hog", lambda s: s.get("phase") in ("Succeeded", "Failed"))
    state = terminated(done["status"])
    assert done["status"]["phase"] == "Failed"
    assert state is not None
    assert (state["reason"], state["exitCode"]) == ("OOMKilled", 137)


def test_a_killed_container_is_an_error_not_an_oom(
    cluster: LocalCluster, api: JsonApi, project_image: BuiltImage
) -> None:
    sleep = "import time; print('up', flush=True); time.sleep(600)"
    container = {"command": ["python", "-c", sleep]}
    create(api, pod("sleeper", project_image.tag, container))
    wait_pod(api, "sleeper", lambda s: s.get("phase") == "Running")
    assert cluster.executor is not None
    deadline = time.monotonic() + 30
    while "up" not in cluster.logs("sleeper", NS) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cluster.executor.kill_pod("sleeper", NS)
    done = wait_pod(api, "sleeper", lambda s: s.get("phase") == "Failed")
    state = terminated(done["status"])
    assert state is not None and (state["reason"], state["exitCode"]) == ("Error", 137)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_probes_reach_the_container_on_its_own_port(
    api: JsonApi, project_image: BuiltImage
) -> None:
    port = free_port()
    server = (
        "import http.server as s; "
        f"s.ThreadingHTTPServer(('127.0.0.1', {port}), s.SimpleHTTPRequestHandler).serve_forever()"
    )
    container = {
        "command": ["python", "-c", server],
        "workingDir": "/tmp",
        "ports": [{"containerPort": port, "name": "http"}],
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1},
        # Passes only inside the image (the host has no /opt/modeleval): runs by docker exec.
        "livenessProbe": {
            "exec": {"command": ["test", "-x", "/opt/modeleval/bin/python"]}, "periodSeconds": 1
        },
    }  # fmt: skip
    create(api, pod("web", project_image.tag, container, restartPolicy="Always"))
    ready = wait_pod(
        api,
        "web",
        lambda s: any(c.get("ready") for c in s.get("containerStatuses") or []),
    )
    time.sleep(1.0)  # twenty liveness periods (x0.05)
    [status] = (api.get(f"/api/v1/namespaces/{NS}/pods/web") or {})["status"]["containerStatuses"]
    assert status["restartCount"] == 0 and status["ready"], status
    assert ready["status"]["phase"] == "Running"
    api.delete(f"/api/v1/namespaces/{NS}/pods/web")


def test_run_as_non_root_is_refused_for_root_and_a_missing_image_is_never_pulled(
    api: JsonApi, project_image: BuiltImage
) -> None:
    root = {"command": ["true"], "securityContext": {"runAsNonRoot": True, "runAsUser": 0}}
    create(api, pod("as-root", project_image.tag, root))
    create(api, pod("absent", "modeleval:no-such-tag", {"command": ["true"]}))
    refused = wait_pod(api, "as-root", lambda s: waiting_reason(s) is not None)
    assert waiting_reason(refused["status"]) == "CreateContainerConfigError"
    absent = wait_pod(api, "absent", lambda s: waiting_reason(s) is not None)
    assert waiting_reason(absent["status"]) == "ErrImageNeverPull"
    for name in ("as-root", "absent"):
        api.delete(f"/api/v1/namespaces/{NS}/pods/{name}")
