"""The executor's Job controller and kubelet against the API emulator, with real processes."""

from __future__ import annotations

import json
import signal
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from modeleval_testkit.cluster import JsonApi, LocalCluster
from modeleval_testkit.executor import ExecutorConfig


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    config = ExecutorConfig(time_scale=0.02, node_labels={"pool": "eval"})
    with LocalCluster(operator=None, rbac_manifests=[], executor=config) as local:
        yield local


def claim(api: JsonApi, ns: str, name: str) -> None:
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    api.create(
        f"/api/v1/namespaces/{ns}/persistentvolumeclaims",
        {"metadata": {"name": name}, "spec": spec},
    )


def job(name: str, script: str, **spec: Any) -> dict[str, Any]:
    pod_spec = spec.pop("pod", {})
    container = {
        "name": "main",
        "image": "ghcr.io/modeleval/modeleval:0.1.0",
        "command": ["python", "-c", textwrap.dedent(script)],
        **spec.pop("container", {}),
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            **spec,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container], **pod_spec}},
        },
    }


def jobs_path(ns: str, name: str = "") -> str:
    return f"/apis/batch/v1/namespaces/{ns}/jobs" + (f"/{name}" if name else "")


def condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    for item in ((obj or {}).get("status") or {}).get("conditions") or []:
        if item["type"] == kind and item["status"] == "True":
            return dict(item)
    return None


def pods_of(api: JsonApi, ns: str, job_name: str) -> list[dict[str, Any]]:
    listing = api.get(f"/api/v1/namespaces/{ns}/pods?labelSelector=job-name%3D{job_name}")
    assert listing is not None
    return sorted(listing["items"], key=lambda p: p["metadata"]["creationTimestamp"])


def finished(api: JsonApi, ns: str, name: str, kind: str) -> Any:
    return condition(api.get(jobs_path(ns, name)), kind)


def test_job_succeeds_and_a_second_job_sees_its_pvc(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    volume = {"name": "results", "persistentVolumeClaim": {"claimName": "results"}}
    mount = {"volumeMounts": [{"name": "results", "mountPath": "/results"}]}
    writer = job(
        "writer",
        """
        import os, sys
        os.makedirs(sys.argv[1], exist_ok=True)
        open(os.path.join(sys.argv[1], "out.txt"), "w").write("written by " + os.environ["POD"])
        print("wrote", sys.argv[1])
        """,
        container={
            **mount,
            "args": ["/results/run1"],
            "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        },
        pod={"volumes": [volume]},
    )
    api.create(jobs_path(ns), writer)

    def unschedulable() -> Any:
        pods = pods_of(api, ns, "writer")
        conditions = pods[0]["status"].get("conditions") if pods else None
        return conditions and conditions[0]["status"] == "False" and conditions[0]

    scheduled = cluster.wait_for(unschedulable, what="pod waiting for its PVC")
    assert scheduled["reason"] == "Unschedulable"
    assert 'persistentvolumeclaim "results" not found' in scheduled["message"]
    claim(api, ns, "results")
    done = cluster.wait_for(lambda: finished(api, ns, "writer", "Complete"), what="writer")
    status = api.get(jobs_path(ns, "writer"))["status"]  # type: ignore[index]
    assert status["succeeded"] == 1 and status.get("failed", 0) == 0
    assert status["startTime"] <= status["completionTime"]
    assert done["reason"] == "CompletionsReached"
    [pod] = pods_of(api, ns, "writer")
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert pod["status"]["phase"] == "Succeeded"
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    assert pod["spec"]["nodeName"] == "local-node"
    local = cluster.executor.pvc_path("results", ns)  # type: ignore[union-attr]
    pvc = api.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/results")
    assert pvc["status"]["phase"] == "Bound"  # type: ignore[index]
    assert (local / "run1" / "out.txt").read_text() == f"written by {pod['metadata']['name']}"
    assert f"wrote {local}/run1" in cluster.executor.pod_log(pod["metadata"]["name"], ns)  # type: ignore[union-attr]

    reader = job(
        "reader",
        "print(open('/results/run1/out.txt').read())",  # mount paths in args are rewritten
        container=mount,
        pod={"volumes": [volume]},
    )
    api.create(jobs_path(ns), reader)
    cluster.wait_for(lambda: finished(api, ns, "reader", "Complete"), what="reader")
    [pod2] = pods_of(api, ns, "reader")
    log = cluster.executor.pod_log(pod2["metadata"]["name"], ns)  # type: ignore[union-attr]
    assert f"written by {pod['metadata']['name']}" in log


def test_env_configmap_secret_and_service_account_identity(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    api.create(
        f"/api/v1/namespaces/{ns}/configmaps",
        {"metadata": {"name": "settings"}, "data": {"mode": "fast", "task.json": '{"n": 3}'}},
    )
    api.create(
        f"/api/v1/namespaces/{ns}/secrets",
        {"metadata": {"name": "creds"}, "data": {"token": "czNjcjN0"}},  # "s3cr3t"
    )
    script = """
        import json, os, yaml
        config = yaml.safe_load(open(os.environ["KUBECONFIG"]))
        print(json.dumps({
            "env": {k: v for k, v in os.environ.items() if k.startswith(("X_", "CFG_"))},
            "task": json.load(open(os.environ["X_TASK_FILE"])),
            "token": config["users"][0]["user"]["token"],
            "server": config["clusters"][0]["cluster"]["server"],
        }))
        """
    spec = job(
        "env",
        script,
        container={
            "env": [
                {
                    "name": "X_MODE",
                    "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}},
                },
                {
                    "name": "X_SECRET",
                    "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}},
                },
                {"name": "X_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "X_TASK_FILE", "value": "/etc/modeleval/task.json"},
                {"name": "X_COMBINED", "value": "$(X_MODE)-$(X_NS)"},
                {
                    "name": "X_GONE",
                    "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": True}},
                },
            ],
            "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CFG_"}],
            "volumeMounts": [
                {"name": "task", "mountPath": "/etc/modeleval/task.json", "subPath": "task.json"}
            ],
        },
        pod={
            "serviceAccountName": "runner",
            "nodeSelector": {"pool": "eval", "kubernetes.io/os": "linux"},
            "volumes": [{"name": "task", "configMap": {"name": "settings"}}],
        },
    )
    api.create(jobs_path(ns), spec)

    def waiting_for_account() -> Any:
        pods = pods_of(api, ns, "env")
        statuses = pods[0]["status"].get("containerStatuses") if pods else None
        return statuses and statuses[0]["state"].get("waiting", {}).get("message")

    message = cluster.wait_for(waiting_for_account, what="pod waiting for its ServiceAccount")
    assert message == 'serviceaccount "runner" not found'
    api.create(f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": "runner"}})
    cluster.wait_for(lambda: finished(api, ns, "env", "Complete"), what="env job")
    [pod] = pods_of(api, ns, "env")
    out = json.loads(cluster.executor.pod_log(pod["metadata"]["name"], ns))  # type: ignore[union-attr]
    assert out["env"] == {
        "X_MODE": "fast",
        "X_SECRET": "s3cr3t",
        "X_NS": ns,
        "X_TASK_FILE": out["env"]["X_TASK_FILE"],
        "X_COMBINED": f"fast-{ns}",
        "CFG_mode": "fast",
        "CFG_task.json": '{"n": 3}',
    }
    assert out["env"]["X_TASK_FILE"] != "/etc/modeleval/task.json"
    assert out["task"] == {"n": 3}
    assert out["server"] == cluster.api_url
    user = cluster.apiserver.tokens.authenticate(f"Bearer {out['token']}")
    assert user.name == f"system:serviceaccount:{ns}:runner"


def test_missing_secret_keeps_the_container_waiting(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    ref = {"secretKeyRef": {"name": "later", "key": "k"}}
    spec = job(
        "waits",
        "import os; print(os.environ['K'])",
        container={"env": [{"name": "K", "valueFrom": ref}]},
    )
    api.create(jobs_path(ns), spec)

    def waiting() -> Any:
        pods = pods_of(api, ns, "waits")
        statuses = pods[0]["status"].get("containerStatuses") if pods else None
        state = statuses[0]["state"].get("waiting") if statuses else None
        return state if state and state["reason"] != "ContainerCreating" else None

    state = cluster.wait_for(waiting, what="CreateContainerConfigError")
    assert state == {"reason": "CreateContainerConfigError", "message": 'secret "later" not found'}
    api.create(
        f"/api/v1/namespaces/{ns}/secrets", {"metadata": {"name": "later"}, "data": {"k": "b2s="}}
    )
    cluster.wait_for(lambda: finished(api, ns, "waits", "Complete"), what="job after secret")


def test_failing_job_retries_up_to_backoff_limit(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    api.create(jobs_path(ns), job("fails", "raise SystemExit(3)", backoffLimit=2))
    failed = cluster.wait_for(lambda: finished(api, ns, "fails", "Failed"), what="Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    assert condition(api.get(jobs_path(ns, "fails")), "Complete") is None
    status = api.get(jobs_path(ns, "fails"))["status"]  # type: ignore[index]
    assert status["failed"] == 3 and status.get("succeeded", 0) == 0 and status["active"] == 0
    pods = pods_of(api, ns, "fails")
    assert len(pods) == 3
    events = api.get(f"/api/v1/namespaces/{ns}/events")["items"]  # type: ignore[index]
    reasons = [(e["involvedObject"]["kind"], e["reason"]) for e in events]
    assert reasons.count(("Job", "SuccessfulCreate")) == 3
    assert ("Job", "BackoffLimitExceeded") in reasons and ("Pod", "Started") in reasons
    for pod in pods:
        assert pod["status"]["phase"] == "Failed"
        terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
        assert (terminated["exitCode"], terminated["reason"]) == (3, "Error")


def test_active_deadline_fails_the_job_and_kills_its_pod(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    api.create(jobs_path(ns), job("slow", "import time; time.sleep(60)", activeDeadlineSeconds=1))
    failed = cluster.wait_for(lambda: finished(api, ns, "slow", "Failed"), timeout=10)
    assert failed["reason"] == "DeadlineExceeded"
    assert failed["message"] == "Job was active longer than specified deadline"
    cluster.wait_for(lambda: not pods_of(api, ns, "slow"), what="pod deleted")
    assert cluster.executor.runtime("slow", ns) is None  # type: ignore[union-attr]


def test_suspended_job_waits_and_suspending_kills_the_pod(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    api.create(jobs_path(ns), job("held", "import time; time.sleep(60)", suspend=True))
    cluster.wait_for(lambda: finished(api, ns, "held", "Suspended"), what="Suspended")
    assert pods_of(api, ns, "held") == []
    api.patch(jobs_path(ns, "held"), {"spec": {"suspend": False}})

    def running() -> bool:
        pods = pods_of(api, ns, "held")
        return bool(pods) and pods[0]["status"].get("phase") == "Running"

    cluster.wait_for(running, what="running pod")
    job_now = api.get(jobs_path(ns, "held"))
    assert job_now["status"]["active"] == 1 and job_now["status"]["startTime"]  # type: ignore[index]
    [pod] = pods_of(api, ns, "held")
    pid = cluster.executor.runtime(pod["metadata"]["name"], ns).processes["main"].pid  # type: ignore[union-attr]
    api.patch(jobs_path(ns, "held"), {"spec": {"suspend": True}})
    cluster.wait_for(lambda: not pods_of(api, ns, "held"), what="pod removed on suspend")
    status = api.get(jobs_path(ns, "held"))["status"]  # type: ignore[index]
    assert status["active"] == 0 and "startTime" not in status
    assert condition({"status": status}, "Suspended")
    assert cluster.wait_for(lambda: not _alive(pid), what="process killed")


def test_killed_pod_is_retried_and_the_job_completes(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    script = """
        import os, time
        marker = "/work/started"
        if os.path.exists(marker):
            print("resumed")
        else:
            open(marker, "w").close()
            time.sleep(60)
        """
    spec = job(
        "resume",
        script,
        backoffLimit=2,
        container={"volumeMounts": [{"name": "work", "mountPath": "/work"}]},
        pod={"volumes": [{"name": "work", "persistentVolumeClaim": {"claimName": "work"}}]},
    )
    claim(api, ns, "work")
    api.create(jobs_path(ns), spec)
    marker = cluster.executor.pvc_path("work", ns) / "started"  # type: ignore[union-attr]
    cluster.wait_for(marker.exists, what="first attempt started")
    [first] = pods_of(api, ns, "resume")
    assert cluster.executor.kill_pod(first["metadata"]["name"], ns, signal.SIGKILL)  # type: ignore[union-attr]
    cluster.wait_for(lambda: finished(api, ns, "resume", "Complete"), what="Complete")
    status = api.get(jobs_path(ns, "resume"))["status"]  # type: ignore[index]
    assert (status["failed"], status["succeeded"]) == (1, 1)
    pods = {p["metadata"]["name"]: p for p in pods_of(api, ns, "resume")}
    first = pods.pop(first["metadata"]["name"])
    [second] = pods.values()
    killed = first["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (first["status"]["phase"], killed["exitCode"], killed["reason"]) == (
        "Failed",
        137,
        "Error",
    )
    assert second["status"]["phase"] == "Succeeded"
    assert "resumed" in cluster.executor.pod_log(second["metadata"]["name"], ns)  # type: ignore[union-attr]


def _alive(pid: int | None) -> bool:
    import os

    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_parallel_completions(cluster: LocalCluster, api: JsonApi, ns: str) -> None:
    api.create(jobs_path(ns), job("wide", "print('done')", completions=3, parallelism=2))
    cluster.wait_for(lambda: finished(api, ns, "wide", "Complete"), what="3 completions")
    status = api.get(jobs_path(ns, "wide"))["status"]  # type: ignore[index]
    assert (status["succeeded"], status.get("failed", 0), status["active"]) == (3, 0, 0)
    assert [p["status"]["phase"] for p in pods_of(api, ns, "wide")] == ["Succeeded"] * 3


def test_pod_deleted_by_someone_else_counts_as_a_failure(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    api.create(jobs_path(ns), job("evicted", "import time; time.sleep(60)", backoffLimit=0))

    def running() -> Any:
        pods = pods_of(api, ns, "evicted")
        return pods[0] if pods and pods[0]["status"].get("phase") == "Running" else None

    pod = cluster.wait_for(running, what="running pod")
    api.delete(f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}")
    failed = cluster.wait_for(lambda: finished(api, ns, "evicted", "Failed"), what="Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    assert api.get(jobs_path(ns, "evicted"))["status"]["failed"] == 1  # type: ignore[index]
    assert pods_of(api, ns, "evicted") == []


def test_init_containers_run_first_and_a_failing_one_fails_the_pod(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    shared = {"volumeMounts": [{"name": "shared", "mountPath": "/shared"}]}
    init = {
        "name": "fetch",
        "image": "runner",
        "command": ["python", "-c", "open('/shared/data.txt', 'w').write('fetched')"],
        **shared,
    }
    spec = job(
        "init",
        "print(open('/shared/data.txt').read())",
        container=shared,
        pod={"initContainers": [init], "volumes": [{"name": "shared", "emptyDir": {}}]},
    )
    api.create(jobs_path(ns), spec)
    cluster.wait_for(lambda: finished(api, ns, "init", "Complete"), what="job with init")
    [pod] = pods_of(api, ns, "init")
    [status] = pod["status"]["initContainerStatuses"]
    assert status["state"]["terminated"]["exitCode"] == 0 and status["ready"] is True
    assert cluster.executor.pod_log(pod["metadata"]["name"], ns).strip() == "fetched"  # type: ignore[union-attr]

    broken = {**init, "command": ["python", "-c", "raise SystemExit(2)"]}
    spec["metadata"]["name"] = "badinit"
    spec["spec"]["template"]["spec"]["initContainers"] = [broken]
    api.create(jobs_path(ns), spec)
    cluster.wait_for(lambda: finished(api, ns, "badinit", "Failed"), what="failed init")
    [pod] = pods_of(api, ns, "badinit")
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 2
    waiting = pod["status"]["containerStatuses"][0]["state"]
    assert "running" not in waiting and "terminated" not in waiting  # the app never started
    initialized = next(c for c in pod["status"]["conditions"] if c["type"] == "Initialized")
    assert initialized["status"] == "False"


def test_termination_message_from_file_or_log_tail(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    script = """
        import sys
        open("/dev/termination-log", "w").write("dataset row 7 is not JSON")
        raise SystemExit(1)
        """
    api.create(jobs_path(ns), job("msg", script))
    logged = job("tail", "print('loading'); print('no such model: qwen'); raise SystemExit(2)")
    logged["spec"]["template"]["spec"]["containers"][0]["terminationMessagePolicy"] = (
        "FallbackToLogsOnError"
    )
    api.create(jobs_path(ns), logged)
    for name in ("msg", "tail"):
        cluster.wait_for(lambda n=name: finished(api, ns, n, "Failed"), what=f"{name} failed")
    [pod] = pods_of(api, ns, "msg")
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["message"]) == (1, "dataset row 7 is not JSON")
    [pod] = pods_of(api, ns, "tail")
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["message"].splitlines()[-2:] == ["loading", "no such model: qwen"]


INDEXED_SCRIPT = """
    import os, sys, time
    index = os.environ["JOB_COMPLETION_INDEX"]
    open(f"/work/ran-{index}-{os.environ['HOSTNAME']}", "w").close()
    if index in os.environ.get("FAIL", "").split(","):
        sys.exit(3)
    marker = f"/work/slow-{index}"
    if index in os.environ.get("SLOW", "").split(",") and not os.path.exists(marker):
        open(marker, "w").close()
        time.sleep(60)
    """


def indexed_job(name: str, completions: int, env: dict[str, str], **spec: Any) -> dict[str, Any]:
    spec.setdefault("backoffLimit", 100)
    return job(
        name,
        INDEXED_SCRIPT,
        completionMode="Indexed",
        completions=completions,
        parallelism=completions,
        container={
            "volumeMounts": [{"name": "work", "mountPath": "/work"}],
            "env": [{"name": k, "value": v} for k, v in env.items()],
        },
        pod={"volumes": [{"name": "work", "persistentVolumeClaim": {"claimName": "work"}}]},
        **spec,
    )


def indexes_of(pods: list[dict[str, Any]]) -> list[str]:
    return [p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] for p in pods]


def test_indexed_job_runs_one_pod_per_index(cluster: LocalCluster, api: JsonApi, ns: str) -> None:
    claim(api, ns, "work")
    api.create(jobs_path(ns), indexed_job("idx", 3, {}))
    cluster.wait_for(lambda: finished(api, ns, "idx", "Complete"), what="Complete")
    status = api.get(jobs_path(ns, "idx"))["status"]  # type: ignore[index]
    assert (status["succeeded"], status["completedIndexes"], status["failed"]) == (3, "0-2", 0)
    pods = pods_of(api, ns, "idx")
    assert sorted(indexes_of(pods)) == ["0", "1", "2"]
    for pod in pods:
        index = indexes_of([pod])[0]
        assert pod["metadata"]["name"].startswith(f"idx-{index}-")
        assert pod["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == index
        assert pod["spec"]["hostname"] == f"idx-{index}"
    work = cluster.executor.pvc_path("work", ns)  # type: ignore[union-attr]
    ran = sorted(p.name.split("-")[1] for p in work.iterdir() if p.name.startswith("ran-"))
    assert ran == ["0", "1", "2"]  # each pod read its own JOB_COMPLETION_INDEX


def test_a_killed_index_is_retried_alone(cluster: LocalCluster, api: JsonApi, ns: str) -> None:
    claim(api, ns, "work")
    api.create(jobs_path(ns), indexed_job("one", 3, {"SLOW": "1"}, backoffLimitPerIndex=2))
    work = cluster.executor.pvc_path("work", ns)  # type: ignore[union-attr]
    cluster.wait_for((work / "slow-1").exists, what="index 1 started")
    [slow] = [p for p in pods_of(api, ns, "one") if indexes_of([p]) == ["1"]]
    assert cluster.executor.kill_pod(slow["metadata"]["name"], ns, signal.SIGKILL)  # type: ignore[union-attr]
    cluster.wait_for(lambda: finished(api, ns, "one", "Complete"), what="Complete")
    status = api.get(jobs_path(ns, "one"))["status"]  # type: ignore[index]
    assert (status["failed"], status["completedIndexes"], status["failedIndexes"]) == (1, "0-2", "")
    pods = pods_of(api, ns, "one")
    assert sorted(indexes_of(pods)) == ["0", "1", "1", "2"]
    # the replacement, by name: creation times have one-second resolution, so order cannot tell
    [retry] = [
        p
        for p in pods
        if indexes_of([p]) == ["1"] and p["metadata"]["name"] != slow["metadata"]["name"]
    ]
    assert retry["metadata"]["annotations"]["batch.kubernetes.io/job-index-failure-count"] == "1"


def test_an_index_past_its_retries_fails_the_job(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    claim(api, ns, "work")
    spec = indexed_job("bad", 3, {"FAIL": "2"}, backoffLimitPerIndex=1)
    api.create(jobs_path(ns), spec)
    failed = cluster.wait_for(lambda: finished(api, ns, "bad", "Failed"), what="Failed")
    assert (failed["reason"], failed["message"]) == ("FailedIndexes", "Job has failed indexes")
    status = api.get(jobs_path(ns, "bad"))["status"]  # type: ignore[index]
    assert (status["completedIndexes"], status["failedIndexes"]) == ("0-1", "2")
    assert sorted(indexes_of(pods_of(api, ns, "bad"))) == ["0", "1", "2", "2"]
    spec = indexed_job("fast", 3, {"FAIL": "0", "SLOW": "1,2"}, backoffLimitPerIndex=0)
    api.create(jobs_path(ns), {**spec, "spec": {**spec["spec"], "maxFailedIndexes": 0}})
    failed = cluster.wait_for(lambda: finished(api, ns, "fast", "Failed"), what="Failed at once")
    assert failed["reason"] == "MaxFailedIndexesExceeded"
    status = api.get(jobs_path(ns, "fast"))["status"]  # type: ignore[index]
    assert status["failedIndexes"] == "0" and status["active"] == 0
    cluster.wait_for(
        lambda: not [p for p in pods_of(api, ns, "fast") if p["status"].get("phase") == "Running"],
        what="the other shards' pods stopped",
    )


def test_without_per_index_limits_the_failures_add_up(
    cluster: LocalCluster, api: JsonApi, ns: str
) -> None:
    claim(api, ns, "work")
    api.create(jobs_path(ns), indexed_job("sum", 3, {"FAIL": "0,1"}, backoffLimit=2))
    failed = cluster.wait_for(lambda: finished(api, ns, "sum", "Failed"), what="Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    assert "failedIndexes" not in api.get(jobs_path(ns, "sum"))["status"]  # type: ignore[index]
