"""Operator reconcile throughput: N EvalTasks applied -> N inference Jobs, against the emulator.

Starts the API emulator (in this process, a thread) with our CRDs and the operator's RBAC,
then the real operator as a subprocess (``kopf run --standalone -A -m modeleval.main``, logged
in with its ServiceAccount). After a warm-up task proves the operator is serving, it creates N
EvalTasks (external endpoint target, so no service group is needed) and counts the inference
Jobs on a watch stream until all N exist. No executor runs: the Jobs are only created.

Prints the elapsed seconds, Jobs/s, the operator's peak RSS (VmHWM from /proc) and CPU seconds,
and the command line. Targets (issue 8): N=1,000 in under 60 s, peak RSS under 250 MB.

    python bench/operator_reconcile.py              # 1,000 tasks
    python bench/operator_reconcile.py --tasks 200
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
from pathlib import Path
from typing import Any

import httpx

from modeleval_testkit.cluster import LocalCluster

TASKS = "/apis/modeleval.io/v1alpha1/namespaces/default/evaltasks"
JOBS = "/apis/batch/v1/namespaces/default/jobs"
INFER_SELECTOR = "modeleval.io/phase=infer"


def task(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": name, "namespace": "default"},
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


def run(args: argparse.Namespace) -> int:
    log_path = Path(tempfile.mkdtemp(prefix="modeleval-bench-")) / "operator.log"
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
        counter = JobCounter(client)
        counter.thread.start()
        try:
            client.post(TASKS, json=task("warmup")).raise_for_status()
            warm = wait(lambda: counter.count("warmup") == 1, 120, "operator start")
            start = time.monotonic()
            for i in range(args.tasks):
                client.post(TASKS, json=task(f"bench-{i:05d}")).raise_for_status()
            applied = time.monotonic() - start
            with contextlib.suppress(TimeoutError):
                wait(lambda: counter.count("bench-") >= args.tasks, args.timeout, "all Jobs")
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
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"operator start (first Job of a warm-up task): {warm:.1f} s")
    print(f"tasks applied: {args.tasks} in {applied:.1f} s")
    print(
        f"inference Jobs created: {done}/{args.tasks} in {elapsed:.1f} s "
        f"({done / elapsed:.1f} Jobs/s)"
    )
    print(
        f"operator peak RSS (VmHWM): {usage['VmHWM'] / 1024:.0f} MB; "
        f"RSS at end: {usage['VmRSS'] / 1024:.0f} MB; CPU: {usage['cpu_s']} s"
    )
    print(f"operator log: {log_path} ({len(errors)} ERROR lines)")
    total = sum(calls.values())
    print(f"operator API requests: {total} ({total / (args.tasks + 1):.1f} per task):")
    for (verb, resource), count in calls.most_common():
        print(f"  {count:7d}  {verb} {resource}")
    ok = done >= args.tasks and elapsed < 60 and usage["VmHWM"] < 250 * 1024
    print(f"targets (all Jobs < 60 s, RSS < 250 MB): {'met' if ok else 'NOT met'}")
    return 0 if done >= args.tasks else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000, help="EvalTasks to apply")
    parser.add_argument("--timeout", type=float, default=300, help="give up after (seconds)")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
