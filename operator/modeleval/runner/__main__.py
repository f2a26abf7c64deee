"""``python -m modeleval.runner infer|judge|score|perf|manual`` — the process a phase Job runs.

Exit codes and the termination message: :mod:`modeleval.runner.exits`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from modeleval.redact import mask_streams
from modeleval.runner.exits import EXIT_FAILED, exit_now, write_termination_message

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

log = logging.getLogger("modeleval.runner")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modeleval.runner")
    parser.add_argument("phase", choices=["infer", "judge", "score", "perf", "manual"])
    parser.add_argument("--task-file", help="default: $MODELEVAL_TASK_FILE")
    parser.add_argument("--results-dir", help="default: $MODELEVAL_RESULTS_DIR")
    args = parser.parse_args(argv)
    mask_streams()  # Secret values never reach the log, whatever prints them
    logging.basicConfig(
        level=os.environ.get("MODELEVAL_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    serve_metrics(os.environ.get("MODELEVAL_METRICS_PORT"))
    if args.phase == "score":
        from modeleval.runner.score import main as score_main

        return int(score_main(args.task_file, args.results_dir))
    if args.phase == "judge":
        from modeleval.runner.judge_phase import main as judge_main

        return int(judge_main(args.task_file, args.results_dir))
    if args.phase == "manual":
        from modeleval.runner.manual import main as manual_main

        return int(manual_main(args.task_file, args.results_dir))
    from modeleval.runner.phases import PhaseError, run_phase

    try:
        with asyncio.Runner(loop_factory=fast_loop_factory()) as runner:
            return runner.run(
                run_phase(args.phase, args.task_file, args.results_dir, signal_stop_event)
            )
    except PhaseError as exc:
        log.error("%s", exc)
        write_termination_message(str(exc))
        return EXIT_FAILED


def serve_metrics(port: str | None) -> WSGIServer | None:
    """Serve Prometheus ``/metrics`` while the Job runs, when ``MODELEVAL_METRICS_PORT`` is set.

    Unset or 0: no endpoint (the default: runner pods are short-lived), and no metrics are
    recorded at all. A bad value or a busy port is logged and the run goes on without it.
    Returns the server, if one started.
    """
    if not port or port.strip() == "0":
        return None
    try:
        from modeleval.metrics import start_metrics_server

        server, _ = start_metrics_server(int(port))
    except (ValueError, OSError) as exc:
        log.warning("metrics endpoint not started (MODELEVAL_METRICS_PORT=%s): %s", port, exc)
        return None
    from modeleval.runner import telemetry

    telemetry.enable()
    return server


def fast_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when installed (about half the CPU per request), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


class SignalStop(asyncio.Event):
    """Set by SIGTERM or SIGINT; ``signal`` says which came first."""

    signal: signal.Signals | None = None


def signal_stop_event() -> SignalStop:
    """An event set by SIGTERM / SIGINT (handlers installed in the running loop): the phase
    takes no new items, finishes the requests in flight and checkpoints them."""
    stop = SignalStop()
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        log.warning("%s received: finishing requests in flight, then exiting", sig.name)
        if stop.signal is None:
            stop.signal = sig
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    return stop


if __name__ == "__main__":
    exit_now(main())
