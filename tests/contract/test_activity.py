"""``ExecutionStore.activity``: the unfinished records by state, the waits, the timers due (every backend)."""

from __future__ import annotations

import dataclasses

from mistral_core.engine.ports import ExecutionStore
from mistral_core.model import State
from tests.contract.conftest import Records


def test_an_empty_store_has_no_activity(store: ExecutionStore, rec: type[Records]) -> None:
    activity = store.activity(rec.at(0))
    assert (activity.workflows, activity.tasks, activity.actions) == ({}, {}, {})
    assert (activity.waits, activity.oldest_wait) == (0, None)
    assert (activity.timers_due, activity.oldest_due) == (0, None)


def test_unfinished_records_are_counted_by_state_and_finished_ones_not(
    store: ExecutionStore, rec: type[Records]
) -> None:
    running, paused, done = rec.wf(), rec.wf(state=State.PAUSED), rec.wf(state=State.SUCCESS)
    for wf_ex in (running, paused, done):
        store.insert(wf_ex)
    t1, t2 = rec.task(running, "t1"), rec.task(running, "t2", state=State.WAITING)
    t3, t4 = rec.task(paused, "t3", state=State.SUCCESS), rec.task(done, "t4", state=State.SUCCESS)
    for task in (t1, t2, t3, t4):
        store.insert(task)
    store.insert(rec.action(t1, is_sync=True, created_at=rec.at(5)))
    store.insert(rec.action(t1, name="std.async_noop", is_sync=False, created_at=rec.at(20)))
    paused_wait = rec.action(t2, name="std.async_noop", is_sync=False, created_at=rec.at(10))
    store.insert(dataclasses.replace(paused_wait, state=State.PAUSED))
    store.insert(rec.action(t3, state=State.SUCCESS, created_at=rec.at(1)))
    store.insert(rec.action(None, name="std.echo", state=State.ERROR, created_at=rec.at(0)))
    activity = store.activity(rec.at(100))
    assert activity.workflows == {"RUNNING": 1, "PAUSED": 1}
    assert activity.tasks == {"RUNNING": 1, "WAITING": 1}
    assert activity.actions == {("RUNNING", True): 1, ("RUNNING", False): 1, ("PAUSED", False): 1}
    assert activity.waits == 2
    assert activity.oldest_wait == rec.at(10)


def test_timers_due_are_counted_with_the_earliest(store: ExecutionStore, rec: type[Records]) -> None:
    for seconds in (30, 10, 20, 500):
        store.insert_timer(rec.timer(seconds))
    claimed = dataclasses.replace(rec.timer(40), claimed_by="engine-1")
    store.insert_timer(claimed)
    activity = store.activity(rec.at(100))
    assert (activity.timers_due, activity.oldest_due) == (4, rec.at(10))
