"""``python -m modeleval.runner infer|score|perf`` — the process a phase Job runs.

Exit codes: 0 done; 1 failed (error budget exceeded, bad dataset, bad task file; the reason is
logged and written to the termination log); 143 stopped by SIGTERM before finishing (the
checkpoint is flushed, so a retried pod resumes where this one stopped).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_STOPPED = 143

log = logging.getLogger("modeleval.runner")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modeleval.runner")
    parser.add_argument("phase", choices=["infer", "score", "perf"])
    parser.add_argument("--task-file", help="default: $MODELEVAL_TASK_FILE")
    parser.add_argument("--results-dir", help="default: $MODELEVAL_RESULTS_DIR")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("MODELEVAL_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    serve_metrics(os.environ.get("MODELEVAL_METRICS_PORT"))
    if args.phase == "score":
        from modeleval.scoring.phase import main as score_main

        return int(score_main(args.task_file, args.results_dir))
    from modeleval.runner.phases import PhaseError, run_phase

    try:
        with asyncio.Runner(loop_factory=fast_loop_factory()) as runner:
            return runner.run(run_phase(args.phase, args.task_file, args.results_dir, _stop_event))
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


def _stop_event() -> asyncio.Event:
    """An event set by SIGTERM / SIGINT (installed in the running loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        log.warning("%s received: finishing requests in flight, then exiting", sig.name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    return stop


def write_termination_message(message: str) -> None:
    """Kubernetes shows this file's content in the pod status (terminationMessagePath)."""
    path = os.environ.get("MODELEVAL_TERMINATION_LOG", "/dev/termination-log")
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(message[:4000])
    except OSError:
        pass


def exit_now(code: int) -> None:
    """End the process without the interpreter's teardown.

    Called once the phase is over: its files are closed and synced, its uploads done. Freeing
    every object one by one would only delay the pod's exit (about 0.1 s).
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
