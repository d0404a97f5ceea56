"""atomic(): all or nothing, nesting joins the outer block, and locked workflow executions serialise."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest

from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import NotFoundError, StoreError
from mistral_core.model import State


class Boom(Exception):
    """Raised inside a transaction to make it roll back."""


def test_atomic_commits(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    with store.atomic():
        store.insert(wf_ex)
        store.insert(rec.task(wf_ex))
    assert len(store.task_executions_of(wf_ex.id)) == 1


def test_atomic_rolls_back_everything_on_exception(store: ExecutionStore, rec: Any) -> None:
    kept = rec.wf(description="before", created_at=rec.at(0))
    store.insert(kept)
    store.save_spec("kept", {"a": 1})
    wf_ex = rec.wf()
    task_ex = rec.task(wf_ex)
    with pytest.raises(Boom), store.atomic():
        store.insert(wf_ex)
        store.insert(task_ex)
        store.insert(rec.action(task_ex))
        store.update(
            dataclasses.replace(kept, description="after", state=State.ERROR), ["description", "state"]
        )
        store.save_spec("new", {"b": 2})
        store.delete_workflow_execution(kept.id)
        raise Boom()
    with pytest.raises(NotFoundError):
        store.get_workflow_execution(wf_ex.id)
    with pytest.raises(NotFoundError):
        store.get_task_execution(task_ex.id)
    with pytest.raises(NotFoundError):
        store.get_spec("new")
    assert store.get_workflow_execution(kept.id) == kept
    assert store.unfinished_action_executions() == []
    assert store.get_spec("kept") == {"a": 1}


def test_rolled_back_store_still_works(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    with pytest.raises(Boom), store.atomic():
        store.insert(wf_ex)
        raise Boom()
    with store.atomic():
        store.insert(wf_ex)
        store.insert(rec.task(wf_ex))
    assert store.get_workflow_execution(wf_ex.id).id == wf_ex.id
    assert len(store.task_executions_of(wf_ex.id)) == 1


def test_nested_atomic_joins_the_outer_transaction(store: ExecutionStore, rec: Any) -> None:
    first, second = rec.wf(), rec.wf()
    with pytest.raises(Boom), store.atomic():
        store.insert(first)
        with store.atomic():
            store.insert(second)
        assert store.get_workflow_execution(second.id).id == second.id
        raise Boom()
    for wf_ex in (first, second):
        with pytest.raises(NotFoundError):
            store.get_workflow_execution(wf_ex.id)


def test_nested_atomic_commits_with_the_outer(store: ExecutionStore, rec: Any) -> None:
    first, second = rec.wf(), rec.wf()
    with store.atomic():
        store.insert(first)
        with store.atomic():
            store.insert(second)
    assert store.get_workflow_execution(first.id).id == first.id
    assert store.get_workflow_execution(second.id).id == second.id


def test_store_error_inside_atomic_rolls_back(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    with pytest.raises(StoreError), store.atomic():
        store.insert(wf_ex)
        store.insert(wf_ex)
    with pytest.raises(NotFoundError):
        store.get_workflow_execution(wf_ex.id)


def test_lock_returns_the_fresh_record(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf(context={"n": 0})
    store.insert(wf_ex)
    store.update(dataclasses.replace(wf_ex, context={"n": 1}), ["context"])
    with store.atomic():
        assert store.lock_workflow_execution(wf_ex.id).context == {"n": 1}


def test_lock_of_a_missing_workflow_execution(store: ExecutionStore) -> None:
    with pytest.raises(NotFoundError, match=r"^WorkflowExecution not found \[id=nope\]$"), store.atomic():
        store.lock_workflow_execution("nope")


def test_lock_outside_atomic_is_refused(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    store.insert(wf_ex)
    with pytest.raises(StoreError, match="atomic"):
        store.lock_workflow_execution(wf_ex.id)


THREADS, INCREMENTS = 8, 50


def test_concurrent_increments_never_lose_an_update(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf(context={"n": 0})
    store.insert(wf_ex)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(INCREMENTS):
                with store.atomic():
                    fresh = store.lock_workflow_execution(wf_ex.id)
                    bumped = {"n": fresh.context["n"] + 1}
                    store.update(dataclasses.replace(fresh, context=bumped), ["context"])
        except BaseException as exc:  # collected and re-raised by the test thread
            errors.append(exc)
        finally:
            close = getattr(store, "close", None)
            if close is not None:
                close()

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.get_workflow_execution(wf_ex.id).context == {"n": THREADS * INCREMENTS}


def test_reads_from_other_threads_see_committed_data(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    store.insert(wf_ex)
    seen: list[str] = []

    def read() -> None:
        seen.append(store.get_workflow_execution(wf_ex.id).id)
        close = getattr(store, "close", None)
        if close is not None:
            close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert seen == [wf_ex.id]
