"""list_waits: which action executions are waits, ``stale_before``, filters, order, pages and
projects, identical on every backend."""

from __future__ import annotations

from typing import Any

import pytest

from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import NotFoundError
from mistral_core.model import DISPATCH_HANDED_OFF, DISPATCH_QUEUED, DISPATCH_STARTED, Filter, Query, State

S = State

# (id, state, is_sync, dispatch, target, seconds created, seconds of the last heartbeat, project)
ROWS = [
    ("a-async", S.RUNNING, False, DISPATCH_HANDED_OFF, None, 0, None, "p1"),
    ("b-beating", S.RUNNING, False, DISPATCH_HANDED_OFF, None, 1, 50, "p1"),
    ("c-unstarted-sync", S.RUNNING, True, DISPATCH_QUEUED, "zone-b", 2, None, "p2"),
    ("d-started-sync", S.RUNNING, True, DISPATCH_STARTED, "zone-b", 3, None, "p1"),
    ("e-done", S.SUCCESS, False, DISPATCH_HANDED_OFF, None, 4, None, "p1"),
    ("f-paused", S.PAUSED, False, DISPATCH_HANDED_OFF, None, 5, None, "p1"),
    ("g-unstarted-async", S.RUNNING, False, DISPATCH_QUEUED, None, 6, None, "p2"),
    ("h-unstarted-untargeted-sync", S.RUNNING, True, DISPATCH_QUEUED, None, 7, None, "p1"),
]
WAITS = ["a-async", "b-beating", "c-unstarted-sync", "g-unstarted-async"]


@pytest.fixture
def filled(store: ExecutionStore, rec: Any) -> ExecutionStore:
    """A workflow execution with one task and the action executions of ROWS."""
    wf_ex = rec.wf()
    task_ex = rec.task(wf_ex)
    store.insert(wf_ex)
    store.insert(task_ex)
    for action_id, state, is_sync, dispatch, target, created, beat, project in ROWS:
        store.insert(
            rec.action(
                task_ex,
                name="std.sync" if is_sync else "std.async",
                id=action_id,
                state=state,
                is_sync=is_sync,
                dispatch=dispatch,
                target=target,
                created_at=rec.at(created),
                last_heartbeat_at=None if beat is None else rec.at(beat),
                deadline=rec.at(100 - created),
                project_id=project,
            )
        )
    return store


EVERY = Query()


def ids(store: ExecutionStore, query: Query = EVERY, **kwargs: Any) -> list[str]:
    return [action_ex.id for action_ex in store.list_waits(query, **kwargs)]


def test_a_wait_is_running_and_async_or_targeted_and_not_yet_started(filled: ExecutionStore) -> None:
    assert ids(filled) == WAITS


def test_stale_before_counts_the_start_as_the_first_heartbeat(filled: ExecutionStore, rec: Any) -> None:
    assert ids(filled, stale_before=rec.at(2)) == ["a-async"]
    assert ids(filled, stale_before=rec.at(40)) == ["a-async", "c-unstarted-sync", "g-unstarted-async"]
    assert ids(filled, stale_before=rec.at(51)) == WAITS


def test_filters_order_pages_and_projects(filled: ExecutionStore, rec: Any) -> None:
    by_name = Query(filters=(Filter("name", "eq", "std.async"),))
    assert ids(filled, by_name) == ["a-async", "b-beating", "g-unstarted-async"]
    soon = Query(filters=(Filter("deadline", "lt", rec.at(98.5)),), sort=(("deadline", "asc"),))
    assert ids(filled, soon) == ["g-unstarted-async", "c-unstarted-sync"]
    newest = Query(sort=(("created_at", "desc"),), limit=2)
    assert ids(filled, newest) == ["g-unstarted-async", "c-unstarted-sync"]
    after = Query(sort=(("created_at", "desc"),), limit=2, marker="c-unstarted-sync")
    assert ids(filled, after) == ["b-beating", "a-async"]
    assert ids(filled, Query(marker="d-started-sync")) == ["g-unstarted-async"]
    assert ids(filled, Query(marker="h-unstarted-untargeted-sync")) == []  # a marker no wait
    assert ids(filled, Query(project="p2")) == ["c-unstarted-sync", "g-unstarted-async"]
    with pytest.raises(NotFoundError):
        filled.list_waits(Query(project="p2", marker="a-async"))
