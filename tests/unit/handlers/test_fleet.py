"""What the operator keeps per task at fleet scale: only unfinished tasks, swept only when no
trigger reconciled them lately; finished tasks are never read again."""

from __future__ import annotations

import asyncio

import kopf
import pytest

from modeleval.handlers import evaltask, evaltask_fleet
from modeleval.handlers.once import ActiveTasks


def test_only_tasks_left_alone_are_stale() -> None:
    active = ActiveTasks()
    active.update("ns", "a", active=True)
    active.update("ns", "b", active=True)
    assert active.stale(1000) == []
    assert sorted(active.stale(0)) == [("ns", "a"), ("ns", "b")]
    active.update("ns", "a", active=False)
    active.touch("ns", "gone")  # a reconcile of a task the watch does not list: not added
    assert active.stale(0) == [("ns", "b")] and len(active) == 1


def test_a_finished_task_is_done_until_its_spec_changes() -> None:
    done = {"state": "Succeeded", "observedGeneration": 3}
    assert evaltask.is_done(done, {"generation": 3})
    assert not evaltask.is_done(done, {"generation": 4})
    assert not evaltask.is_done({"state": "Stopped", "observedGeneration": 3}, {"generation": 3})


async def test_task_events_keep_only_unfinished_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    active = ActiveTasks()
    monkeypatch.setattr(evaltask_fleet, "ACTIVE", active)
    evaltask.POSTED_EVENTS.add("ns", "t", "dropped-1")
    running = kopf.Body({"metadata": {"generation": 1}, "status": {"state": "Running"}})
    await evaltask_fleet.on_task_event(type="MODIFIED", namespace="ns", name="t", body=running)
    assert len(active) == 1
    finished = kopf.Body(
        {"metadata": {"generation": 1}, "status": {"state": "Failed", "observedGeneration": 1}}
    )
    await evaltask_fleet.on_task_event(type="MODIFIED", namespace="ns", name="t", body=finished)
    assert len(active) == 0 and not evaltask.POSTED_EVENTS.seen("ns", "t", "dropped-1")


async def test_the_sweep_visits_stale_tasks_at_its_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    active = ActiveTasks()
    for name in ("a", "b", "c"):
        active.update("ns", name, active=True)
    monkeypatch.setattr(evaltask_fleet, "ACTIVE", active)
    visited: list[str] = []
    monkeypatch.setattr(evaltask_fleet, "reconcile", lambda ns, name: visited.append(name))
    sweep = asyncio.create_task(evaltask_fleet.sweep_forever(interval=0, rate=20))
    await asyncio.sleep(0.12)
    sweep.cancel()
    assert 1 <= len(visited) <= 4  # 20 per second: not all at once
