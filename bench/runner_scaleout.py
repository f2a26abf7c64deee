"""Scale-out of the inference phase: shards side by side, and a task's models at once.

(a) **Shards.** The same task run as 1, 2 and 4 shards: each shard is a
``python -m modeleval.runner infer`` process with ``MODELEVAL_SHARDS`` and
``JOB_COMPLETION_INDEX`` set, as the pods of an Indexed Job, all started together on one
results folder; the time is from the first start to the last exit. Every shard sends
``parallel`` requests at a time to a mock model server with a fixed latency and no capacity
limit, so k shards may send k x parallel at once: the ideal time is ceil(N / (k x P)) x L. The
target: 4 shards within 1.3x of a quarter of the 1-shard time. The floor a machine puts under
that is measured too: the same processes over a 1-item dataset (interpreter, imports, the
dataset's checking pass, exit), started k at a time.

(b) **Models at once.** One task of two models served with different latencies (each model its
own server and ``parallel``) against each model alone: the two together should take about the
slower one's time, not the sum.

    python bench/runner_scaleout.py [--items 4000] [--parallel 16] [--latency-ms 100]
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
import time
from pathlib import Path
from typing import Any

import mockproc

TARGET = 1.3


def start_mock(latency_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    return mockproc.start_mock("--latency-ms", str(latency_ms))


def write_task(work: Path, models: list[tuple[str, str, int]], items: int) -> None:
    """A dataset of ``items`` rows and task.json (EvalTask, resolved targets, run plan)."""
    with (work / "data.jsonl").open("w") as fh:
        for i in range(items):
            fh.write(json.dumps({"id": f"q{i}", "input": f"question {i}", "target": f"q{i}"}))
            fh.write("\n")
    task = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": "bench", "namespace": "default"},
        "spec": {
            "models": [
                {
                    "name": name,
                    "endpoint": {"url": url, "model": "mock-model"},
                    "parallel": parallel,
                }
                for name, url, parallel in models
            ],
            "dataset": {"pvc": {"claimName": "data", "path": "data.jsonl"}},
            "inference": {"client": {"parallel": models[0][2], "logEveryQuery": 1000}},
        },
    }
    from modeleval.api import EvalTask
    from modeleval.builders.evaltask import resolve_models, task_document

    parsed = EvalTask.model_validate(task)
    document = task_document(parsed, resolve_models(parsed.spec, {}))
    (work / "task.json").write_text(json.dumps(document))


def run_shards(work: Path, shards: int) -> float:
    """Wall time of ``shards`` runner processes started together (one per shard)."""
    results = work / f"results-{shards}-{time.monotonic_ns()}"
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KUBERNETES_", "MODELEVAL_"))
    }
    base.update(
        KUBECONFIG=str(work / "no-kubeconfig"),
        MODELEVAL_TASK_FILE=str(work / "task.json"),
        MODELEVAL_RESULTS_DIR=str(results),
        MODELEVAL_DATASET_FILE=str(work / "data.jsonl"),
        MODELEVAL_LOG_LEVEL="WARNING",
        MODELEVAL_SHARDS=str(shards),
    )
    cmd = [sys.executable, "-m", "modeleval.runner", "infer"]
    began = time.perf_counter()
    procs = [
        subprocess.Popen(
            cmd,
            env={**base, "JOB_COMPLETION_INDEX": str(k)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for k in range(shards)
    ]
    codes = []
    for proc in procs:
        _, err = proc.communicate()
        codes.append(proc.returncode)
        if proc.returncode != 0:
            print(err.decode(errors="replace")[-2000:], file=sys.stderr)
    elapsed = time.perf_counter() - began
    if any(codes):
        raise SystemExit(f"a runner failed: exit codes {codes}")
    return elapsed


def best(runs: int, fn: Any) -> float:
    return min(fn() for _ in range(runs))


def shards_part(args: argparse.Namespace) -> bool:
    mock, url = start_mock(args.latency_ms)
    try:
        with tempfile.TemporaryDirectory(prefix="modeleval-shards-") as tmp:
            work = Path(tmp)
            (work / "floor").mkdir()
            write_task(work / "floor", [("mock", url, args.parallel)], 1)
            write_task(work, [("mock", url, args.parallel)], args.items)
            run_shards(work, 1)  # warm-up: bytecode cached, mock warm
            floor = {k: best(args.repeat, lambda k=k: run_shards(work / "floor", k))
                     for k in (1, 2, 4)}  # fmt: skip
            times = {k: best(args.repeat, lambda k=k: run_shards(work, k)) for k in (1, 2, 4)}
    finally:
        mock.terminate()
        mock.wait(10)
    latency = args.latency_ms / 1000
    print(f"(a) shards: {args.items} items, parallel {args.parallel} per shard, "
          f"latency {args.latency_ms:g} ms (best of {args.repeat})")  # fmt: skip
    print("shards  wall s   ideal s  wall/ideal  speed-up  floor s (k processes, 1 item)")
    for k, elapsed in times.items():
        ideal = math.ceil(args.items / (k * args.parallel)) * latency
        print(f"{k:>6}  {elapsed:6.2f}  {ideal:8.2f}  {elapsed / ideal:9.2f}x  "
              f"{times[1] / elapsed:7.2f}x  {floor[k]:6.2f}")  # fmt: skip
    quarter = times[1] / 4
    ratio = times[4] / quarter
    print(
        f"4 shards / (1 shard / 4): {ratio:.2f}x (target <= {TARGET}x); "
        f"4 shards less their floor: {(times[4] - floor[4]) / (times[1] - floor[1]) * 4:.2f}x"
    )
    return ratio <= TARGET


def models_part(args: argparse.Namespace) -> bool:
    fast_ms, slow_ms = args.latency_ms / 2, args.latency_ms
    fast, fast_url = start_mock(fast_ms)
    slow, slow_url = start_mock(slow_ms)
    try:
        with tempfile.TemporaryDirectory(prefix="modeleval-models-") as tmp:
            work = Path(tmp)
            layouts = {
                "fast alone": [("fast", fast_url, args.parallel)],
                "slow alone": [("slow", slow_url, args.parallel)],
                "both in one task": [
                    ("fast", fast_url, args.parallel),
                    ("slow", slow_url, args.parallel),
                ],
            }
            times = {}
            for label, models in layouts.items():
                folder = work / label.replace(" ", "-")
                folder.mkdir()
                write_task(folder, models, args.items)
                run_shards(folder, 1)
                times[label] = best(args.repeat, lambda f=folder: run_shards(f, 1))
    finally:
        for proc in (fast, slow):
            proc.terminate()
            proc.wait(10)
    print(f"(b) models at once: {args.items} items, parallel {args.parallel} each, "
          f"latency {fast_ms:g} and {slow_ms:g} ms")  # fmt: skip
    for label, elapsed in times.items():
        print(f"  {label:<18} {elapsed:6.2f} s")
    both = times["both in one task"]
    total = times["fast alone"] + times["slow alone"]
    print(
        f"both / slower alone: {both / times['slow alone']:.2f}x; "
        f"both / sum of both alone: {both / total:.2f}x"
    )
    return both / times["slow alone"] <= TARGET


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=4000)
    parser.add_argument("--parallel", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--part", choices=["shards", "models", "all"], default="all")
    args = parser.parse_args()
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    ok = True
    if args.part in ("shards", "all"):
        ok = shards_part(args) and ok
    if args.part in ("models", "all"):
        ok = models_part(args) and ok
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(f"targets: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
