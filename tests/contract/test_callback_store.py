"""Callback token hashes and the history of pushes, on every backend."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import NotFoundError
from mistral_core.model import HistoryEntry, Query, State


def _entry(action_ex_id: str, rec: Any, seconds: float = 0, **fields: Any) -> HistoryEntry:
    base = HistoryEntry(
        action_execution_id=action_ex_id,
        outcome="rejected",
        state="SUCCESS",
        by="callback-token",
        remote_addr="192.0.2.7",
        reason="Action execution x is already ERROR; its result cannot be changed",
        created_at=rec.at(seconds),
    )
    return dataclasses.replace(base, **fields)


def test_an_action_execution_is_found_by_the_hash_of_its_token(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    task = rec.task(wf_ex)
    waiting = rec.action(task, callback_token_hash="a" * 64, callback_token_expires_at=rec.at(60))
    other = rec.action(task, callback_token_hash="b" * 64, callback_token_expires_at=rec.at(60))
    sync_one, sync_two = rec.action(task), rec.action(task)  # no token: many may have none
    for record in (wf_ex, task, waiting, other, sync_one, sync_two):
        store.insert(record)

    found = store.action_execution_by_token("a" * 64)

    assert found is not None and found.id == waiting.id
    assert found.callback_token_expires_at == rec.at(60)
    assert store.action_execution_by_token("c" * 64) is None
    revoked = dataclasses.replace(waiting, callback_token_expires_at=rec.at(5))
    store.update(revoked, ("callback_token_expires_at",))
    again = store.action_execution_by_token("a" * 64)
    assert again is not None and again.callback_token_expires_at == rec.at(5)


def test_the_history_is_kept_in_order_per_action_execution(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    task = rec.task(wf_ex)
    first, second = rec.action(task), rec.action(task)
    for record in (wf_ex, task, first, second):
        store.insert(record)
    # Written out of time order (a clock is not an order): the history keeps the writing order.
    entries = [_entry(first.id, rec, 5), _entry(first.id, rec, 1, outcome="accepted", reason=None)]
    entries.append(_entry(first.id, rec, 3, state=None, remote_addr=None, by="ops"))
    for entry in entries:
        store.add_history_entry(entry)
    store.add_history_entry(_entry(second.id, rec))

    assert store.history_of(first.id) == entries
    assert store.count_history(first.id) == 3
    assert store.count_history(second.id) == 1
    assert store.history_of("unknown") == [] and store.count_history("unknown") == 0


def test_an_entry_written_in_a_rolled_back_transaction_is_gone(store: ExecutionStore, rec: Any) -> None:
    with pytest.raises(RuntimeError), store.atomic():
        store.add_history_entry(_entry("a1", rec))
        raise RuntimeError("rolled back")

    assert store.history_of("a1") == []


def test_deleting_an_execution_deletes_the_history_of_its_actions(store: ExecutionStore, rec: Any) -> None:
    doomed, kept = rec.wf(), rec.wf()
    doomed_task, kept_task = rec.task(doomed), rec.task(kept)
    doomed_action, kept_action = rec.action(doomed_task), rec.action(kept_task)
    for record in (doomed, kept, doomed_task, kept_task, doomed_action, kept_action):
        store.insert(record)
    store.add_history_entry(_entry(doomed_action.id, rec))
    store.add_history_entry(_entry(kept_action.id, rec))

    store.delete_workflow_execution(doomed.id)

    assert store.history_of(doomed_action.id) == []
    assert len(store.history_of(kept_action.id)) == 1


def test_deleting_an_action_execution_deletes_its_history_only(store: ExecutionStore, rec: Any) -> None:
    doomed, kept = rec.action(state=State.SUCCESS), rec.action(state=State.SUCCESS)
    for record in (doomed, kept):
        store.insert(record)
    store.add_history_entry(_entry(doomed.id, rec))
    store.add_history_entry(_entry(kept.id, rec))

    store.delete_action_execution(doomed.id)

    assert [a.id for a in store.list_action_executions(Query())] == [kept.id]
    assert store.history_of(doomed.id) == []
    assert len(store.history_of(kept.id)) == 1
    with pytest.raises(NotFoundError, match=rf"^ActionExecution not found \[id={doomed.id}\]$"):
        store.delete_action_execution(doomed.id)
