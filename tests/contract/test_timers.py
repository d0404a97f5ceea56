"""Durable timers: claimed oldest due first, by one claimer at a time, until the lease expires."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from typing import Any

import pytest

from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import StoreError
from mistral_core.model import Timer


def claim(
    store: ExecutionStore, rec: Any, at: float, owner: str = "e1", lease: float = 30, limit: int = 100
) -> list[Timer]:
    """Claim the timers due ``at`` seconds after the origin, for ``lease`` seconds."""
    return store.claim_due_timers(rec.at(at), owner, rec.at(at + lease), limit)


def test_a_claimed_timer_comes_back_whole(store: ExecutionStore, rec: Any) -> None:
    timer = rec.timer(
        5,
        kind="retry",
        workflow_execution_id=rec.new_id(),
        payload={"retry_no": 2, "ünï": [None, 1.5]},
        created_at=rec.at(0),
    )
    store.insert_timer(timer)
    claimed = claim(store, rec, 5, owner="engine-a", lease=60)
    assert claimed == [dataclasses.replace(timer, claimed_by="engine-a", claimed_until=rec.at(65))]


def test_created_at_defaults_to_now(store: ExecutionStore, rec: Any) -> None:
    store.insert_timer(rec.timer(0))
    (claimed,) = claim(store, rec, 0)
    assert claimed.created_at is not None


def test_only_due_timers_are_claimed_oldest_first(store: ExecutionStore, rec: Any) -> None:
    timers = [rec.timer(seconds, target_id=f"t{seconds}") for seconds in (7, 3, 9, 1, 5)]
    for timer in timers:
        store.insert_timer(timer)
    assert [t.target_id for t in claim(store, rec, 6)] == ["t1", "t3", "t5"]
    assert claim(store, rec, 6) == []
    assert [t.target_id for t in claim(store, rec, 9)] == ["t7", "t9"]


def test_due_at_now_is_due(store: ExecutionStore, rec: Any) -> None:
    store.insert_timer(rec.timer(5))
    assert claim(store, rec, 4.999999) == []
    assert len(claim(store, rec, 5)) == 1


def test_equal_due_times_are_claimed_in_insertion_order(store: ExecutionStore, rec: Any) -> None:
    for i in range(6):
        store.insert_timer(rec.timer(1, target_id=f"t{i}"))
    assert [t.target_id for t in claim(store, rec, 1, limit=4)] == ["t0", "t1", "t2", "t3"]
    assert [t.target_id for t in claim(store, rec, 1, limit=4)] == ["t4", "t5"]


def test_limit(store: ExecutionStore, rec: Any) -> None:
    for i in range(5):
        store.insert_timer(rec.timer(i))
    assert claim(store, rec, 10, limit=0) == []
    assert len(claim(store, rec, 10, limit=2)) == 2
    assert len(claim(store, rec, 10, limit=2)) == 2
    assert len(claim(store, rec, 10, limit=2)) == 1


def test_an_expired_lease_is_claimed_again(store: ExecutionStore, rec: Any) -> None:
    timer = rec.timer(0)
    store.insert_timer(timer)
    assert [t.claimed_by for t in claim(store, rec, 0, owner="e1", lease=30)] == ["e1"]
    assert claim(store, rec, 10, owner="e2") == []
    assert claim(store, rec, 30, owner="e2") == []  # the lease runs until 30 inclusive
    again = claim(store, rec, 31, owner="e2", lease=30)
    assert again == [
        dataclasses.replace(timer, claimed_by="e2", claimed_until=rec.at(61), created_at=again[0].created_at)
    ]


def test_delete_while_claimed(store: ExecutionStore, rec: Any) -> None:
    timer = rec.timer(0)
    store.insert_timer(timer)
    (claimed,) = claim(store, rec, 0, owner="e1")
    assert store.delete_timer(timer.id) is True  # the task finished: its timeout goes
    assert store.delete_timer(claimed.id) is False  # the claimer finds it gone
    assert claim(store, rec, 100, owner="e2") == []
    assert store.count_timers() == 0


def test_delete_timers_of_a_target(store: ExecutionStore, rec: Any) -> None:
    for kind in ("timeout", "retry", "timeout"):
        store.insert_timer(rec.timer(1, kind=kind, target_id="task-1"))
    other = rec.timer(1, target_id="task-2")
    store.insert_timer(other)
    claim(store, rec, 1, limit=1)
    assert store.delete_timers("task-1", kind="timeout") == 2
    assert store.delete_timers("task-1", kind="timeout") == 0
    assert store.delete_timers("task-1") == 1
    assert store.delete_timers("nothing") == 0
    assert [t.id for t in claim(store, rec, 50)] == [other.id]


def test_next_due_and_count(store: ExecutionStore, rec: Any) -> None:
    assert store.next_timer_due() is None
    assert store.count_timers() == 0
    store.insert_timer(rec.timer(8))
    store.insert_timer(rec.timer(2))
    claim(store, rec, 2)
    assert store.next_timer_due() == rec.at(2)  # claimed timers are still pending
    assert store.count_timers() == 2


def test_a_duplicate_id_is_refused(store: ExecutionStore, rec: Any) -> None:
    timer = rec.timer(1)
    store.insert_timer(timer)
    with pytest.raises(StoreError):
        store.insert_timer(dataclasses.replace(timer, kind="retry"))
    assert store.count_timers() == 1


class Boom(Exception):
    """Raised inside a transaction to make it roll back."""


def test_timer_writes_roll_back_with_the_transaction(store: ExecutionStore, rec: Any) -> None:
    kept, added = rec.timer(1), rec.timer(2)
    store.insert_timer(kept)
    with pytest.raises(Boom), store.atomic():
        store.insert_timer(added)
        assert store.delete_timer(kept.id)
        raise Boom()
    assert [t.id for t in claim(store, rec, 10)] == [kept.id]


CLAIMERS, TIMERS, BATCH = 8, 240, 7


def test_concurrent_claimers_claim_each_timer_once(store: ExecutionStore, rec: Any) -> None:
    for i in range(TIMERS):
        store.insert_timer(rec.timer(i % 13, target_id=f"t{i}"))
    claims: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(CLAIMERS)

    def claimer(owner: str) -> None:
        got = claims.setdefault(owner, [])
        try:
            start.wait(10)
            while batch := claim(store, rec, 20, owner=owner, limit=BATCH):
                assert all(t.claimed_by == owner for t in batch)
                got.extend(t.target_id for t in batch)
        except BaseException as exc:  # collected and re-raised by the test thread
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=claimer, args=(f"e{n}",)) for n in range(CLAIMERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    counts = Counter(target for got in claims.values() for target in got)
    assert sorted(counts) == sorted(f"t{i}" for i in range(TIMERS))
    assert set(counts.values()) == {1}
