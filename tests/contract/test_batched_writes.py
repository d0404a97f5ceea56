"""write(), lock_workflow_executions() and the batch reads (tasks of many executions, actions by
id): what a batch of events does in one round trip each."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

import pytest

from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import StoreError
from mistral_core.model import HistoryEntry, Query, State


class Boom(Exception):
    """Raised inside a transaction to make it roll back."""


def test_write_inserts_and_updates_in_order(store: ExecutionStore, rec: Any) -> None:
    old = rec.wf(description="before")
    store.insert(old)
    wf_ex = rec.wf()
    task_ex = rec.task(wf_ex)
    action_ex = rec.action(task_ex)
    changed = dataclasses.replace(old, description="after", state=State.ERROR)
    with store.atomic():
        store.write([(wf_ex, None), (task_ex, None), (action_ex, None), (changed, ("description", "state"))])
    assert store.get_action_execution(action_ex.id).task_execution_id == task_ex.id
    assert [t.id for t in store.task_executions_of(wf_ex.id)] == [task_ex.id]
    fresh = store.get_workflow_execution(old.id)
    assert (fresh.description, fresh.state) == ("after", State.ERROR)


def test_write_is_rolled_back_with_its_transaction(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    with pytest.raises(Boom), store.atomic():
        store.write([(wf_ex, None), (rec.task(wf_ex), None)])
        raise Boom()
    assert store.list_workflow_executions(Query()) == []


def test_write_refuses_a_duplicate_id(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    store.insert(wf_ex)
    with pytest.raises(StoreError), store.atomic():
        store.write([(rec.wf(), None), (wf_ex, None)])


def test_lock_many_returns_those_that_exist_fresh_in_id_order(store: ExecutionStore, rec: Any) -> None:
    executions = [rec.wf(context={"n": i}) for i in range(3)]
    for wf_ex in executions:
        store.insert(wf_ex)
    store.update(dataclasses.replace(executions[0], context={"n": 9}), ["context"])
    with store.atomic():
        locked = store.lock_workflow_executions(
            [executions[2].id, "nope", executions[0].id, executions[1].id]
        )
    assert [w.id for w in locked] == sorted(w.id for w in executions)
    assert {w.id: w.context["n"] for w in locked}[executions[0].id] == 9
    with store.atomic():
        assert store.lock_workflow_executions([]) == []


def test_lock_versions_gives_the_version_of_those_that_exist(store: ExecutionStore, rec: Any) -> None:
    executions = [rec.wf() for _ in range(3)]
    for wf_ex in executions:
        store.insert(wf_ex)
    store.update(dataclasses.replace(executions[1], version=7), ["version"])
    with store.atomic():
        versions = store.lock_workflow_versions(
            [executions[2].id, "nope", executions[1].id, executions[0].id]
        )
        assert store.lock_workflow_versions([]) == {}
    assert list(versions) == sorted(w.id for w in executions)
    assert versions == {w.id: 7 if w is executions[1] else w.version for w in executions}
    with pytest.raises(StoreError, match="atomic"):
        store.lock_workflow_versions([executions[0].id])


def test_lock_many_outside_atomic_is_refused(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    store.insert(wf_ex)
    with pytest.raises(StoreError, match="atomic"):
        store.lock_workflow_executions([wf_ex.id])


def _race(store: ExecutionStore, locked: Callable[[bool], list[Any]]) -> None:
    """Four threads, two each way (``locked(True)`` and ``locked(False)``), 20 transactions each:
    lock with ``locked``, then add 1 to ``context["n"]`` of every execution it returned."""
    errors: list[BaseException] = []

    def bump(one_way: bool) -> None:
        try:
            for _ in range(20):
                with store.atomic():
                    store.write(
                        [
                            (dataclasses.replace(w, context={"n": w.context["n"] + 1}), ("context",))
                            for w in locked(one_way)
                        ]
                    )
        except BaseException as exc:  # collected and re-raised by the test thread
            errors.append(exc)
        finally:
            close = getattr(store, "close", None)
            if close is not None:
                close()

    threads = [threading.Thread(target=bump, args=(i % 2 == 0,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_lock_many_serialises_with_lock_one(store: ExecutionStore, rec: Any) -> None:
    pair = [rec.wf(context={"n": 0}), rec.wf(context={"n": 0})]
    for wf_ex in pair:
        store.insert(wf_ex)

    def locked(many: bool) -> list[Any]:
        if many:
            return store.lock_workflow_executions([w.id for w in pair])
        return [store.lock_workflow_execution(w.id) for w in sorted(pair, key=lambda w: w.id)]

    _race(store, locked)
    assert [store.get_workflow_execution(w.id).context["n"] for w in pair] == [80, 80]


def test_lock_with_an_action_returns_both_fresh(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf(context={"n": 0})
    task_ex = rec.task(wf_ex)
    action_ex = rec.action(task_ex)
    orphan = rec.action()
    with store.atomic():
        store.write([(wf_ex, None), (task_ex, None), (action_ex, None), (orphan, None)])
    store.update(dataclasses.replace(wf_ex, context={"n": 5}), ["context"])
    with store.atomic():
        found = store.lock_action_with_execution(action_ex.id)
        assert found is not None
        locked, action = found
        assert (locked.id, locked.context["n"]) == (wf_ex.id, 5)
        assert (action.id, action.state) == (action_ex.id, State.RUNNING)
        assert store.lock_action_with_execution(orphan.id) is None
        assert store.lock_action_with_execution("nope") is None
    with pytest.raises(StoreError, match="atomic"):
        store.lock_action_with_execution(action_ex.id)


def test_lock_with_an_action_serialises_with_lock_one(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf(context={"n": 0})
    task_ex = rec.task(wf_ex)
    action_ex = rec.action(task_ex)
    with store.atomic():
        store.write([(wf_ex, None), (task_ex, None), (action_ex, None)])

    def locked(by_action: bool) -> list[Any]:
        found = store.lock_action_with_execution(action_ex.id) if by_action else None
        return [found[0] if found is not None else store.lock_workflow_execution(wf_ex.id)]

    _race(store, locked)
    assert store.get_workflow_execution(wf_ex.id).context["n"] == 80


def test_write_adds_history_entries_with_the_records(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    task_ex = rec.task(wf_ex)
    action_ex = rec.action(task_ex)
    entry = HistoryEntry(
        action_execution_id=action_ex.id, outcome="accepted", state="SUCCESS", by="anonymous"
    )
    with store.atomic():
        store.write([(wf_ex, None), (task_ex, None), (action_ex, None), (entry, None)])
    assert [(e.outcome, e.state, e.by) for e in store.history_of(action_ex.id)] == [
        ("accepted", "SUCCESS", "anonymous")
    ]
    with pytest.raises(Boom), store.atomic():
        store.write([(dataclasses.replace(action_ex, state=State.SUCCESS), ("state",)), (entry, None)])
        raise Boom()
    assert len(store.history_of(action_ex.id)) == 1


def test_reads_after_write_in_one_transaction_see_the_writes(store: ExecutionStore, rec: Any) -> None:
    # On PostgreSQL the writes are held back and sent with the next statement: it must see them.
    wf_ex = rec.wf(context={"n": 1})
    task_ex = rec.task(wf_ex)
    with store.atomic():
        store.write([(wf_ex, None), (task_ex, None)])
        assert [t.id for t in store.task_executions_of(wf_ex.id)] == [task_ex.id]
        store.write([(dataclasses.replace(wf_ex, context={"n": 2}), ("context",))])
        assert store.lock_workflow_execution(wf_ex.id).context == {"n": 2}
    assert store.get_workflow_execution(wf_ex.id).context == {"n": 2}


def test_a_failing_write_fails_the_commit_and_keeps_nothing(store: ExecutionStore, rec: Any) -> None:
    kept = rec.wf()
    store.insert(kept)
    fresh = rec.wf()
    with pytest.raises(StoreError), store.atomic():
        store.write([(fresh, None), (kept, None)])  # the second is a duplicate id
    assert [w.id for w in store.list_workflow_executions(Query())] == [kept.id]
    with store.atomic():  # the connection is usable again
        store.write([(fresh, None)])
    assert len(store.list_workflow_executions(Query())) == 2


def test_tasks_of_many_executions_come_oldest_first(store: ExecutionStore, rec: Any) -> None:
    one, two, other = rec.wf(), rec.wf(), rec.wf()
    tasks = [rec.task(one), rec.task(two), rec.task(one), rec.task(other)]
    with store.atomic():
        store.write([(one, None), (two, None), (other, None), *((t, None) for t in tasks)])
    found = store.task_executions_of_many([two.id, one.id, "nope", one.id])
    assert [t.id for t in found] == [t.id for t in tasks[:3]]
    assert store.task_executions_of_many([]) == []


def test_actions_by_id_returns_those_that_exist(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    task_ex = rec.task(wf_ex)
    actions = [rec.action(task_ex), rec.action(task_ex), rec.action()]
    with store.atomic():
        store.write([(wf_ex, None), (task_ex, None), *((a, None) for a in actions)])
    found = store.action_executions_by_id([actions[2].id, "nope", actions[0].id, actions[0].id])
    assert sorted(a.id for a in found) == sorted([actions[0].id, actions[2].id])
    assert {a.id: a.task_execution_id for a in found}[actions[0].id] == task_ex.id
    assert store.action_executions_by_id([]) == []
