"""Performance-task measurement error against the mock server's known timings.

Starts the mock model server as its own process with a known time to first token, inter-token
delay and answer length, runs the runner's performance level (`run_level`) at several
concurrency levels, and prints measured TTFT / ITL / end-to-end medians, their error against
the configured values, and the request throughput against the server's capacity.

    python bench/perf_measurement.py [--ttft-ms 100] [--itl-ms 10] [--tokens 20]
                                     [--levels 1,8,32] [--requests 64] [--capacity 8]

Acceptance (issue 8): TTFT and ITL medians within 5 %; throughput within 5 % of capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import socket
import subprocess
import sys

from modeleval.runner.client import ClientSettings
from modeleval.runner.config import ModelRun
from modeleval.runner.payloads import ApiFlavour
from modeleval.runner.perf import summarize_level
from modeleval.runner.perf.phase import run_level


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_mock(args: argparse.Namespace, port: int) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "modeleval_testkit.mockserver",
        "--port",
        str(port),
        "--ttft-ms",
        str(args.ttft_ms),
        "--itl-ms",
        str(args.itl_ms),
        "--output-tokens",
        str(args.tokens),
    ]
    if args.capacity:
        cmd += ["--capacity", str(args.capacity)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    if b"listening" not in proc.stdout.readline():
        raise SystemExit("the mock server did not start")
    return proc


def _error(measured: float | None, expected: float) -> str:
    if measured is None:
        return "   n/a"
    return f"{(measured - expected) / expected * 100:+6.2f}%"


async def _measure(args: argparse.Namespace, url: str) -> int:
    model = ModelRun(
        name="m",
        url=url,
        model="mock",
        api=ApiFlavour.CHAT,
        client=ClientSettings(parallel=max(args.levels)),
    )
    expected_latency = args.ttft_ms + (args.tokens - 1) * args.itl_ms
    hold_s = expected_latency / 1000
    worst = worst_rps = 0.0
    print(
        f"{'level':>5} {'ttft p50':>9} {'err':>8} {'itl p50':>8} {'err':>8} "
        f"{'e2e p50':>8} {'err':>8} {'req/s':>8} {'expected':>9} {'err':>8}"
    )
    for level in args.levels:
        timings, wall = await run_level(
            model,
            ["benchmark prompt"],
            parallel=level,
            requests=args.requests,
            duration_s=None,
            output_tokens=None,
            stop=asyncio.Event(),
        )
        stats = summarize_level(level, timings, wall)
        ttft = stats.ttft["p50"] if stats.ttft else None
        itl = stats.itl["p50"] if stats.itl else None
        e2e = stats.latency["p50"] if stats.latency else None
        slots = min(level, args.capacity) if args.capacity else level
        expected_rps = slots / hold_s
        # Above capacity, each of `level` clients queues behind the others (FIFO): in steady
        # state a request waits (level / capacity - 1) answers before its first token.
        queued_ms = (level / slots - 1) * expected_latency
        expected_ttft = args.ttft_ms + queued_ms
        expected_e2e = expected_latency + queued_ms
        rps = stats.requests_per_second
        print(
            f"{level:>5} {ttft or 0:9.1f} {_error(ttft, expected_ttft)} {itl or 0:8.2f} "
            f"{_error(itl, args.itl_ms)} {e2e or 0:8.1f} {_error(e2e, expected_e2e)} "
            f"{rps or 0:8.1f} {expected_rps:9.1f} {_error(rps, expected_rps)}"
        )
        for measured, expected in ((ttft, expected_ttft), (itl, args.itl_ms)):
            if measured is not None:
                worst = max(worst, abs(measured - expected) / expected)
        if rps is not None:
            worst_rps = max(worst_rps, abs(rps - expected_rps) / expected_rps)
    print(
        f"worst TTFT/ITL median error: {worst * 100:.2f}%, worst throughput error: "
        f"{worst_rps * 100:.2f}% (targets <= 5%; above capacity TTFT includes the queueing)"
    )
    return 0 if worst <= 0.05 and worst_rps <= 0.05 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ttft-ms", type=float, default=100)
    parser.add_argument("--itl-ms", type=float, default=10)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument(
        "--levels", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 32]
    )
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument(
        "--capacity", type=int, default=8, help="requests the mock serves at once (0 = unlimited)"
    )
    args = parser.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    port = _free_port()
    proc = _start_mock(args, port)
    try:
        return asyncio.run(_measure(args, f"http://127.0.0.1:{port}/v1"))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    raise SystemExit(main())
