"""Runner memory at dataset scale: peak RSS of the inference and score phases vs items.

For each size N it writes a JSONL dataset of N items (~150 bytes a row) and task.json as the
operator renders it, then runs ``python -m modeleval.runner infer`` against the mock model
server (its own process, no latency) and ``python -m modeleval.runner score`` (rule metrics:
accuracy, ROUGE-L, BLEU, edit similarity) over the predictions, each as a subprocess whose
peak RSS (``ru_maxrss`` of ``wait4``) and wall time are printed. Memory must not grow with N
(target: under 300 MB at 1,000,000 items).

``--send K`` sends only the last K items of each size: the checkpoint is pre-filled with
answers for the others (as if an earlier pod had answered them), so the runner still reads the
whole dataset twice (the checking pass and the stream the workers take from), reads the whole
checkpoint back and scores every item, without waiting for N requests on a small machine.

    python bench/runner_memory.py                           # 10k, 100k, 1M; every item sent
    python bench/runner_memory.py --items 1000000 --send 50000
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mockproc

TARGET_MB = 300


def start_mock() -> tuple[subprocess.Popen[bytes], str]:
    return mockproc.start_mock()


def row(i: int) -> dict[str, str]:
    return {
        "id": f"item-{i:07d}",
        "input": f"Question {i}: what is the capital of the country number {i % 193}?",
        "target": f"The capital of country {i % 193}",
    }


def write_work(work: Path, url: str, items: int, prefilled: int, parallel: int) -> None:
    with (work / "data.jsonl").open("w") as fh:
        for i in range(items):
            fh.write(json.dumps(row(i)) + "\n")
    predictions = work / "results" / "predictions"
    predictions.mkdir(parents=True)
    with (predictions / "mock.jsonl").open("w") as fh:
        for i in range(prefilled):
            item = row(i)
            answer = {
                "id": item["id"], "index": i, "model": "mock", "input": item["input"],
                "target": item["target"], "output": item["input"], "error": None,
                "latency": 0.001, "tokens": {"prompt": 10, "completion": 10}, "attempts": 1,
                "finish_reason": "stop",
            }  # fmt: skip
            fh.write(json.dumps(answer) + "\n")
    task = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": "bench", "namespace": "default"},
        "spec": {
            "models": [{"name": "mock", "endpoint": {"url": url, "model": "mock-model"}}],
            "dataset": {"pvc": {"claimName": "data", "path": "data.jsonl"}},
            "inference": {"client": {"parallel": parallel, "logEveryQuery": 10000}},
            "scoring": {"modes": ["rule"], "rule": {"scoreModes": ["accuracy", "similarity"]}},
        },
    }
    from modeleval.api import EvalTask
    from modeleval.builders.evaltask import resolve_models, task_document

    parsed = EvalTask.model_validate(task)
    (work / "task.json").write_text(
        json.dumps(task_document(parsed, resolve_models(parsed.spec, {})))
    )


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB and exit code of one process."""
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        print(err[-2000:], file=sys.stderr)
    return time.perf_counter() - began, usage.ru_maxrss / 1024, proc.returncode


def run(args: argparse.Namespace) -> int:
    mock, url = start_mock()
    ok = True
    rows: list[tuple[int, int, float, float, float, float]] = []
    try:
        for items in args.items:
            send = items if args.send is None else min(args.send, items)
            with tempfile.TemporaryDirectory(prefix="modeleval-memory-") as tmp:
                work = Path(tmp)
                write_work(work, url, items, items - send, args.parallel)
                env = {
                    key: value
                    for key, value in os.environ.items()
                    if not key.startswith(("KUBERNETES_", "MODELEVAL_"))
                }
                env.update(
                    KUBECONFIG=str(work / "no-kubeconfig"),  # no status sink: nothing to patch
                    MODELEVAL_TASK_FILE=str(work / "task.json"),
                    MODELEVAL_RESULTS_DIR=str(work / "results"),
                    MODELEVAL_DATASET_FILE=str(work / "data.jsonl"),
                    MODELEVAL_LOG_LEVEL="WARNING",
                    TMPDIR=str(work),
                )
                runner = [sys.executable, "-m", "modeleval.runner"]
                infer_s, infer_mb, code = measure([*runner, "infer"], env)
                ok = ok and code == 0
                score_s, score_mb, code = measure([*runner, "score"], env)
                ok = ok and code == 0
                lines = sum(1 for _ in (work / "results" / "scores.jsonl").open())
                ok = ok and lines == items
            rows.append((items, send, infer_s, infer_mb, score_s, score_mb))
            print(
                f"  {items:>9,} items ({send:,} sent): infer {infer_s:7.1f} s {infer_mb:6.0f} MB"
                f" | score {score_s:7.1f} s {score_mb:6.0f} MB",
                flush=True,
            )
    finally:
        mock.terminate()
        mock.wait(10)
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    print("items      sent       infer s  infer MB  score s  score MB")
    for items, send, infer_s, infer_mb, score_s, score_mb in rows:
        print(
            f"{items:<10,} {send:<10,} {infer_s:7.1f}  {infer_mb:8.0f}  {score_s:7.1f}  "
            f"{score_mb:8.0f}"
        )
    peak = max((max(r[3], r[5]) for r in rows), default=0.0)
    first = max(rows[0][3], rows[0][5]) if rows else 0.0
    print(f"peak RSS: {peak:.0f} MB (target < {TARGET_MB} MB); largest / smallest size: "
          f"{peak / first if first else 0:.2f}x")  # fmt: skip
    met = ok and peak < TARGET_MB
    print(f"target: {'met' if met else 'NOT met'}")
    return 0 if met else 1


def sizes(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=sizes, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--send", type=int, default=None, help="send only the last K items")
    parser.add_argument("--parallel", type=int, default=64)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
