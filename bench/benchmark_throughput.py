"""Benchmark-task throughput: the runner on MMLU vs a bare client, beside the plain QA figure.

    python bench/benchmark_throughput.py [--mode loglikelihood|generate] [--shots 0]
                                         [--parallel 64] [--latency-ms 50] [--repeat 5]

Builds an MMLU mirror of 57 subjects x 35 test questions (1,995 items; a 35-row fixture file
copied as every subject's test split, beside a 5-row dev split: the runner lists, reads and
decodes 114 parquet files as on the real MMLU), writes task.json as the operator renders it
(``spec.benchmark``, source a PVC mirror) and runs ``python -m modeleval.runner infer``
against the mock model server, alternating with ``bench/bare_benchmark_client.py`` sending
the very same request bodies (rendered beforehand). In log-likelihood mode each item is one
completions request with its four choices, ``echo`` and ``logprobs`` (the mock computes the
prompt log-probabilities); in generation mode one chat request. It then measures the plain QA
task the same way (``bench/runner_throughput.py``'s setup) and prints both ratios to their
bare client: the benchmark run is at the runner's floor when its ratio matches the QA one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import runner_throughput as rt

ROOT = rt.ROOT
DATA = ROOT / "tests" / "data" / "benchmarks"
FIXTURE = DATA / "hub" / "cais" / "mmlu" / "abstract_algebra"
TEST_FILE = DATA / "parquet" / "mmlu-test-35.parquet"


def build_mirror(root: Path, subjects: int = 57) -> None:
    """57 subjects, each one test file of 35 questions and the fixture's dev file (5)."""
    sys.path.insert(0, str(ROOT / "operator"))
    from modeleval.benchmarks import get_benchmark

    for subset in get_benchmark("mmlu").subsets[:subjects]:
        folder = root / "cais" / "mmlu" / subset.name
        folder.mkdir(parents=True)
        shutil.copy(TEST_FILE, folder / "test-00000-of-00001.parquet")
        shutil.copy(FIXTURE / "dev-00000-of-00001.parquet", folder / "dev-00000-of-00001.parquet")


def write_task(work: Path, url: str, mode: str, shots: int, parallel: int, subjects: int) -> int:
    """task.json for the runner and requests.jsonl (the same bodies) for the bare client."""
    from modeleval.api import EvalTask
    from modeleval.benchmarks import DirectoryStore, get_benchmark, load_requests, resolve
    from modeleval.builders.evaltask import resolve_models, task_document
    from modeleval.runner.benchmark_payloads import benchmark_body
    from modeleval.runner.config import ModelRun
    from modeleval.runner.payloads import ApiFlavour

    task = {
        "apiVersion": "modeleval.io/v1alpha1",
        "kind": "EvalTask",
        "metadata": {"name": "bench", "namespace": "default"},
        "spec": {
            "models": [{"name": "mock", "endpoint": {"url": url, "model": "mock-model"}}],
            "benchmark": {
                "name": "mmlu",
                "subsets": [s.name for s in get_benchmark("mmlu").subsets[:subjects]],
                "mode": mode,
                "fewShot": shots,
                "source": {"pvc": {"claimName": "mirror", "path": "mirror"}},
            },
            "inference": {"client": {"parallel": parallel, "logEveryQuery": 100}},
        },
    }
    parsed = EvalTask.model_validate(task)
    document = task_document(parsed, resolve_models(parsed.spec, {}))
    (work / "task.json").write_text(json.dumps(document))
    api = ApiFlavour(document["plan"]["models"][0]["api"])
    model = ModelRun(name="mock", url=url, model="mock-model", api=api)
    names = [s.name for s in get_benchmark("mmlu").subsets[:subjects]]
    spec = resolve("mmlu", mode=mode, shots=shots, subsets=names)
    requests = load_requests(spec, DirectoryStore(work / "mirror", "cais/mmlu"))
    path = "/chat/completions" if api is ApiFlavour.CHAT else "/completions"
    with (work / "requests.jsonl").open("w") as fh:
        for r in requests:
            fh.write(
                json.dumps({"id": r.id, "path": path, "body": benchmark_body(r, model)}) + "\n"
            )
    return len(requests)


def run_bare(work: Path, url: str, parallel: int, env: dict[str, str]) -> float:
    script = ROOT / "bench" / "bare_benchmark_client.py"
    cmd = [sys.executable, str(script), url, str(work / "requests.jsonl"), str(parallel)]
    began = time.perf_counter()
    if rt.run(cmd, "client", env=env).returncode != 0:
        raise SystemExit("bare benchmark client failed")
    return time.perf_counter() - began


def measure(args: argparse.Namespace, env: dict[str, str], work: Path) -> tuple[Any, ...]:
    mock, url = rt.start_mock(args.latency_ms, env, args.mock_workers)
    try:
        items = write_task(work, url, args.mode, args.shots, args.parallel, args.subjects)
        runner: list[float] = []
        bare: list[float] = []
        for _ in range(args.repeat):
            runner.append(rt.run_runner(work, env))
            bare.append(run_bare(work, url, args.parallel, env))
        return items, runner, bare
    finally:
        mock.terminate()
        mock.wait(timeout=10)


def time_load(work: Path, mode: str, shots: int, subjects: int) -> float:
    """Seconds the runner spends turning the mirror into items (in this process)."""
    from modeleval.benchmarks import get_benchmark
    from modeleval.runner.benchmark_data import load_benchmark_items
    from modeleval.runner.config import BenchmarkRun, BenchmarkSource

    names = tuple(s.name for s in get_benchmark("mmlu").subsets[:subjects])
    source = BenchmarkSource("dir", path=str(work / "mirror"))
    run = BenchmarkRun("mmlu", mode, source, names, shots)
    began = time.perf_counter()
    load_benchmark_items(run)
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=["loglikelihood", "generate"], default="loglikelihood")
    parser.add_argument("--shots", type=int, default=0)
    parser.add_argument("--parallel", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--mock-workers", type=int, default=max(1, min(4, (os.cpu_count() or 2) - 2))
    )
    parser.add_argument("--pin", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--subjects", type=int, default=57, help="MMLU subjects (35 items each)")
    parser.add_argument("--skip-qa", action="store_true", help="only the benchmark run")
    args = parser.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    rt.choose_pinning(args.pin)
    with tempfile.TemporaryDirectory(prefix="modeleval-bench-") as tmp:
        work = Path(tmp)
        build_mirror(work / "mirror", args.subjects)
        status = rt.StatusEndpoint()
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
        warm = argparse.Namespace(**{**vars(args), "repeat": 1, "latency_ms": 0})
        measure(warm, env, work)  # bytecode and page cache
        load = min(time_load(work, args.mode, args.shots, args.subjects) for _ in range(3))
        items, runner, bare = measure(args, env, work)
        ideal = math.ceil(items / args.parallel) * args.latency_ms / 1000
        best, floor = min(runner), min(bare)
        print(
            f"MMLU {args.mode}, {args.shots}-shot: N={items} P={args.parallel} "
            f"L={args.latency_ms:g} ms (mock server: {args.mock_workers} processes, pinned: "
            f"{rt.CPU_SETS or 'no'})"
        )
        print(f"  runner, whole process : {best:.3f} s  (runs: {rt.fmt(runner)})")
        print(f"  bare benchmark client : {floor:.3f} s  (runs: {rt.fmt(bare)})")
        print(f"  ideal ceil(N/P)*L     : {ideal:.3f} s")
        print(f"  runner / bare client  : {best / floor:.2f}x")
        files = 2 * args.subjects
        print(f"  of which reading the {files} parquet files and rendering: {load:.3f} s")
        if not args.skip_qa:
            mock_workers = args.mock_workers
            qa_runner, qa_bare = rt.measure(
                args.latency_ms, items, args.parallel, env, work, args.repeat, mock_workers
            )
            qa = min(qa_runner) / min(qa_bare)
            print(
                f"  plain QA, same N/P/L  : runner {min(qa_runner):.3f} s, bare "
                f"{min(qa_bare):.3f} s, runner / bare client {qa:.2f}x"
            )
            print(f"  benchmark ratio / QA ratio: {best / floor / qa:.2f}")
        status.server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
