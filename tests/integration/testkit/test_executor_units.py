"""Pure parts of the executor: quantities, names, variable expansion, path and URL rewriting,
pod status as real kubelets write it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from modeleval_testkit.executor.controllers import template_hash
from modeleval_testkit.executor.launch import _served_model, expand_vars, path_rewriter
from modeleval_testkit.executor.podstatus import (
    ContainerState,
    PodView,
    go_duration,
    qos_class,
)
from modeleval_testkit.executor.resources import parse_quantity, pod_requests
from modeleval_testkit.executor.scheduler import Node
from modeleval_testkit.executor.services import SERVICE_URL


@pytest.mark.parametrize(
    ("text", "value"),
    [("16Gi", 16 * 2**30), ("500m", Decimal("0.5")), ("2", 2), ("1.5G", 1_500_000_000), (3, 3)],
)
def test_parse_quantity(text: object, value: object) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("bad", ["", "1Qi", "abc", "1e3Gi"])
def test_parse_quantity_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid quantity"):
        parse_quantity(bad)


def test_pod_requests_sum_containers_and_take_the_largest_init_container() -> None:
    gpu = "nvidia.com/gpu"
    spec = {
        "containers": [
            {"resources": {"limits": {gpu: "1"}}},
            {"resources": {"requests": {gpu: "2"}, "limits": {gpu: "2"}}},
        ],
        "initContainers": [{"resources": {"limits": {gpu: "4"}}}],
    }
    assert pod_requests(spec, [gpu]) == {gpu: 4}
    assert pod_requests({"containers": [{}]}, [gpu]) == {gpu: 0}


def test_node_fits_gpus_and_node_selector() -> None:
    node = Node("n1", {"nvidia.com/gpu": 2}, {"kubernetes.io/hostname": "n1"})
    two = {"spec": {"containers": [{"resources": {"limits": {"nvidia.com/gpu": "2"}}}]}}
    assert node.unschedulable_reason(two) == ""
    node.bind("a", two)
    assert node.unschedulable_reason(two).startswith(
        "0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes"
    )
    node.release("a")
    assert node.unschedulable_reason(two) == ""
    other = {"spec": {"containers": [{}], "nodeSelector": {"gpu": "a100"}}}
    assert "didn't match Pod's node affinity/selector" in node.unschedulable_reason(other)
    amd = {"spec": {"containers": [{"resources": {"limits": {"amd.com/gpu": "1"}}}]}}
    assert node.unschedulable_reason(amd) == (
        "0/1 nodes are available: 1 Insufficient amd.com/gpu. "
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
    )


def test_template_hash_is_stable_and_changes_with_the_template() -> None:
    template = {"spec": {"containers": [{"name": "a", "image": "x"}]}, "metadata": {"labels": {}}}
    same = {"metadata": {"labels": {}}, "spec": {"containers": [{"image": "x", "name": "a"}]}}
    assert template_hash(template) == template_hash(same)
    assert len(template_hash(template)) == 10 and template_hash(template).isalnum()
    changed = {**template, "spec": {"containers": [{"name": "a", "image": "y"}]}}
    assert template_hash(changed) != template_hash(template)


def test_expand_vars_like_kubernetes() -> None:
    env = {"A": "1", "B": "two"}
    assert expand_vars("$(A)-$(B)", env) == "1-two"
    assert expand_vars("$(MISSING)", env) == "$(MISSING)"
    assert expand_vars("$$(A) costs $$5", env) == "$(A) costs $5"


def test_path_rewriter_replaces_whole_mount_paths_only() -> None:
    rewrite = path_rewriter(
        {"/results": Path("/l/res"), "/etc/modeleval/task.json": Path("/l/cfg/task.json")}
    )
    assert rewrite("/results/predictions/a.jsonl") == "/l/res/predictions/a.jsonl"
    assert rewrite("--out=/results") == "--out=/l/res"
    assert rewrite("/etc/modeleval/task.json") == "/l/cfg/task.json"
    assert (
        rewrite("/resultsx /data/results s3://b/results")
        == "/resultsx /data/results s3://b/results"
    )
    assert path_rewriter({})("/results") == "/results"


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("http://qwen.team-a.svc:8000/v1", ("qwen", "team-a", "8000")),
        ("https://m.ns.svc.cluster.local/v1", ("m", "ns", None)),
        ("url=http://m.ns.svc.cluster.local:80", ("m", "ns", "80")),
    ],
)
def test_service_urls_are_recognised(url: str, parts: tuple[str, str, str | None]) -> None:
    match = SERVICE_URL.search(url)
    assert match is not None and (match["svc"], match["ns"], match["port"]) == parts


@pytest.mark.parametrize(
    "url", ["http://m.ns.svc.example.com/v1", "http://example.com/v1", "http://m.svc:80"]
)
def test_other_urls_are_left_alone(url: str) -> None:
    assert SERVICE_URL.search(url) is None


def test_served_model_prefers_the_served_name() -> None:
    assert _served_model(["--model", "/models/q", "--served-model-name", "qwen"]) == "qwen"
    assert _served_model(["--model=/models/q"]) == "/models/q"
    assert _served_model(["--model"]) == "mock-model"


def test_qos_class() -> None:
    guaranteed = {"limits": {"cpu": "1", "memory": "1Gi"}}
    assert qos_class({"containers": [{"resources": guaranteed}]}) == "Guaranteed"
    burstable = {"requests": {"cpu": "500m"}, "limits": {"cpu": "1", "memory": "1Gi"}}
    assert qos_class({"containers": [{"resources": burstable}]}) == "Burstable"
    assert qos_class({"containers": [{}]}) == "BestEffort"


@pytest.mark.parametrize(
    ("seconds", "text"), [(10, "10s"), (80, "1m20s"), (300, "5m0s"), (3661, "1h1m1s")]
)
def test_back_off_delays_read_as_go_durations(seconds: int, text: str) -> None:
    assert go_duration(seconds) == text


def test_a_failed_pod_reads_as_a_real_kubelet_writes_it() -> None:
    container = ContainerState("runner", "runner:1")
    container.ever_ran = True
    start = container.terminated(128, "StartError", "exec: no such file")
    assert start["startedAt"] == "1970-01-01T00:00:00Z"  # the process never ran
    view = PodView([container], "Never", scheduled=True, initialized=True, start_time="t")
    status = view.render()
    assert status["phase"] == "Failed"
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Ready"]["reason"] == conditions["ContainersReady"]["reason"] == "PodFailed"
    assert conditions["PodReadyToStartContainers"]["status"] == "False"
    done = ContainerState("runner", "runner:1")
    done.running("local://1", started=True)
    done.terminated(0, "Completed")
    finished = PodView([done], "Never", scheduled=True, initialized=True).render()
    assert {c["type"]: c.get("reason") for c in finished["conditions"]}["Ready"] == "PodCompleted"


def test_docker_run_args_follow_the_pod_spec() -> None:
    from modeleval_testkit.executor.engine_args import Mount, run_args

    pod_spec = {
        "securityContext": {"runAsUser": 1000, "runAsGroup": 2000, "fsGroup": 3000},
        "containers": [],
    }
    container = {
        "resources": {"limits": {"memory": "64Mi", "cpu": "500m"}},
        "securityContext": {
            "runAsUser": 65532,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
        },
        "workingDir": "/work",
    }
    argv = run_args(
        name="c1", image="img:1", image_user="", pod_spec=pod_spec, container=container,
        command=["python", "-m", "app"], args=["--flag"], env_names=["A", "B"],
        mounts=[Mount(Path("/host/cm"), "/etc/cm", read_only=True)], executor_id="x",
    )  # fmt: skip
    joined = " ".join(argv)
    assert "--user 65532:2000" in joined
    assert "--group-add 3000" in joined
    assert "--read-only" in argv
    assert "--cap-drop ALL --cap-add NET_BIND_SERVICE" in joined
    assert "--security-opt no-new-privileges" in joined
    assert f"--memory {64 * 2**20} --memory-swap {64 * 2**20}" in joined
    assert "--cpus 0.5" in joined and "--cpu-shares 512" in joined
    assert "-e A -e B" in joined
    assert "--mount type=bind,source=/host/cm,target=/etc/cm,readonly" in joined
    assert argv[argv.index("img:1") :] == ["img:1", "-m", "app", "--flag"]
    assert argv[argv.index("--entrypoint") + 1] == "python"


def test_args_alone_replace_the_image_cmd_and_keep_its_entrypoint() -> None:
    from modeleval_testkit.executor.engine_args import run_args

    argv = run_args(
        name="c", image="img", image_user="65532", pod_spec={}, container={},
        command=[], args=["serve"], env_names=[], mounts=[], executor_id="x",
    )  # fmt: skip
    assert "--entrypoint" not in argv and "--user" not in argv
    assert argv[-2:] == ["img", "serve"]


@pytest.mark.parametrize(
    ("context", "image_user", "reason"),
    [
        ({"runAsNonRoot": True}, "", "image will run as root"),
        ({"runAsNonRoot": True, "runAsUser": 0}, "65532", "image will run as root"),
        ({"runAsNonRoot": True}, "nonroot", "non-numeric user"),
    ],
)
def test_run_as_non_root_refuses_root(
    context: dict[str, object], image_user: str, reason: str
) -> None:
    from modeleval_testkit.executor.engine_args import user_flag
    from modeleval_testkit.executor.volumes import NotReady

    with pytest.raises(NotReady, match=reason) as caught:
        user_flag(context, image_user)
    assert caught.value.reason == "CreateContainerConfigError"
    assert user_flag({"runAsNonRoot": True}, "65532:65532") is None
