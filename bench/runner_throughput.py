"""Runner throughput: the whole ``python -m modeleval.runner infer`` process vs the ideal.

Starts the mock model server as its own process, a small status endpoint standing in for the
Kubernetes API (the runner's progress patches go there through a kubeconfig), writes task.json
as the operator renders it (EvalTask, resolved targets, run plan) and a dataset, then runs the
runner as a subprocess, alternating with ``bench/bare_client.py``: a minimal aiohttp process
sending the same requests, the floor for any aiohttp-based runner on the machine. Prints the
best wall times, the ideal ceil(N/P)·L, runner/ideal, floor/ideal, runner/floor and items/s
at L=0.

    python bench/runner_throughput.py [--items 2000] [--parallel 64] [--latency-ms 50]
                                      [--repeat 5] [--pin auto|on|off] [--local-run]

``--local-run`` measures ``modeleval run`` instead: the whole local evaluation in one process
(task validation, inference, rule scoring with accuracy + ROUGE-L + BLEU + edit similarity,
summary.json and report.html), against the same bare client.

Bytecode is cached under a temporary PYTHONPYCACHEPREFIX and a warm-up run goes first, as
in a built container image (where .pyc files ship with the code). On machines of 2-4 CPUs the
client (runner or bare client) runs on the first CPU and the mock server on the others, as the
model server runs on its own node in a cluster.

Figures of 2026-11-22, 2-core dev box (Python 3.11, uvloop, idle, pinned), nine invocations of
5 runs each: runner best 1.950-2.217 s (1.22x-1.39x ideal; 1.3x or less in five of nine), the
bare aiohttp client in the same invocations 1.20x-1.34x, runner/bare 0.94x-1.07x; L=0:
2,200-3,000 items/s for the whole process. Start-up (interpreter + asyncio, uvloop, aiohttp)
is 0.24-0.29 s of it; aiohttp alone builds two SSL contexts at import (~0.1 s).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import mockproc

ROOT = Path(__file__).resolve().parents[1]

CPU_SETS: dict[str, set[int]] = {}
"""``client`` (runner, bare client) and ``server`` (mock) CPU sets when pinned (--pin)."""


def spawn(cmd: list[str], role: str, **kwargs: Any) -> subprocess.Popen[Any]:
    """Start ``cmd`` and move it onto its role's CPUs when pinning."""
    proc: subprocess.Popen[Any] = subprocess.Popen(cmd, **kwargs)
    cpus = CPU_SETS.get(role)
    if cpus:
        os.sched_setaffinity(proc.pid, cpus)
    return proc


def run(cmd: list[str], role: str, **kwargs: Any) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run`` through :func:`spawn`."""
    with spawn(cmd, role, **kwargs) as proc:
        out, err = proc.communicate()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def choose_pinning(mode: str) -> None:
    """On a machine of few cores, keep the mock server off the client's core.

    In a cluster the model server runs on its own (GPU) node; on a 2-core machine the mock
    server otherwise takes CPU from the very process being measured.
    """
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if mode == "off" or len(cores) < 2 or (mode == "auto" and len(cores) > 4):
        return
    CPU_SETS["client"] = {cores[0]}
    CPU_SETS["server"] = set(cores[1:])


class StatusEndpoint:
    """Accepts the runner's status merge patches and counts them."""

    def __init__(self) -> None:
        self.patches: list[dict[str, object]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_PATCH(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.patches.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def kubeconfig(self, path: Path) -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "bench", "cluster": {"server": self.url}}],
            "users": [{"name": "bench", "user": {"token": "bench"}}],
            "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": "bench"}}],
            "current-context": "bench",
        }
        path.write_text(json.dumps(config))
        return path


def start_mock(
    latency_ms: float, env: dict[str, str], workers: int
) -> tuple[subprocess.Popen[bytes], str]:
    return mockproc.start_mock(
        "--latency-ms",
        str(latency_ms),
        "--workers",
        str(workers),
        spawn=lambda cmd: spawn(cmd, "server", env=env, stdout=subprocess.DEVNULL),
        settle_s=1.0 if workers > 1 else 0.0,  # let the other worker processes bind
    )


LOCAL_SCORING = {"modes": ["rule"], "rule": {"scoreModes": ["accuracy", "similarity"]}}
"""What ``--local-run`` scores: every rule metric (accuracy, ROUGE-L, BLEU, edit similarity)."""


def write_task(work: Path, url: str, items: int, parallel: int) -> None:
    with (work / "data.jsonl").open("w") as fh:
        for i in range(items):
            fh.write(json.dumps({"id": f"q{i}", "input": f"question {i}", "target": f"q{i}"}))
            fh.write("\n")
    task = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": "bench", "namespace": "default"},
        "spec": {
            "models": [{"name": "mock", "endpoint": {"url": url, "model": "mock-model"}}],
            "dataset": {"pvc": {"claimName": "data", "path": "data.jsonl"}},
            "inference": {"client": {"parallel": parallel, "logEveryQuery": 100}},
        },
    }
    # task.json as the operator renders it: the EvalTask, its resolved targets and run plan.
    from modeleval.api import EvalTask
    from modeleval.builders.evaltask import resolve_models, task_document

    parsed = EvalTask.model_validate(task)
    document = task_document(parsed, resolve_models(parsed.spec, {}))
    (work / "task.json").write_text(json.dumps(document))
    local = {**task, "spec": {**task["spec"], "scoring": LOCAL_SCORING}}
    (work / "task.local.json").write_text(json.dumps(local))


def run_local(work: Path, env: dict[str, str]) -> float:
    """Wall time of ``modeleval run`` (inference, scoring, report) as a user runs it."""
    out = work / "local-out"
    if out.exists():
        for f in sorted(out.rglob("*"), reverse=True):
            f.unlink() if f.is_file() else f.rmdir()
    cmd = [
        sys.executable, "-m", "modeleval.cli", "run", "-q",
        "-f", str(work / "task.local.json"), "--dataset", str(work / "data.jsonl"),
        "--out", str(out),
    ]  # fmt: skip
    run_env = {**env, "MODELEVAL_LOG_LEVEL": "WARNING"}
    began = time.perf_counter()
    done = run(
        cmd, "client", env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wall = time.perf_counter() - began
    if done.returncode != 0 or not (out / "report.html").exists():
        raise SystemExit(f"modeleval run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return wall


def run_runner(work: Path, env: dict[str, str]) -> float:
    results = work / "results"
    if results.exists():
        for f in sorted(results.rglob("*"), reverse=True):
            f.unlink() if f.is_file() else f.rmdir()
    run_env = {
        **env,
        "MODELEVAL_TASK_FILE": str(work / "task.json"),
        "MODELEVAL_RESULTS_DIR": str(results),
        "MODELEVAL_DATASET_PVC_DIR": str(work),
        "MODELEVAL_LOG_LEVEL": "WARNING",
    }
    began = time.perf_counter()
    done = run(
        [sys.executable, "-m", "modeleval.runner", "infer"],
        "client",
        env=run_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"runner failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return wall


def run_floor(work: Path, url: str, parallel: int, env: dict[str, str]) -> float:
    """Wall time of bench/bare_client.py: the same requests from a minimal aiohttp process."""
    cmd = [sys.executable, str(ROOT / "bench" / "bare_client.py"), url, str(work / "data.jsonl")]
    began = time.perf_counter()
    if run([*cmd, str(parallel)], "client", env=env).returncode != 0:
        raise SystemExit("bare client failed")
    return time.perf_counter() - began


def measure(
    latency_ms: float,
    items: int,
    parallel: int,
    env: dict[str, str],
    work: Path,
    repeat: int,
    workers: int,
    local: bool = False,
) -> tuple[list[float], list[float]]:
    """Wall times of the runner (or ``modeleval run``) and of the bare client, alternated so
    load drift hits both."""
    mock, url = start_mock(latency_ms, env, workers)
    try:
        write_task(work, url, items, parallel)
        runner: list[float] = []
        floor: list[float] = []
        for _ in range(repeat):
            runner.append(run_local(work, env) if local else run_runner(work, env))
            floor.append(run_floor(work, url, parallel, env))
        return runner, floor
    finally:
        mock.terminate()
        mock.wait(timeout=10)


IMPORTS = "import modeleval.runner.phases, modeleval.runner.infer, modeleval.runner.__main__"
HTTP_IMPORTS = "import asyncio, uvloop, aiohttp"


def fmt(walls: list[float]) -> str:
    return ", ".join(f"{w:.3f}" for w in walls)


def time_command(cmd: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    if run(cmd, "client", env=env).returncode != 0:
        raise SystemExit(f"failed: {shlex.join(cmd)}")
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--parallel", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=5, help="runs per setting (best is kept)")
    parser.add_argument(
        "--mock-workers",
        type=int,
        default=max(1, min(4, (os.cpu_count() or 2) - 2)),
        help="mock server processes (a real server answers its batch in parallel)",
    )
    parser.add_argument(
        "--pin",
        choices=["auto", "on", "off"],
        default="auto",
        help="run the client on the first CPU and the mock server on the others "
        "(auto: on machines of 2-4 CPUs)",
    )
    parser.add_argument(
        "--local-run",
        action="store_true",
        help="measure `modeleval run` (inference + rule scoring + report) instead of the runner",
    )
    args = parser.parse_args()
    subject = "modeleval run" if args.local_run else "runner"
    print("command:", shlex.join([sys.executable, *sys.argv]))
    choose_pinning(args.pin)

    with tempfile.TemporaryDirectory(prefix="modeleval-bench-") as tmp:
        work = Path(tmp)
        status = StatusEndpoint()
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(
            PYTHONPATH=os.pathsep.join(
                p for p in (str(ROOT / "operator"), os.environ.get("PYTHONPATH")) if p
            ),
            PYTHONPYCACHEPREFIX=str(work / "pycache"),
            KUBECONFIG=str(status.kubeconfig(work / "kubeconfig")),
            MODELEVAL_TASK_NAME="bench",
            MODELEVAL_TASK_NAMESPACE="default",
        )
        local = args.local_run
        measure(
            0, 200, args.parallel, env, work, 1, args.mock_workers, local
        )  # warm-up: bytecode cache, page cache
        status.patches.clear()

        walls, floors = measure(
            args.latency_ms, args.items, args.parallel, env, work, args.repeat, args.mock_workers,
            local,
        )  # fmt: skip
        patches = len(status.patches) // args.repeat
        ideal = math.ceil(args.items / args.parallel) * args.latency_ms / 1000
        best, floor = min(walls), min(floors)
        print(
            f"N={args.items} P={args.parallel} L={args.latency_ms:g} ms "
            f"(mock server: {args.mock_workers} processes, {os.cpu_count()} CPUs, "
            f"pinned: {CPU_SETS or 'no'})"
        )
        print(f"  {subject}, whole process : {best:.3f} s  (runs: {fmt(walls)})")
        print(f"  bare aiohttp process  : {floor:.3f} s  (runs: {fmt(floors)})")
        print(f"  ideal ceil(N/P)*L     : {ideal:.3f} s")
        print(f"  {subject} / ideal        : {best / ideal:.2f}x  (target <= 1.30x)")
        print(f"  bare client / ideal   : {floor / ideal:.2f}x  (this machine's floor)")
        print(f"  {subject} / bare client  : {best / floor:.2f}x  (the {subject}'s own overhead)")
        print(
            f"  {subject} - bare client  : {best - floor:+.3f} s"
            + ("  (target <= +0.150 s)" if local else "")
        )
        if not local:
            print(f"  status patches per run: {patches}")

        startup = min(time_command([sys.executable, "-c", IMPORTS], env) for _ in range(3))
        http = min(time_command([sys.executable, "-c", HTTP_IMPORTS], env) for _ in range(3))
        bare = min(time_command([sys.executable, "-c", "pass"], env) for _ in range(3))
        print(
            f"  start-up: interpreter {bare:.3f} s, + asyncio/uvloop/aiohttp {http:.3f} s, "
            f"+ runner imports {startup:.3f} s"
        )

        zero, zero_floor = measure(
            0, args.items, args.parallel, env, work, args.repeat, args.mock_workers, local
        )
        best0 = min(zero)
        target = " (target >= 3000)" if local else ""
        print(
            f"L=0: {args.items / best0:.0f} items/s for the whole {subject} process{target} "
            f"({best0:.3f} s, runs: {fmt(zero)}); bare client {args.items / min(zero_floor):.0f}"
        )
        status.server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
