"""Every message docs/troubleshooting.md shows is one the code emits.

The code is run over scenarios that reach each documented reason (the state machine, the
service-group status, validation, drift repair); each backticked message of the table's
"Message looks like" column must then be found in what the code said. In a documented
message, ``…`` stands for any text; everything else must be literal.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import V1ContainerStateTerminated
from pydantic import ValidationError

from modeleval.api import EvalTask, EvalTaskSpec, ModelEvalServiceGroup, TaskState
from modeleval.api.servicegroup import ModelEvalServiceGroupSpec
from modeleval.api.validation import validation_message
from modeleval.handlers.owned import NotOwnedError
from modeleval.reconcile.access import Access, group_policy, refusal, task_policy
from modeleval.reconcile.children import CREATED, REPAIRED, Applied
from modeleval.reconcile.drift import Drift
from modeleval.reconcile.evaltask_scores import (
    DEGRADED_PREFIX,
    MetricFailuresView,
    degraded_message,
    failed_message,
)
from modeleval.reconcile.evaltask_state import (
    GroupView,
    JobView,
    Observed,
    Phase,
    deferred_spec_change,
    next_step,
)
from modeleval.reconcile.evaltask_views import (
    pod_failure_message,
    runner_failure,
    shard_label,
    with_shard_budget,
)
from modeleval.reconcile.servicegroup_status import compute_status
from modeleval.runner.checkpoint import _cannot_write as cannot_write
from modeleval.runner.config import RunConfig, RunSettings
from modeleval.runner.engine import ModelOutcome
from modeleval.runner.existing import ExistingResultsError, import_result_sets
from modeleval.runner.infer import InferenceSummary
from modeleval.runner.phases import PhaseError, load_items
from modeleval.runner.score import ScoringConfigError, judge_from_task, load_task_predictions
from modeleval.runner.shards import Shard
from modeleval.runner.sources import DatasetSource
from modeleval.scoring import verdicts
from modeleval.scoring.config import ScoringConfig
from modeleval.scoring.engine import gsb_pair
from modeleval.settings import OperatorSettings
from tests.support.paths import REPO

DOC = (REPO / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
ELLIPSIS = "…"


def documented() -> list[tuple[str, str]]:
    """(reason, message) for every backticked message in a table's message column; the
    variants a row lists in parentheses ("(also `Role`, …)") are names, not messages."""
    rows = []
    for line in DOC.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`"):
            continue
        reason = cells[0]
        text = re.sub(r"\((?:also|any field)[^)]*(?:\)[^)]*)*\)", "", cells[1])
        for message in re.findall(r"`([^`]+)`", text):
            rows.append((reason, message))
    return rows


def pattern(message: str) -> re.Pattern[str]:
    return re.compile(".*?".join(re.escape(part) for part in message.split(ELLIPSIS)), re.S)


# -- what the code says ------------------------------------------------------------------------


def stamp(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def group(**spec: Any) -> ModelEvalServiceGroup:
    return ModelEvalServiceGroup.model_validate(
        {
            "metadata": {"name": "G", "namespace": "evals", "uid": "u", "generation": 1},
            "spec": {"image": "x:1", "instances": 1, **spec},
        }
    )


def deployment() -> dict[str, Any]:
    return {
        "metadata": {"name": "G", "generation": 1},
        "spec": {"replicas": 1},
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1},
    }


def pod(
    *,
    ready: bool = False,
    state: dict[str, Any] | None = None,
    last: dict[str, Any] | None = None,
    restarts: int = 0,
    age: float = 30,
    scheduled: bool = True,
    unschedulable: str = "",
    **status: Any,
) -> dict[str, Any]:
    conditions: list[dict[str, Any]] = [
        {
            "type": "PodScheduled",
            "status": "True" if scheduled else "False",
            **({} if scheduled else {"reason": "Unschedulable", "message": unschedulable}),
        }
    ]
    body: dict[str, Any] = {"phase": "Running" if scheduled else "Pending", **status}
    body["conditions"] = conditions
    spec: dict[str, Any] = {}
    if scheduled:
        spec["nodeName"] = "gpu-1"
        body["startTime"] = stamp(age)
        conditions.append({"type": "Ready", "status": str(ready), "lastTransitionTime": stamp(age)})
        body["containerStatuses"] = [
            {
                "name": "model-server",
                "ready": ready,
                "started": ready,
                "restartCount": restarts,
                "state": state or {"running": {"startedAt": stamp(age)}},
                "lastState": {"terminated": last} if last else {},
            }
        ]
    return {"metadata": {"name": "P", "namespace": "evals"}, "spec": spec, "status": body}


INSUFFICIENT = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
ROOT = "container has runAsNonRoot and image will run as root"
NO_SPACE = "No space left on device"
LOW_MEMORY = "The node was low on resource: memory."


def waiting(reason: str, message: str = "") -> dict[str, Any]:
    return {"waiting": {"reason": reason, **({"message": message} if message else {})}}


def disrupted(reason: str, message: str) -> dict[str, Any]:
    """A pod with only a DisruptionTarget condition to say why it goes (Kubernetes 1.26+)."""
    body = pod(ready=True)
    target = {"type": "DisruptionTarget", "status": "True", "reason": reason, "message": message}
    body["status"]["conditions"].append(target)
    return body


def group_messages() -> list[str]:
    crash = {
        "exitCode": 1,
        "reason": "Error",
        "finishedAt": stamp(5),
        "message": 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad\n',
    }
    start_error = {
        "exitCode": 128,
        "reason": "StartError",
        "message": 'exec: "vllm": executable file not found in $PATH',
    }
    oom = {"exitCode": 137, "reason": "OOMKilled", "finishedAt": stamp(5)}
    lost = {
        "exitCode": 137,
        "reason": "ContainerStatusUnknown",
        "message": "The container could not be located when the pod was terminated",
    }
    limits = {"resources": {"limits": {"memory": "48Gi"}}}
    shutdown = "Pod was terminated in response to imminent node shutdown."
    no_gpu = "Pod Allocate failed due to device plugin GetPreferredAllocation rpc failed"
    cases: list[tuple[ModelEvalServiceGroup, list[dict[str, Any]]]] = [
        (group(), [pod(scheduled=False, unschedulable=INSUFFICIENT)]),
        (group(image="X"), [pod(state=waiting("ErrImagePull", "not found"))]),
        (
            group(),
            [pod(state=waiting("CreateContainerConfigError", 'secret "hf-token" not found'))],
        ),
        (group(), [pod(state=waiting("CreateContainerConfigError", ROOT))]),
        (group(**limits), [pod(state=waiting("CrashLoopBackOff"), last=oom, restarts=3)]),
        (group(), [pod(state=waiting("CrashLoopBackOff"), last=crash, restarts=2)]),
        (group(), [pod(state=waiting("CrashLoopBackOff"), last=start_error, restarts=2)]),
        (group(), [disrupted("TerminationByKubelet", f"{LOW_MEMORY} Threshold quantity: 1Gi")]),
        (group(), [disrupted("PreemptionByScheduler", "preempting to accommodate a pod")]),
        (group(), [pod(phase="Failed", reason="Terminated", message=shutdown)]),
        (group(), [pod(phase="Failed", reason="UnexpectedAdmissionError", message=no_gpu)]),
        (group(), [pod(phase="Failed", state={"terminated": lost})]),
        (group(), [pod(age=700)]),
        (group(), [pod(phase="Failed", reason="Evicted", message=LOW_MEMORY)]),
        (group(), [pod(age=10)]),
        (group(), [pod(ready=True)]),
    ]
    messages = []
    for spec, pods in cases:
        status = compute_status(spec, deployment(), pods, NOW)
        messages.append(status.message or "")
        messages += [c.message or "" for c in status.conditions or []]
    drift = (
        Drift("spec.replicas", 1, 3),
        Drift("spec.template.spec.containers[model-server].image", "x:1", "x:2"),
    )
    messages.append(Applied("Deployment", "G", REPAIRED, drift).drift_message())
    messages.append(Applied("Service", "G", CREATED).drift_message())
    return messages


def invalid(model: Any, body: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return validation_message(caught.value)


def task_messages() -> list[str]:
    def obs(**kw: Any) -> Observed:
        return Observed(**{"task": "T", "state": None, "phases": (Phase.INFER, Phase.SCORE), **kw})

    infer = JobView("T-infer")
    deadline = JobView(
        "T-infer", failed=True, reason="DeadlineExceeded", detail="Job was active too long"
    )
    finished = {
        Phase.INFER: JobView("T-infer", complete=True),
        Phase.SCORE: JobView("T-score", complete=True),
    }
    observations = [
        obs(groups=(GroupView("qwen-7b", phase="Pending"),)),
        obs(groups=(GroupView("qwen-7b", found=False),)),
        obs(groups=(GroupView("qwen-7b", phase="Running"),)),
        obs(groups=(GroupView("qwen-7b", phase="Failed", message="image x cannot be pulled"),)),
        obs(queue_name="Q", jobs={Phase.INFER: JobView("T-infer", suspended=True)}),
        obs(jobs={Phase.INFER: JobView("T-infer", started=False)}),
        obs(),
        obs(jobs={Phase.INFER: infer}),
        obs(jobs={Phase.INFER: deadline}),
        obs(suspend=True, jobs={Phase.INFER: infer}),
        obs(suspend=True, stray_pods=1),
        obs(suspend=True),
        obs(state=TaskState.QUEUED, stray_pods=1),
        obs(manual=True, jobs=finished),
        obs(jobs=finished),
    ]
    messages = [next_step(o).message or "" for o in observations]
    outcome = ModelOutcome("m", attempted=1000, failed=120, errors=Counter({"HTTP 401": 120}))
    budget = InferenceSummary(total=1000, failed=120, outcomes=[outcome]).failure_message(0.1)
    messages.append(failed_job_message(f"inference failed: {budget}"))
    running = obs(jobs={Phase.INFER: JobView("t-infer", generation=1)})
    messages.append(deferred_spec_change(running, 2, 1) or "")
    messages += sharded_messages()
    bad_task = {
        "metadata": {"name": "T"},
        "spec": {
            "models": [{"name": "m", "endpoint": {"url": "http://h/v1"}}],
            "dataset": {"inline": [{"input": "x"}]},
            "inference": {"client": {"parallel": 0}},
        },
    }
    messages.append(invalid(EvalTask, bad_task))
    bad_group = {
        "metadata": {"name": "G"},
        "spec": {"image": "x", "resources": {"gpu": {"count": -1}}},
    }
    messages.append(invalid(ModelEvalServiceGroup, bad_group))
    return messages


EVIL_RUNNER, EVIL_MODEL = "docker.io/evil/runner:1", "docker.io/evil/miner:1"
INNER_URL = "http://10.0.0.5/qa.jsonl"


def access_messages() -> list[str]:
    """Refusals by the administrator's policy or a missing permission or label, and a child's
    name held by someone else."""
    settings = dataclasses.replace(
        OperatorSettings(),
        allowed_model_images=("vllm/vllm-openai:*",),
        allowed_runner_images=(),
        allowed_dataset_urls=("https://*",),
    )

    def task(**spec: Any) -> EvalTaskSpec:
        body = {"models": [{"name": "m", "endpoint": {"url": "https://m/v1"}}],
                "dataset": {"inline": [{"input": "x"}]}, **spec}  # fmt: skip
        return EvalTaskSpec.model_validate(body)

    def group(**spec: Any) -> ModelEvalServiceGroupSpec:
        return ModelEvalServiceGroupSpec.model_validate({"image": "vllm/vllm-openai:v0.6", **spec})

    prod = Access("secrets", "prod-db", "spec.models[0].endpoint.apiKeySecretRef")
    control_plane = cp = {"tolerations": [{"operator": "Exists"}]}
    account = Access("serviceaccounts", "powerful", "spec.serviceAccountName")
    return [
        refusal("EvalTask", "T", [prod.unlabelled()]),
        refusal("EvalTask", "T", [prod.denied("alice")]),
        refusal("EvalTask", "T", task_policy(task(runner={"image": EVIL_RUNNER}), settings)),
        refusal("EvalTask", "T", task_policy(task(dataset={"url": INNER_URL}), settings)),
        refusal("EvalTask", "T", task_policy(task(runner=control_plane), settings)),
        refusal("ModelEvalServiceGroup", "G", group_policy(group(image=EVIL_MODEL), settings)),
        refusal("ModelEvalServiceGroup", "G", [account.unlabelled()]),
        refusal("ModelEvalServiceGroup", "G", group_policy(group(placement=cp), settings)),
        Access("persistentvolumeclaims", "archive", "spec.results.claimName").denied("alice"),
        Access("configmaps", "qa", "spec.dataset.configMap").denied("alice"),
        str(NotOwnedError("ServiceAccount", "T-runner", "EvalTask", "T")),
    ]  # fmt: skip


def judged_messages() -> list[str]:
    """What a task says when judged items failed (over or within the error budget)."""
    echo = MetricFailuresView(
        "judge", 16, 16, 0.1, True, "the judge repeated the prompt instead of judging", 16
    )
    no_score = MetricFailuresView("judge", 2, 20, 0.15, False, verdicts.CAUSE_NO_SCORE, 2)
    return [failed_message([echo]), DEGRADED_PREFIX + degraded_message([no_score])]


def raised(call: Any, *errors: type[Exception]) -> str:
    try:
        call()
    except errors as exc:
        return str(exc)
    raise AssertionError(f"{call} raised nothing")


def runner_messages(tmp: Path) -> list[str]:
    """What the runner writes to its termination log (shown after ``pod P exited …:``)."""

    def items(source: DatasetSource | None) -> Any:
        config = RunConfig("T", "ns", (), source, RunSettings(results_dir=tmp))
        return lambda: asyncio.run(load_items(config))

    bad = tmp / "qa.jsonl"
    bad.write_text('{"input": "a"}\n' * 16 + "{not json\n", encoding="utf-8")
    hostile = {
        "latin1/qa.jsonl": b'{"input": "a"}\n' * 3 + b'{"input": "\xff"}\n',
        "short/qa.csv": b"input,target\n" + b"q,a\n" * 7 + b"q\n",
        "null/qa.jsonl": b'{"input": "a"}\n{"input": "b"}\n{"input": null}\n',
    }
    for name, data in hostile.items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_bytes(data)
    empty = tmp / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    (tmp / "predictions").mkdir()
    spec = {"models": [{"name": "M", "endpoint": {"url": "http://h/v1"}}]}
    judge = {"spec": {"scoring": {"judge": {"endpoint": {"url": "http://j/v1",
             "apiKeySecretRef": {"name": "llm-credentials", "key": "api-key"}}}}}}  # fmt: skip
    gsb = ScoringConfig.model_validate({"evalMode": ["model"], "baseline": "b"})
    messages = [
        raised(items(DatasetSource(path=str(bad))), PhaseError),
        *(raised(items(DatasetSource(path=str(tmp / name))), PhaseError) for name in hostile),
        str(
            cannot_write(
                Path("/results/predictions/m.jsonl"),
                OSError(errno.ENOSPC, "No space left on device"),
            )
        ),
        raised(items(DatasetSource(path=str(empty))), PhaseError),
        raised(items(None), PhaseError),
        raised(lambda: load_task_predictions(spec, tmp), ScoringConfigError),
        raised(lambda: judge_from_task(judge, {}), ScoringConfigError),
    ]
    messages.append(raised(lambda: gsb_pair(gsb, ["a", "b", "c"]), ScoringConfigError))
    result_set = tmp / "set.jsonl"
    result_set.write_text('{"input": "q", "output": "a"}\n' * 2 + '{"input": "q"}\n')
    for path in (result_set, tmp / "absent.jsonl"):
        existing = {"name": "R", "dataset": {"source": "file", "path": str(path)}}
        plan = {"existingResults": [existing]}
        messages.append(raised(lambda p=plan: import_result_sets(p, tmp, {}), ExistingResultsError))
    no_baseline = ScoringConfig.model_validate({"pairwise": {"enabled": True}})
    messages.append(raised(lambda: gsb_pair(no_baseline, ["a", "b"]), ScoringConfigError))
    return [failed_job_message(message) for message in messages] + runner_pod_messages()


def runner_pod(state: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    limits = {"resources": {"limits": {"memory": "4Gi"}}}
    statuses = [{"name": "runner", "state": state}] if state else []
    return {
        "metadata": {"name": "P"},
        "spec": {"containers": [{"name": "runner", **limits}]},
        "status": {"phase": "Failed", "containerStatuses": statuses, **status},
    }


def runner_pod_messages() -> list[str]:
    """The task's message when the runner pod itself failed (OOMKilled, evicted, …)."""
    pods = [
        runner_pod({"terminated": {"exitCode": 137, "reason": "OOMKilled"}}),
        runner_pod(reason="Evicted", message="The node was low on resource: memory. "),
        runner_pod(reason="Terminated", message="Pod was terminated in response to imminent…"),
        runner_pod(reason="UnexpectedAdmissionError", message="Pod Allocate failed due to …"),
    ]
    messages = []
    for body in pods:
        failure = runner_failure(body)
        assert failure is not None
        job = JobView(
            "T-infer",
            failed=True,
            reason="BackoffLimitExceeded",
            detail="Job has reached the specified backoff limit",
            pod_failure=failure.message(),
        )
        observed = Observed(task="T", state=None, phases=(Phase.INFER,), jobs={Phase.INFER: job})
        messages.append(next_step(observed).message or "")
    return messages


def sharded_messages() -> list[str]:
    """A sharded task running, one shard past its retries, the shards over the task's budget."""
    phases = (Phase.INFER, Phase.SCORE)
    running = JobView("T-infer", shards=4, shards_done=1)
    messages = [next_step(Observed("T", None, phases, jobs={Phase.INFER: running})).message or ""]
    outcome = ModelOutcome("m", attempted=250, failed=30, errors=Counter({"HTTP 500": 30}))
    summary = InferenceSummary(
        total=250, failed=30, outcomes=[outcome], shard=Shard(2, 4), task_total=1000,
        budget_exceeded=True,
    )  # fmt: skip
    term = V1ContainerStateTerminated(
        exit_code=1, reason="Error", message=f"inference failed: {summary.failure_message(0.1)}"
    )
    failed = JobView(
        "T-infer",
        failed=True,
        reason="MaxFailedIndexesExceeded",
        detail="Job has exceeded the specified maximal number of failed indexes",
        pod_failure=shard_label(2, 4) + pod_failure_message("P", term),
        shards=4,
    )
    messages.append(
        next_step(Observed("T", None, phases, jobs={Phase.INFER: failed})).message or ""
    )
    entries = {
        str(k): {"shards": 4, "phase": "inference", "total": 250, "failed": 30, "error": "HTTP 500"}
        for k in range(4)
    }
    complete = JobView("T-infer", complete=True, shards=4)
    over = with_shard_budget(complete, {"shards": entries}, 0.1)
    messages.append(next_step(Observed("T", None, phases, jobs={Phase.INFER: over})).message or "")
    return messages


def failed_job_message(runner_message: str) -> str:
    """The task's message when the runner wrote ``runner_message`` and its Job failed."""
    term = V1ContainerStateTerminated(exit_code=1, reason="Error", message=runner_message)
    job = JobView(
        "T-infer",
        failed=True,
        reason="BackoffLimitExceeded",
        detail="Job has reached the specified backoff limit",
        pod_failure=pod_failure_message("P", term),
    )
    observed = Observed(task="T", state=None, phases=(Phase.INFER,), jobs={Phase.INFER: job})
    return next_step(observed).message or ""


@pytest.fixture(scope="module")
def emitted(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    tmp = tmp_path_factory.mktemp("runner")
    return (
        group_messages()
        + task_messages()
        + runner_messages(tmp)
        + judged_messages()
        + access_messages()
    )


CHECKED_ELSEWHERE = {
    "…: bad dataset: https://h/qa.jsonl: download failed: HTTP 302 redirects to 'http://…'; "
    "give the final URL (redirects are not followed)":
        "tests/integration/runner/test_sources_http.py",
    "…: most common error: no complete answer within 120s (requestTimeoutSeconds)":
        "tests/integration/runner/test_client.py (a server that trickles bytes)",
    "…: most common error: HTTP 200 with an error: model overloaded":
        "tests/integration/runner/test_client.py (a 200 with an error body)",
}  # fmt: skip
"""Messages that need a real HTTP exchange (this tier opens no socket): the integration test
named asserts the same words."""


@pytest.mark.parametrize(("reason", "message"), documented(), ids=lambda v: v[:60])
def test_documented_message_is_emitted(reason: str, message: str, emitted: list[str]) -> None:
    if message in CHECKED_ELSEWHERE:
        return
    found = [m for m in emitted if pattern(message).search(m)]
    assert found, f"{reason}: {message!r} is not what the code says; closest:\n" + "\n".join(
        sorted(emitted, key=lambda m: -len(set(m.split()) & set(message.split())))[:3]
    )


def test_the_doc_parser_finds_the_tables() -> None:
    reasons = {reason for reason, _ in documented()}
    assert {"`InvalidSpec`", "`OOMKilled`", "`WaitingForTarget`", "`Stopped`"} <= reasons
    assert len(documented()) >= 30


def test_a_changed_wording_is_caught() -> None:
    assert not pattern("spec invalid: spec.inference.client.parallel: …").search(
        "invalid spec: spec.inference.client.parallel: Input should be greater than 0"
    )
    assert pattern("invalid spec: spec.inference.client.parallel: …").search(
        "invalid spec: spec.inference.client.parallel: Input should be greater than 0"
    )
