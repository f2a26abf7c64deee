"""``python -m modeleval_testkit.mockserver --port P [options]``: serve until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

from modeleval_testkit.mockserver.answers import load_answers, load_rules
from modeleval_testkit.mockserver.config import (
    FaultKind,
    FaultSettings,
    MockSettings,
    ServerFlavour,
)
from modeleval_testkit.mockserver.server import MockModelServer


def parse_args(argv: Sequence[str] | None = None) -> MockSettings:
    p = argparse.ArgumentParser(prog="python -m modeleval_testkit.mockserver", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--model", default="mock-model", help="model id served")
    p.add_argument("--latency-ms", type=float, default=0.0, help="fixed latency per request")
    p.add_argument("--ttft-ms", type=float, default=0.0, help="streaming: time to first token")
    p.add_argument("--itl-ms", type=float, default=0.0, help="streaming: inter-token delay")
    p.add_argument("--capacity", type=int, default=0, help="requests served at once (0: no limit)")
    p.add_argument("--output-tokens", type=int, default=None, help="pad/cut answers to N tokens")
    p.add_argument("--answers", help="JSON file: {prompt: answer} or [{input, answer}]")
    p.add_argument("--rules", help="JSON file: [{pattern, reply}] regex rules (judge mode)")
    p.add_argument("--default-mode", choices=["echo", "hash"], default="echo")
    p.add_argument("--live-path", default="/health")
    p.add_argument("--ready-path", default="/ready")
    p.add_argument("--startup-delay-s", type=float, default=0.0, help="sleep before listening")
    p.add_argument("--ready-delay-s", type=float, default=0.0, help="answer 503 on ready path")
    p.add_argument(
        "--crash-on-start",
        type=int,
        default=None,
        metavar="CODE",
        help="exit with CODE after the startup delay",
    )
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument(
        "--fault-kinds",
        default="500,429",
        help="comma list of: " + ",".join(k.value for k in FaultKind),
    )
    p.add_argument("--fault-seed", type=int, default=0)
    p.add_argument("--retry-after-s", type=float, default=1.0)
    p.add_argument("--hang-s", type=float, default=3600.0)
    p.add_argument("--faults-by-item", help='JSON file: {"item-id": ["500", "429", "ok"]}')
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (needs --port; /mock/stats is per process)",
    )
    p.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    p.add_argument(
        "--flavour",
        choices=[f.value for f in ServerFlavour],
        default=ServerFlavour.GENERIC.value,
        help="behave like this make of server (error bodies, refused fields, stream framing)",
    )
    a = p.parse_args(argv)
    by_item: dict[str, list[FaultKind]] = {}
    if a.faults_by_item:
        with open(a.faults_by_item, encoding="utf-8") as fh:
            raw = json.load(fh)
        by_item = {str(k): [FaultKind(str(v)) for v in seq] for k, seq in raw.items()}
    faults = FaultSettings(
        rate=a.fault_rate,
        kinds=tuple(FaultKind(k.strip()) for k in a.fault_kinds.split(",") if k.strip()),
        seed=a.fault_seed,
        retry_after_s=a.retry_after_s,
        hang_s=a.hang_s,
        by_item=by_item,
    )
    return MockSettings(
        host=a.host,
        port=a.port,
        model=a.model,
        latency_s=a.latency_ms / 1000,
        ttft_s=a.ttft_ms / 1000,
        itl_s=a.itl_ms / 1000,
        capacity=a.capacity,
        output_tokens=a.output_tokens,
        answers=load_answers(a.answers) if a.answers else {},
        rules=load_rules(a.rules) if a.rules else [],
        default_mode=a.default_mode,
        live_path=a.live_path,
        ready_path=a.ready_path,
        startup_delay_s=a.startup_delay_s,
        ready_delay_s=a.ready_delay_s,
        crash_on_start=a.crash_on_start,
        faults=faults,
        reuse_port=a.reuse_port or a.workers > 1,
        flavour=ServerFlavour(a.flavour),
    )


def spawn_workers(argv: Sequence[str], workers: int) -> list[subprocess.Popen[bytes]]:
    """Extra processes serving the same port (SO_REUSEPORT); each keeps its own stats."""
    args: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            args.append(arg)
    cmd = [
        sys.executable,
        "-m",
        "modeleval_testkit.mockserver",
        *args,
        "--workers=1",
        "--reuse-port",
    ]
    return [subprocess.Popen(cmd, stdout=subprocess.DEVNULL) for _ in range(workers - 1)]


async def serve(settings: MockSettings) -> None:
    server = MockModelServer(settings)
    await server.start()
    print(f"mock model server listening on {server.base_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    settings = parse_args(argv)
    workers = _workers(argv)
    if settings.crash_on_start is not None:
        time.sleep(settings.startup_delay_s)
        print(
            f"mock model server: crashing on start (exit {settings.crash_on_start})",
            file=sys.stderr,
            flush=True,
        )
        return settings.crash_on_start
    children = spawn_workers(argv, workers) if workers > 1 else []
    try:
        _run(settings)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)
    return 0


def _workers(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--workers", type=int, default=1)
    return int(parser.parse_known_args(argv)[0].workers)


def _run(settings: MockSettings) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(settings))
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(serve(settings))


if __name__ == "__main__":
    sys.exit(main())
