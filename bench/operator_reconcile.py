"""Operator reconcile throughput: N EvalTasks applied -> N inference Jobs, against the emulator.

Starts the API emulator (in this process, a thread) with our CRDs and the operator's RBAC,
then the real operator as a subprocess (``kopf run --standalone -A -m modeleval.main``, logged
in with its ServiceAccount). After a warm-up task proves the operator is serving, it creates N
EvalTasks spread over ``--namespaces`` namespaces (external endpoint target, so no service
group is needed) and counts the inference Jobs on a cluster-wide watch stream until all N
exist. No executor runs: the Jobs are only created.

Prints the elapsed seconds, Jobs/s, the operator's peak RSS (VmHWM from /proc) and CPU seconds,
its API requests per task, and the command line. ``--tasks 1000,10000`` runs each size in a
fresh cluster and compares them (time and requests per task: linear growth or better).
Targets: N=1,000 in under 60 s and peak RSS under 250 MB (issue 8); N=10,000 over 50
namespaces with peak RSS under 400 MB and per-task time no worse than at 1,000 (issue 19).

    python bench/operator_reconcile.py              # 1,000 tasks
    python bench/operator_reconcile.py --tasks 200
    python bench/operator_reconcile.py --tasks 1000,10000 --namespaces 50
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from modeleval_testkit.cluster import LocalCluster

JOBS = "/apis/batch/v1/jobs"
INFER_SELECTOR = "modeleval.io/phase=infer"


def tasks_path(namespace: str) -> str:
    return f"/apis/modeleval.io/v1alpha1/namespaces/{namespace}/evaltasks"


def task(name: str, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "models": [{"name": "m", "endpoint": {"url": "http://127.0.0.1:9/v1"}}],
            "dataset": {"inline": [{"input": "1+1?", "target": "2"}]},
        },
    }


def proc_status(pid: int) -> dict[str, int]:
    """VmHWM / VmRSS in kB and CPU seconds (utime + stime) of a process."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    values["cpu_s"] = (int(fields[11]) + int(fields[12])) // os.sysconf("SC_CLK_TCK")
    return values


class JobCounter:
    """Counts distinct inference Jobs from a watch stream (one thread)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.names: set[str] = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        params = {"watch": "true", "labelSelector": INFER_SELECTOR, "timeoutSeconds": "3600"}
        while not self.stop.is_set():
            try:
                with self.client.stream("GET", JOBS, params=params, timeout=None) as resp:
                    for line in resp.iter_lines():
                        if self.stop.is_set():
                            return
                        if not line.strip():
                            continue
                        event = json.loads(line)
                        if event.get("type") == "ADDED":
                            with self.lock:
                                self.names.add(event["object"]["metadata"]["name"])
            except httpx.HTTPError:
                time.sleep(0.2)

    def count(self, prefix: str) -> int:
        with self.lock:
            return sum(1 for name in self.names if name.startswith(prefix))


def operator_calls(cluster: LocalCluster) -> Counter[tuple[str, str]]:
    """The operator's requests by (verb, resource[/subresource]) from the emulator's log."""
    calls: Counter[tuple[str, str]] = Counter()
    for record in cluster.apiserver.request_log.resource_calls():
        if record.user.startswith("system:serviceaccount:") and "operator" in record.user:
            resource = record.resource + (f"/{record.subresource}" if record.subresource else "")
            calls[(record.verb, resource)] += 1
    return calls


def wait(predicate: Any, timeout: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    raise TimeoutError(what)


@dataclass
class Figures:
    tasks: int
    namespaces: int
    warm: float
    applied: float
    elapsed: float
    done: int
    peak_mb: float
    end_mb: float
    cpu_s: int
    requests: int
    errors: int
    calls: Counter[tuple[str, str]]

    @property
    def per_task_ms(self) -> float:
        return self.elapsed / max(self.done, 1) * 1000

    @property
    def requests_per_task(self) -> float:
        return self.requests / (self.tasks + 1)


def measure(size: int, namespaces: int, timeout: float) -> Figures:
    log_path = Path(tempfile.mkdtemp(prefix="modeleval-bench-")) / "operator.log"
    names = ["default"] if namespaces <= 1 else [f"bench-{i:02d}" for i in range(namespaces)]
    with LocalCluster(operator=None, run_executor=False) as cluster:
        env = {
            **os.environ,
            "KUBECONFIG": str(cluster.operator_kubeconfig),
            "MODELEVAL_METRICS_PORT": "0",
        }
        argv = [sys.executable, "-m", "kopf", "run", "--standalone", "-A", "-m", "modeleval.main"]
        with log_path.open("wb") as log:
            operator = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        headers = {"Authorization": f"Bearer {cluster.admin_token}"}
        verify: Any = str(cluster.ca_file) if cluster.ca_file else False
        client = httpx.Client(base_url=cluster.api_url, headers=headers, verify=verify)
        for name in names:
            if name != "default":
                client.post("/api/v1/namespaces", json={"metadata": {"name": name}})
        counter = JobCounter(client)
        counter.thread.start()
        try:
            client.post(tasks_path("default"), json=task("warmup")).raise_for_status()
            warm = wait(lambda: counter.count("warmup") == 1, 120, "operator start")
            start = time.monotonic()
            for i in range(size):
                namespace = names[i % len(names)]
                body = task(f"bench-{i:05d}", namespace)
                client.post(tasks_path(namespace), json=body).raise_for_status()
            applied = time.monotonic() - start
            with contextlib.suppress(TimeoutError):
                wait(lambda: counter.count("bench-") >= size, timeout, "all Jobs")
            elapsed = time.monotonic() - start
            done = counter.count("bench-")
            usage = proc_status(operator.pid)
            calls = operator_calls(cluster)
        finally:
            counter.stop.set()
            operator.terminate()
            try:
                operator.wait(20)
            except subprocess.TimeoutExpired:
                operator.kill()
            client.close()
    errors = [line for line in log_path.read_text(errors="replace").splitlines() if "ERROR" in line]
    print(f"operator log ({size} tasks): {log_path} ({len(errors)} ERROR lines)")
    return Figures(
        tasks=size,
        namespaces=len(names),
        warm=warm,
        applied=applied,
        elapsed=elapsed,
        done=done,
        peak_mb=usage["VmHWM"] / 1024,
        end_mb=usage["VmRSS"] / 1024,
        cpu_s=usage["cpu_s"],
        requests=sum(calls.values()),
        errors=len(errors),
        calls=calls,
    )


def run(args: argparse.Namespace) -> int:
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    results = []
    for size in args.tasks:
        figures = measure(size, args.namespaces, args.timeout)
        results.append(figures)
        print(f"operator start (first Job of a warm-up task): {figures.warm:.1f} s")
        print(
            f"tasks applied: {size} in {figures.namespaces} namespace(s) in {figures.applied:.1f} s"
        )
        print(
            f"inference Jobs created: {figures.done}/{size} in {figures.elapsed:.1f} s "
            f"({figures.done / figures.elapsed:.1f} Jobs/s)"
        )
        print(
            f"operator peak RSS (VmHWM): {figures.peak_mb:.0f} MB; RSS at end: "
            f"{figures.end_mb:.0f} MB; CPU: {figures.cpu_s} s"
        )
        print(
            f"operator API requests: {figures.requests} ({figures.requests_per_task:.1f} per task):"
        )
        for (verb, resource), count in figures.calls.most_common():
            print(f"  {count:7d}  {verb} {resource}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print("tasks   namespaces  seconds  ms/task  peak RSS MB  requests/task")
    for f in results:
        print(
            f"{f.tasks:<7} {f.namespaces:<11} {f.elapsed:7.1f}  {f.per_task_ms:7.1f}  "
            f"{f.peak_mb:11.0f}  {f.requests_per_task:13.1f}"
        )
    ok = all(f.done >= f.tasks for f in results)
    for f in results:
        limit_mb = 250 if f.tasks <= 1000 else 400
        if f.peak_mb >= limit_mb or (f.tasks <= 1000 and f.elapsed >= 60):
            ok = False
    if len(results) > 1:
        first, last = results[0], results[-1]
        growth = last.per_task_ms / first.per_task_ms
        requests = last.requests_per_task / first.requests_per_task
        print(
            f"growth {first.tasks} -> {last.tasks}: time per task {growth:.2f}x, requests per "
            f"task {requests:.2f}x (linear or better: <= 1.2x)"
        )
        ok = ok and growth <= 1.2 and requests <= 1.2
    print(
        "targets (1,000: all Jobs < 60 s, RSS < 250 MB; 10,000: RSS < 400 MB; growth linear): "
        f"{'met' if ok else 'NOT met'}"
    )
    return 0 if all(f.done >= f.tasks for f in results) else 1


def sizes(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=sizes, default=[1000], help="EvalTasks to apply")
    parser.add_argument("--namespaces", type=int, default=1, help="spread over this many")
    parser.add_argument("--timeout", type=float, default=300, help="give up after (seconds)")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
