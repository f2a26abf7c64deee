"""How a phase process ends, for all three phases (infer, score, perf).

Exit codes: ``EXIT_OK`` (0) done; ``EXIT_FAILED`` (1) failed, the reason logged and written
to the termination log, which Kubernetes shows in the pod status; ``EXIT_STOPPED`` (143)
stopped by SIGTERM before finishing, with the checkpoint flushed, so a Job never marks a
partial run complete and a retried pod resumes where this one stopped.
"""

from __future__ import annotations

import logging
import os
import sys

from modeleval.redact import mask

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_STOPPED = 143

TERMINATION_LOG = "/dev/termination-log"
"""Where the pod's ``terminationMessagePath`` points (``$MODELEVAL_TERMINATION_LOG`` overrides)."""


def write_termination_message(message: str) -> None:
    """Kubernetes shows this file's content in the pod status (``terminationMessagePath``)."""
    path = os.environ.get("MODELEVAL_TERMINATION_LOG", TERMINATION_LOG)
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(mask(message)[:4000])
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
