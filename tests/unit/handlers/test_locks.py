"""KeyedLocks: one holder per key at a time, and no entry kept for a key nobody holds or waits
for (a long-running operator must not keep a lock for every object it has ever seen)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from modeleval.handlers.locks import KeyedLocks

WAIT_S = 5.0
"""How long a step that must happen may take (it takes microseconds)."""
BLOCKED_S = 0.2
"""How long a thread that must not get through is watched."""


@contextmanager
def holder(locks: KeyedLocks, *key: str) -> Iterator[tuple[threading.Event, threading.Event]]:
    """A thread that holds ``key`` until told to let go: (inside, let_go)."""
    inside, let_go = threading.Event(), threading.Event()

    def hold() -> None:
        with locks.hold(*key):
            inside.set()
            assert let_go.wait(WAIT_S)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        yield inside, let_go
    finally:
        let_go.set()
        thread.join(WAIT_S)
        assert not thread.is_alive()


def test_the_key_is_gone_after_use() -> None:
    locks = KeyedLocks()
    with locks.hold("ns", "a"):
        assert len(locks) == 1
    assert len(locks) == 0


def test_the_key_is_gone_when_the_holder_raises() -> None:
    locks = KeyedLocks()
    with pytest.raises(RuntimeError), locks.hold("ns", "a"):
        raise RuntimeError("handler failed")
    assert len(locks) == 0
    with locks.hold("ns", "a"):  # and the key can be held again
        pass


def test_while_one_thread_holds_a_key_another_waits() -> None:
    locks = KeyedLocks()
    with holder(locks, "ns", "a") as (first_in, first_go):
        assert first_in.wait(WAIT_S)
        with holder(locks, "ns", "a") as (second_in, _):
            assert not second_in.wait(BLOCKED_S)
            first_go.set()
            assert second_in.wait(WAIT_S)  # it gets in once the key is let go


def test_other_keys_do_not_wait() -> None:
    locks = KeyedLocks()
    with locks.hold("ns", "a"), holder(locks, "ns", "b") as (inside, _):
        assert inside.wait(WAIT_S)
        assert len(locks) == 2
    assert len(locks) == 0


def test_with_two_holders_the_entry_stays_until_both_let_go() -> None:
    locks = KeyedLocks()
    with holder(locks, "ns", "a") as (first_in, first_go):
        assert first_in.wait(WAIT_S)
        with holder(locks, "ns", "a") as (second_in, second_go):
            assert not second_in.wait(BLOCKED_S)  # waiting: a user of the entry too
            assert len(locks) == 1
            first_go.set()
            assert second_in.wait(WAIT_S)
            assert len(locks) == 1  # the first let go, the second still holds
            second_go.set()
    assert len(locks) == 0


def test_many_keys_used_from_many_threads_leave_no_entry() -> None:
    locks = KeyedLocks()
    inside: Counter[str] = Counter()
    overlaps: list[str] = []
    guard = threading.Lock()

    def use(n: int) -> None:
        key = f"task-{n % 97}"
        with locks.hold("ns", key):
            with guard:
                inside[key] += 1
                if inside[key] > 1:
                    overlaps.append(key)
            with guard:
                inside[key] -= 1

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(use, range(5000)))
    assert overlaps == []
    assert len(locks) == 0
