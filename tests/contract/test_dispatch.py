"""raise_dispatch: how far executors got, raised in bulk, never lowered, never on finished actions."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest

from mistral_core.engine.ports import ExecutionStore
from mistral_core.model import (
    DISPATCH_HANDED_OFF,
    DISPATCH_QUEUED,
    DISPATCH_STARTED,
    ActionExecution,
    State,
)


@pytest.fixture
def task_ex(store: ExecutionStore, rec: Any) -> Any:
    """A stored task execution to hang action executions on."""
    wf_ex = rec.wf()
    task = rec.task(wf_ex)
    store.insert(wf_ex)
    store.insert(task)
    return task


def stored(store: ExecutionStore, rec: Any, task_ex: Any, **fields: Any) -> ActionExecution:
    action_ex: ActionExecution = rec.action(task_ex, created_at=rec.at(0), updated_at=rec.at(1), **fields)
    store.insert(action_ex)
    return action_ex


def dispatch_of(store: ExecutionStore, *actions: ActionExecution) -> list[int]:
    return [store.get_action_execution(a.id).dispatch for a in actions]


def test_raises_every_unfinished_action(store: ExecutionStore, rec: Any, task_ex: Any) -> None:
    actions = [stored(store, rec, task_ex, state=s) for s in (State.RUNNING, State.PAUSED, State.IDLE)]
    store.raise_dispatch([a.id for a in actions], DISPATCH_STARTED)
    assert dispatch_of(store, *actions) == [DISPATCH_STARTED] * 3


@pytest.mark.parametrize("state", [State.SUCCESS, State.ERROR, State.CANCELLED])
def test_finished_actions_keep_their_dispatch(
    store: ExecutionStore, rec: Any, task_ex: Any, state: State
) -> None:
    finished = stored(store, rec, task_ex, state=state)
    store.raise_dispatch([finished.id], DISPATCH_HANDED_OFF)
    assert dispatch_of(store, finished) == [DISPATCH_QUEUED]


def test_never_lowers(store: ExecutionStore, rec: Any, task_ex: Any) -> None:
    handed_off = stored(store, rec, task_ex, dispatch=DISPATCH_HANDED_OFF)
    queued = stored(store, rec, task_ex)
    store.raise_dispatch([handed_off.id, queued.id], DISPATCH_STARTED)
    assert dispatch_of(store, handed_off, queued) == [DISPATCH_HANDED_OFF, DISPATCH_STARTED]


def test_leaves_the_rest_of_the_record_alone(store: ExecutionStore, rec: Any, task_ex: Any) -> None:
    action_ex = stored(store, rec, task_ex, input={"x": 1})
    store.raise_dispatch([action_ex.id], DISPATCH_HANDED_OFF)
    assert store.get_action_execution(action_ex.id) == dataclasses.replace(
        action_ex, dispatch=DISPATCH_HANDED_OFF
    )


def test_unknown_ids_and_empty_lists_are_ignored(store: ExecutionStore, rec: Any, task_ex: Any) -> None:
    action_ex = stored(store, rec, task_ex)
    store.raise_dispatch([], DISPATCH_STARTED)
    store.raise_dispatch(["nope", action_ex.id, "nope"], DISPATCH_STARTED)
    assert dispatch_of(store, action_ex) == [DISPATCH_STARTED]


def test_many_ids_at_once(store: ExecutionStore, rec: Any, task_ex: Any) -> None:
    actions = [stored(store, rec, task_ex) for _ in range(50)]
    others = [rec.new_id() for _ in range(1500)]  # past SQLite's limit of bound parameters
    store.raise_dispatch([*others, *(a.id for a in actions)], DISPATCH_STARTED)
    assert set(dispatch_of(store, *actions)) == {DISPATCH_STARTED}


class Boom(Exception):
    """Raised inside a transaction to make it roll back."""


def test_joins_an_open_transaction(store: ExecutionStore, rec: Any, task_ex: Any) -> None:
    action_ex = stored(store, rec, task_ex)
    with pytest.raises(Boom), store.atomic():
        store.raise_dispatch([action_ex.id], DISPATCH_STARTED)
        assert dispatch_of(store, action_ex) == [DISPATCH_STARTED]
        raise Boom()
    assert dispatch_of(store, action_ex) == [DISPATCH_QUEUED]


def test_durable_when_it_returns(store: ExecutionStore, rec: Any, task_ex: Any) -> None:
    action_ex = stored(store, rec, task_ex)
    store.raise_dispatch([action_ex.id], DISPATCH_STARTED)
    seen: list[int] = []

    def read() -> None:
        seen.extend(dispatch_of(store, action_ex))
        store.close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert seen == [DISPATCH_STARTED]
