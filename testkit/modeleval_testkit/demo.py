"""``modeleval demo``: the whole stack on one machine, the samples from Queued to Succeeded.

Starts the Kubernetes API emulator, the real operator process, the local workload executor
(which runs the mock model server for the sample's vLLM image), the web console, and applies
the samples with the real ``kubectl``. Shows the resources live until every automatic task has
finished and the manual-mode one waits for annotation, prints where the reports are, the
console's URL and a login token. In a terminal it then keeps serving the console (annotate the
manual task there and watch it finish) until Ctrl-C.
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
MANUAL_SAMPLE = "80-evaltask-manual.yaml"
"""The manual-mode task, applied when the console runs."""
NAMESPACE = "default"
DEMO_USER = "demo-lead"
"""The person the printed token stands for: modeleval-editor everywhere (view, annotate,
complete)."""
WAITING = "RunningWithManualBegin"


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


def _settled(task: dict[str, Any]) -> bool:
    """Finished, or waiting for people (a manual task needs them, not time)."""
    return (task.get("status") or {}).get("state") in {*TERMINAL_STATES, WAITING}


def _finished(tasks: list[dict[str, Any]]) -> bool:
    return bool(tasks) and all(_settled(task) for task in tasks)


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


def run_demo(
    *,
    work_dir: Path,
    timeout: float = 300,
    samples: Path | None = None,
    console: bool = True,
    serve: bool | None = None,
) -> int:
    """Run the demo; 0 when every automatic sample task Succeeded and wrote a report (and, with
    the console, the manual task waits for annotation there).

    ``samples``: a folder holding the sample files (default: the copy bundled in this kit).
    ``console``: run the web console and the manual-mode sample. ``serve``: keep serving until
    Ctrl-C once the tasks settled (default: when stdout is a terminal)."""
    from rich.console import Console
    from rich.live import Live

    from modeleval_testkit.bundle import samples_dir
    from modeleval_testkit.cluster import LocalCluster
    from modeleval_testkit.executor import ExecutorConfig
    from modeleval_testkit.executor.config import MOCK_MODEL_SERVER

    out = Console()
    work_dir = work_dir.resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    samples = (samples or samples_dir()).resolve()
    names = (*DEMO_SAMPLES, MANUAL_SAMPLE) if console else DEMO_SAMPLES
    missing = [name for name in names if not (samples / name).is_file()]
    if missing:
        out.print(f"[red]{samples}: missing sample files {', '.join(missing)}[/red]")
        return 2
    out.print(f"[bold]modeleval demo[/bold]: state, logs and reports under {work_dir}")

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
    with LocalCluster(work_dir=work_dir / "cluster", executor=node, console=console) as cluster:
        out.print(f"API emulator at {cluster.api_url}; kubeconfig {cluster.admin_kubeconfig}")
        if cluster.console is not None:
            out.print(f"console at {cluster.console_url} (log: {cluster.console.log})")
        for name in names:
            applied = cluster.kubectl("apply", "-f", str(samples / name))
            out.print(applied.stdout.strip())
        api = cluster.api()
        deadline = time.monotonic() + timeout
        tasks: list[dict[str, Any]] = []
        with Live(console=out, refresh_per_second=4) as live:
            while time.monotonic() < deadline:
                groups = _items(api, c.SERVICE_GROUP_PLURAL)
                tasks = _items(api, c.EVAL_TASK_PLURAL)
                live.update(_table(groups, tasks))
                if _finished(tasks):
                    break
                time.sleep(0.5)
        states = {t["metadata"]["name"]: (t.get("status") or {}).get("state") for t in tasks}
        manual = {t["metadata"]["name"] for t in tasks if _is_manual(t)}
        reports = sorted(cluster.work_dir.rglob("report.html"))
        for report in reports:
            out.print(f"report: {report}")
        failed = {
            name: state
            for name, state in states.items()
            if state != "Succeeded" and not (name in manual and state == WAITING)
        }
        if failed or not tasks:
            out.print(f"[red]not all tasks succeeded[/red]: {failed or 'no tasks'}")
            out.print(f"operator log: {cluster.operator_log}")
            return 1
        if not reports:
            out.print("[red]no report was written[/red]")
            return 1
        automatic = len(tasks) - len(manual)
        out.print(f"[green]all {automatic} tasks succeeded[/green]")
        if cluster.console is None:
            return 0
        token = cluster.user_token(DEMO_USER, cluster_role="modeleval-editor")
        for name in sorted(manual):
            out.print(f"{name} waits for manual annotation in the console")
        out.print(f"[bold]console:[/bold] {cluster.console_url}")
        out.print(f"[bold]login token[/bold] ({DEMO_USER}, modeleval-editor): {token}")
        if serve is None:
            serve = out.is_terminal
        if serve:
            _serve(out, api)
        return 0


def _is_manual(task: dict[str, Any]) -> bool:
    return "manual" in ((task.get("spec") or {}).get("scoring") or {}).get("modes", [])


def _serve(out: Any, api: Any) -> None:
    """Keep the stack (and so the console) up, the table live, until Ctrl-C."""
    from rich.live import Live

    out.print("annotate the manual task in the console, then mark it complete; Ctrl-C stops")
    try:
        with Live(console=out, refresh_per_second=2) as live:
            while True:
                groups = _items(api, c.SERVICE_GROUP_PLURAL)
                live.update(_table(groups, _items(api, c.EVAL_TASK_PLURAL)))
                time.sleep(1)
    except KeyboardInterrupt:
        out.print("stopping")
