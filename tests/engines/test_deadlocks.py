"""A deadlock between two engines on PostgreSQL is reported as transient, and the engine retries it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mistral_core.errors import TransientStoreError
from mistral_core.model import State, WorkflowExecution
from mistral_core.persistence.memory import MemoryStore
from mistral_core.persistence.sql import open_store
from mistral_core.testing import TestEngine
from tests.unit.support import ACTIONS

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


def _execution(ex_id: str) -> WorkflowExecution:
    return WorkflowExecution(
        id=ex_id, workflow_id="w", workflow_name="w", spec_checksum="c", state=State.RUNNING
    )


@pytest.fixture
def two_stores(pg_url: str) -> Iterator[tuple[Any, Any]]:
    first, second = open_store(pg_url), open_store(pg_url)
    first.upgrade()
    yield first, second
    first.close()
    second.close()


def test_opposite_lock_orders_give_a_transient_error_on_one_side(two_stores: tuple[Any, Any]) -> None:
    first, second = two_stores
    with first.atomic():
        first.insert(_execution("a"))
        first.insert(_execution("b"))
    both_hold_one = threading.Barrier(2)
    outcomes: list[str] = []

    def lock(store: Any, one: str, other: str) -> None:
        try:
            with store.atomic():
                store.lock_workflow_execution(one)
                both_hold_one.wait(10)
                store.lock_workflow_execution(other)
            outcomes.append("committed")
        except TransientStoreError:
            outcomes.append("transient")

    threads = [
        threading.Thread(target=lock, args=(first, "a", "b")),
        threading.Thread(target=lock, args=(second, "b", "a")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["committed", "transient"]


class FlakyStore(MemoryStore):
    """Refuses the first transactions that lock an execution, as a deadlock would."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    def lock_workflow_execution(self, wf_ex_id: str) -> WorkflowExecution:
        if self.refusals:
            self.refusals -= 1
            raise TransientStoreError("Database busy, try again: deadlock detected")
        return super().lock_workflow_execution(wf_ex_id)


def test_the_engine_runs_a_refused_transaction_again() -> None:
    flaky = FlakyStore(refusals=0)
    t = TestEngine(ACTIONS, store=flaky)
    t.engine.definitions.create_workflows("version: '2.0'\nwf:\n  tasks:\n    a: {action: std.async_noop}\n")
    ex = t.run("wf")
    action_id = t.running_action(ex.id, "a")
    flaky.refusals = 2
    t.engine.results.complete(action_id, State.SUCCESS, 1)
    assert flaky.refusals == 0
    assert t.store.get_workflow_execution(ex.id).state is State.SUCCESS
