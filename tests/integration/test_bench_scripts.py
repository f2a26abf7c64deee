"""Every script under bench/ still runs end to end (tiny sizes; the figures are not judged).

The benchmarks are run by hand on an idle machine (docs/benchmarks.md); this keeps them from
rotting between those runs. A verdict exit code (1: a target not met at these sizes on a busy
machine) is accepted, a crash (a traceback, or any other code) is not.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "bench"

CASES = {
    "runner_throughput.py": (
        ["--items", "120", "--parallel", "8", "--latency-ms", "5", "--repeat", "1"],
        ["runner, whole process", "bare aiohttp process", "runner / ideal", "L=0:"],
    ),
    "runner_throughput.py --local-run": (
        ["--items", "120", "--parallel", "8", "--latency-ms", "5", "--repeat", "1", "--local-run"],
        ["modeleval run, whole process", "modeleval run - bare client", "L=0:"],
    ),
    "scoring_startup.py": (["--repeat", "1"], ["interpreter", "score phase (accuracy)"]),
    "perf_measurement.py": (
        ["--ttft-ms", "20", "--itl-ms", "2", "--tokens", "5", "--levels", "1,4", "--requests", "8"],
        ["level  ttft p50", "worst TTFT/ITL median error"],
    ),
    "scoring_throughput.py": (["--items", "300"], ["scoring     :", "items/s"]),
    "benchmark_throughput.py": (
        ["--subjects", "3", "--parallel", "8", "--latency-ms", "5", "--repeat", "1"],
        ["runner, whole process", "bare benchmark client", "plain QA", "benchmark ratio"],
    ),
    "operator_reconcile.py": (
        ["--tasks", "5,10", "--namespaces", "2", "--timeout", "120"],
        ["tasks applied: 5 in 2 namespace(s)", "RSS", "requests/task", "growth 5 -> 10"],
    ),
    "runner_memory.py": (
        ["--items", "300,600", "--send", "200"],
        ["infer MB", "score MB", "peak RSS"],
    ),
    "runner_scaleout.py": (
        ["--items", "64", "--parallel", "4", "--latency-ms", "5", "--repeat", "1"],
        ["4 shards / (1 shard / 4)", "both / slower alone", "targets:"],
    ),
    "console_throughput.py": (
        ["--items", "300", "--tasks", "50", "--repeat", "2"],
        ["ingest      :", "task list   :", "item page   :", "verdict:"],
    ),
    "emulator_throughput.py": (
        ["--objects", "20", "--updates", "2", "--watchers", "1"],
        ["latency: p50", "last 10% / first 10%"],
    ),
}


@pytest.mark.parametrize("script", sorted(CASES))
def test_bench_script_runs(script: str) -> None:
    args, expected = CASES[script]
    done = subprocess.run(
        [sys.executable, str(BENCH / script.split()[0]), *args],
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = done.stdout + done.stderr
    assert done.returncode in (0, 1), out
    assert "Traceback" not in out, out
    for fragment in ["command", *expected]:
        assert fragment in out, f"{fragment!r} missing from the output of {script}:\n{out}"


def test_every_bench_script_is_exercised() -> None:
    clients = {"bare_client.py", "bare_benchmark_client.py"}  # run by the throughput scripts
    helpers = {"mockproc.py"}  # imported by the runner scripts
    scripts = {p.name for p in BENCH.glob("*.py")} - clients - helpers
    assert scripts == {case.split()[0] for case in CASES}
