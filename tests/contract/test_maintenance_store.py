"""The maintenance mode in every store: read as RUNNING before it is ever set, changed only by
compare and set (also between processes), and the executions it paused, kept in order."""

from __future__ import annotations

import threading

import pytest

from mistral_core.engine.ports import ExecutionStore
from mistral_core.model import State
from tests.contract.conftest import Records as R


def test_a_new_store_is_running(store: ExecutionStore) -> None:
    mode = store.maintenance_mode()

    assert (mode.id, mode.status, mode.changed_by, mode.created_at) == ("mode", "RUNNING", "", None)


def test_the_mode_changes_only_from_an_expected_one(store: ExecutionStore) -> None:
    assert store.change_maintenance_mode("PAUSING", ("RUNNING",), "ana")
    assert not store.change_maintenance_mode("PAUSING", ("RUNNING",), "bob")  # not RUNNING any more
    assert not store.change_maintenance_mode("PAUSED", ("RUNNING",), "bob")
    mode = store.maintenance_mode()
    assert (mode.status, mode.changed_by) == ("PAUSING", "ana")
    assert mode.created_at is not None

    assert store.change_maintenance_mode("PAUSED", ("PAUSING",), "")
    assert store.change_maintenance_mode("RUNNING", ("PAUSING", "PAUSED"), "bob")
    assert store.maintenance_mode().status == "RUNNING"


def test_a_change_in_a_transaction_that_fails_is_undone(store: ExecutionStore) -> None:
    with pytest.raises(RuntimeError), store.atomic():
        assert store.change_maintenance_mode("PAUSING", ("RUNNING",), "ana")
        store.add_maintenance_pause("e1")
        raise RuntimeError("rolled back")

    assert store.maintenance_mode().status == "RUNNING"
    assert store.maintenance_pauses(10) == []


def test_pauses_are_kept_once_in_order_and_forgotten(store: ExecutionStore) -> None:
    for wf_ex_id in ("e3", "e1", "e2", "e1"):
        store.add_maintenance_pause(wf_ex_id)

    assert store.maintenance_pauses(10) == ["e3", "e1", "e2"]
    assert store.maintenance_pauses(2) == ["e3", "e1"]
    store.delete_maintenance_pause("e1")
    store.delete_maintenance_pause("unknown")
    assert store.maintenance_pauses(10) == ["e3", "e2"]


def test_of_many_asking_at_once_exactly_one_changes_the_mode(store: ExecutionStore) -> None:
    won: list[bool] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        won.append(store.change_maintenance_mode("PAUSING", ("RUNNING",), threading.current_thread().name))
        store.close()

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(won) == [False] * 7 + [True]


def test_a_running_synchronous_action_is_seen_and_an_async_wait_is_not(store: ExecutionStore) -> None:
    wf = R.wf()
    task = R.task(wf)
    store.insert(wf)
    store.insert(task)
    assert not store.sync_action_running()
    store.insert(R.action(task, is_sync=False))
    assert not store.sync_action_running()
    store.insert(R.action(task, state=State.SUCCESS))
    assert not store.sync_action_running()
    store.insert(R.action(task))
    assert store.sync_action_running()
