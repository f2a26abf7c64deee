"""EvalTasks at fleet scale: what the operator keeps per task, and the one safety-net sweep.

The operator is watch-driven: a task is reconciled when it changes, when one of its Jobs
changes and when a service group it targets changes; Kopf lists every object again whenever a
watch restarts, so a lost event is replayed. What remains is a safety net for the rare change
nobody announces (a Job status the watch never delivered), and it must not grow with the
fleet: instead of a timer per task (10,000 tasks = 10,000 timers, each reading its task and
Jobs every minute), one sweep walks the unfinished tasks that no trigger reconciled for
``MODELEVAL_POLL_SECONDS x SWEEP_FACTOR`` (60 s by default), at most ``SWEEP_RATE`` per second,
round after round. The API load of the sweep is therefore bounded whatever the number of tasks
(and nil while events keep every task fresh), and a finished task is not in it at all: it
costs no request, no timer and no memory beyond Kopf's own watch cache.

What the operator remembers per task lives only as long as the task is unfinished: the set
the sweep walks, the once-only Events (:class:`~modeleval.handlers.once.OnceEvents`), the
per-task lock (:class:`~modeleval.handlers.locks.KeyedLocks`, held only while reconciling).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import kopf

from modeleval import constants as c
from modeleval.handlers.evaltask import POSTED_EVENTS, is_done, reconcile
from modeleval.handlers.once import ACTIVE
from modeleval.metrics import forget, time_reconcile
from modeleval.settings import SETTINGS

log = logging.getLogger(__name__)

HANDLER_TRACK = "evaltask-track"
HANDLER_RESYNC = "evaltask-resync"
SWEEP_FACTOR = 12
"""A sweep starts at most every SWEEP_FACTOR x MODELEVAL_POLL_SECONDS (60 s by default)."""
SWEEP_RATE = 10.0
"""Reconciles per second the sweep does at most (its whole API load, any fleet size)."""


@kopf.on.event(c.GROUP, c.VERSION, c.EVAL_TASK_PLURAL, id=HANDLER_TRACK)
async def on_task_event(
    *, type: str | None, namespace: str | None, name: str, body: kopf.Body, **_: Any
) -> None:
    """Keep the sweep's set and the per-task memory to the unfinished tasks (in the loop:
    cheap). A deleted or finished task is forgotten: gauge, once-only Events, sweep."""
    ns = namespace or ""
    done = type == "DELETED" or is_done(body.get("status") or {}, body.get("metadata") or {})
    ACTIVE.update(ns, name, active=not done)
    if done:
        POSTED_EVENTS.forget(ns, name)
    if type == "DELETED":
        forget(c.EVAL_TASK_KIND, ns, name)


def sweep_interval() -> float:
    return SETTINGS.poll_seconds * SWEEP_FACTOR


async def sweep_forever(interval: float, rate: float = SWEEP_RATE) -> None:
    """Reconcile every unfinished task that no trigger reconciled for ``interval`` seconds,
    ``rate`` per second at most, round after round."""
    gap = 1.0 / rate
    while True:
        started = asyncio.get_running_loop().time()
        for namespace, name in ACTIVE.stale(interval):
            try:
                with time_reconcile(kind=c.EVAL_TASK_KIND, handler=HANDLER_RESYNC):
                    await asyncio.to_thread(reconcile, namespace, name)
            except Exception as exc:  # the next round tries again; events go on meanwhile
                log.warning("resync of %s/%s failed: %s", namespace, name, exc)
            await asyncio.sleep(gap)
        spent = asyncio.get_running_loop().time() - started
        await asyncio.sleep(max(gap, interval - spent))


_SWEEP: list[asyncio.Task[None]] = []


@kopf.on.startup(id="evaltask-sweep-start")
async def start_sweep(**_: Any) -> None:
    """Start the sweep in Kopf's loop (one for the whole operator)."""
    _SWEEP.append(asyncio.create_task(sweep_forever(sweep_interval()), name="evaltask-sweep"))


@kopf.on.cleanup(id="evaltask-sweep-stop")
async def stop_sweep(**_: Any) -> None:
    while _SWEEP:
        task = _SWEEP.pop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
