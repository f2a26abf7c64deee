"""``modeleval demo``: the whole stack on one machine, the samples from Queued to Succeeded.

Starts the Kubernetes API emulator, the real operator process, the local workload executor
(which runs the mock model server for the sample's vLLM image) and applies the samples with the
real ``kubectl``. Shows the resources live until every task has finished and prints where the
reports are.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml

from modeleval import constants as c
from modeleval.api.evaltask_status import TERMINAL_STATES

DEMO_SAMPLES = (
    "00-dataset-configmap.yaml",
    "10-servicegroup-qwen.yaml",
    "20-evaltask-rule.yaml",
    "50-evaltask-performance.yaml",
)
NAMESPACE = "default"


def _items(api: Any, plural: str) -> list[dict[str, Any]]:
    body = api.get(f"/apis/{c.GROUP}/{c.VERSION}/namespaces/{NAMESPACE}/{plural}")
    return list((body or {}).get("items", []))


def _table(groups: list[dict[str, Any]], tasks: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(title="kubectl get modeleval", expand=False)
    for column in ("KIND", "NAME", "STATE", "PROGRESS", "SCORE", "DETAIL"):
        table.add_column(column)
    for group in groups:
        status = group.get("status") or {}
        table.add_row(
            "mesg",
            group["metadata"]["name"],
            status.get("phase", ""),
            status.get("ready", ""),
            "",
            status.get("url") or status.get("message", ""),
        )
    for task in tasks:
        status = task.get("status") or {}
        score = status.get("totalScore")
        table.add_row(
            "et",
            task["metadata"]["name"],
            status.get("state", ""),
            f"{status.get('percentage', 0)}%",
            "" if score is None else f"{score:.1f}",
            status.get("message", "") or "",
        )
    return table


def _finished(tasks: list[dict[str, Any]]) -> bool:
    return bool(tasks) and all(
        (task.get("status") or {}).get("state") in TERMINAL_STATES for task in tasks
    )


def demo_answers(samples: Path) -> dict[str, str]:
    """What the demo's mock model answers: the reference for most questions, a wrong or
    rambling answer for every third one, so the scores show something to look at."""
    dataset = yaml.safe_load((samples / DEMO_SAMPLES[0]).read_text(encoding="utf-8"))
    task = yaml.safe_load((samples / DEMO_SAMPLES[2]).read_text(encoding="utf-8"))
    template = task["spec"]["inference"]["promptTemplate"]
    answers = {}
    for index, line in enumerate(dataset["data"]["qa.jsonl"].splitlines()):
        item = json.loads(line)
        right = item["target"]
        answers[template.replace("{input}", item["input"])] = (
            right if index % 3 else f"I think it might be something other than {right[:1]}..."
        )
    return answers


def run_demo(*, work_dir: Path, timeout: float = 300, samples: Path | None = None) -> int:
    """Run the demo; 0 when every sample task Succeeded and wrote a report.

    ``samples``: a folder holding the sample files (default: the copy bundled in this kit)."""
    from rich.console import Console
    from rich.live import Live

    from modeleval_testkit.bundle import samples_dir
    from modeleval_testkit.cluster import LocalCluster
    from modeleval_testkit.executor import ExecutorConfig
    from modeleval_testkit.executor.config import MOCK_MODEL_SERVER

    console = Console()
    work_dir = work_dir.resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    samples = (samples or samples_dir()).resolve()
    missing = [name for name in DEMO_SAMPLES if not (samples / name).is_file()]
    if missing:
        console.print(f"[red]{samples}: missing sample files {', '.join(missing)}[/red]")
        return 2
    console.print(f"[bold]modeleval demo[/bold]: state, logs and reports under {work_dir}")

    answers = work_dir / "mock-answers.json"
    answers.write_text(json.dumps(demo_answers(samples), ensure_ascii=False), encoding="utf-8")
    node = ExecutorConfig(
        # A model that answers in ~40 ms, streams at 1 ms/token after a 10 ms first token and
        # serves 8 requests at once, so the performance report shows saturation.
        image_commands={
            "*vllm*": (
                *MOCK_MODEL_SERVER,
                "--answers",
                str(answers),
                "--latency-ms",
                "40",
                "--ttft-ms",
                "10",
                "--itl-ms",
                "1",
                "--capacity",
                "8",
            )
        },
        time_scale=0.05,
        gpu_capacity={"nvidia.com/gpu": 4},
        node_labels={"nvidia.com/gpu.present": "true"},  # a GPU node, as the sample asks
        work_dir=work_dir / "cluster" / "executor",
    )
    with LocalCluster(work_dir=work_dir / "cluster", executor=node) as cluster:
        console.print(f"API emulator at {cluster.api_url}; kubeconfig {cluster.admin_kubeconfig}")
        for name in DEMO_SAMPLES:
            out = cluster.kubectl("apply", "-f", str(samples / name))
            console.print(out.stdout.strip())
        api = cluster.api()
        deadline = time.monotonic() + timeout
        tasks: list[dict[str, Any]] = []
        with Live(console=console, refresh_per_second=4) as live:
            while time.monotonic() < deadline:
                groups = _items(api, c.SERVICE_GROUP_PLURAL)
                tasks = _items(api, c.EVAL_TASK_PLURAL)
                live.update(_table(groups, tasks))
                if _finished(tasks):
                    break
                time.sleep(0.5)
        states = {t["metadata"]["name"]: (t.get("status") or {}).get("state") for t in tasks}
        reports = sorted(cluster.work_dir.rglob("report.html"))
        for report in reports:
            console.print(f"report: {report}")
        failed = {name: state for name, state in states.items() if state != "Succeeded"}
        if failed or not tasks:
            console.print(f"[red]not all tasks succeeded[/red]: {failed or 'no tasks'}")
            console.print(f"operator log: {cluster.operator_log}")
            return 1
        if not reports:
            console.print("[red]no report was written[/red]")
            return 1
        console.print(f"[green]all {len(tasks)} tasks succeeded[/green]")
        return 0
