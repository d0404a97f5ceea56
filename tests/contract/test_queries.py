"""list_*: every filter operator, sorting, and keyset paging, identical on every backend."""

from __future__ import annotations

from typing import Any

import pytest

from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import InputError, NotFoundError
from mistral_core.model import DISPATCH_HANDED_OFF, Filter, Query, State

S = State

# (id, workflow_name, state, seconds, description, state_info, tags, input)
ROWS = [
    ("w0", "alpha", S.RUNNING, 0, "first run", None, ("x",), {}),
    ("w1", "beta", S.SUCCESS, 1, "second", "ok", ("x", "y"), {"k": 1}),
    ("w2", "alpha", S.ERROR, 2, "Third", "boom", (), {}),
    ("w3", "gamma", S.SUCCESS, 2, "fourth", None, ("y",), {}),
    ("w4", "alpha", S.PAUSED, 4, "", "p", (), {"k": 2}),
]


@pytest.fixture
def filled(store: ExecutionStore, rec: Any) -> ExecutionStore:
    """The store holding the workflow executions of ROWS."""
    for wf_id, name, state, seconds, description, state_info, tags, wf_input in ROWS:
        store.insert(
            rec.wf(
                id=wf_id,
                workflow_name=name,
                state=state,
                created_at=rec.at(seconds),
                description=description,
                state_info=state_info,
                tags=tags,
                input=wf_input,
            )
        )
    return store


def ids(store: ExecutionStore, query: Query) -> list[str]:
    return [wf_ex.id for wf_ex in store.list_workflow_executions(query)]


def at_iso(seconds: int) -> str:
    from datetime import datetime, timedelta

    return (datetime(2024, 5, 1, 12, 0, 0, 123456) + timedelta(seconds=seconds)).isoformat()


FILTER_CASES = [
    (Filter("workflow_name", "eq", "alpha"), ["w0", "w2", "w4"]),
    (Filter("workflow_name", "neq", "alpha"), ["w1", "w3"]),
    (Filter("state", "eq", S.SUCCESS), ["w1", "w3"]),
    (Filter("state", "eq", "SUCCESS"), ["w1", "w3"]),
    (Filter("state_info", "eq", None), ["w0", "w3"]),
    (Filter("state_info", "neq", None), ["w1", "w2", "w4"]),
    (Filter("state_info", "neq", "ok"), ["w0", "w2", "w3", "w4"]),
    (Filter("created_at", "gt", at_iso(1)), ["w2", "w3", "w4"]),
    (Filter("created_at", "gte", at_iso(2)), ["w2", "w3", "w4"]),
    (Filter("created_at", "lt", at_iso(2)), ["w0", "w1"]),
    (Filter("created_at", "lte", at_iso(1)), ["w0", "w1"]),
    (Filter("workflow_name", "gt", "beta"), ["w3"]),
    (Filter("state_info", "lt", "ok"), ["w2"]),
    (Filter("state", "in", [S.SUCCESS, "PAUSED"]), ["w1", "w3", "w4"]),
    (Filter("state", "nin", [S.SUCCESS, S.PAUSED]), ["w0", "w2"]),
    (Filter("state_info", "in", [None, "ok"]), ["w0", "w1", "w3"]),
    (Filter("state_info", "nin", ["ok"]), ["w0", "w2", "w3", "w4"]),
    (Filter("state_info", "nin", [None]), ["w1", "w2", "w4"]),
    (Filter("state", "in", []), []),
    (Filter("state", "nin", []), ["w0", "w1", "w2", "w3", "w4"]),
    (Filter("description", "has", "ir"), ["w0", "w2"]),
    (Filter("description", "has", "third"), []),
    (Filter("state", "has", "USE"), ["w4"]),
    (Filter("tags", "has", "y"), ["w1", "w3"]),
    (Filter("tags", "eq", ["x", "y"]), ["w1"]),
    (Filter("tags", "neq", []), ["w0", "w1", "w3"]),
    (Filter("input", "eq", {"k": 1}), ["w1"]),
    (Filter("input", "neq", {}), ["w1", "w4"]),
]


@pytest.mark.parametrize(
    ("flt", "expected"), FILTER_CASES, ids=[f"{f.field}-{f.op}" for f, _ in FILTER_CASES]
)
def test_filters(filled: ExecutionStore, flt: Filter, expected: list[str]) -> None:
    assert ids(filled, Query(filters=(flt,))) == expected


def test_filters_combine_with_and(filled: ExecutionStore) -> None:
    query = Query(filters=(Filter("workflow_name", "eq", "alpha"), Filter("state_info", "neq", None)))
    assert ids(filled, query) == ["w2", "w4"]


SORT_CASES = [
    ((), ["w0", "w1", "w2", "w3", "w4"]),
    ((("created_at", "desc"),), ["w4", "w2", "w3", "w1", "w0"]),
    ((("created_at", "desc"), ("id", "desc")), ["w4", "w3", "w2", "w1", "w0"]),
    ((("workflow_name", "asc"),), ["w0", "w2", "w4", "w1", "w3"]),
    ((("workflow_name", "desc"),), ["w3", "w1", "w0", "w2", "w4"]),
    ((("state_info", "asc"),), ["w0", "w3", "w2", "w1", "w4"]),
    ((("state_info", "desc"),), ["w4", "w1", "w2", "w0", "w3"]),
    ((("workflow_name", "desc"), ("created_at", "desc")), ["w3", "w1", "w4", "w2", "w0"]),
    ((("workflow_name", "asc"), ("state_info", "desc")), ["w4", "w2", "w0", "w1", "w3"]),
]


@pytest.mark.parametrize(("sort", "expected"), SORT_CASES)
def test_sort(filled: ExecutionStore, sort: tuple[tuple[str, str], ...], expected: list[str]) -> None:
    assert ids(filled, Query(sort=sort)) == expected


@pytest.mark.parametrize(("sort", "expected"), SORT_CASES)
@pytest.mark.parametrize("limit", [1, 2, 3])
def test_paging_visits_every_row_once(
    filled: ExecutionStore, sort: tuple[tuple[str, str], ...], expected: list[str], limit: int
) -> None:
    seen: list[str] = []
    marker = None
    for _ in range(10):
        page = ids(filled, Query(sort=sort, limit=limit, marker=marker))
        assert len(page) <= limit
        if not page:
            break
        seen.extend(page)
        marker = page[-1]
    assert seen == expected


def test_paging_with_a_filter(filled: ExecutionStore) -> None:
    alpha = (Filter("workflow_name", "eq", "alpha"),)
    assert ids(filled, Query(filters=alpha, limit=2)) == ["w0", "w2"]
    assert ids(filled, Query(filters=alpha, limit=2, marker="w2")) == ["w4"]
    assert ids(filled, Query(filters=alpha, marker="w1")) == ["w2", "w4"]


def test_limit_zero_and_beyond(filled: ExecutionStore) -> None:
    assert ids(filled, Query(limit=0)) == []
    assert len(ids(filled, Query(limit=50))) == 5


def test_many_rows_with_equal_sort_keys_page_cleanly(store: ExecutionStore, rec: Any) -> None:
    for i in range(23):
        store.insert(rec.wf(id=f"e{i:02d}", workflow_name=f"n{i % 3}", created_at=rec.at(i % 4)))
    sort = (("workflow_name", "desc"), ("created_at", "asc"))
    full = ids(store, Query(sort=sort))
    seen: list[str] = []
    marker = None
    while True:
        page = ids(store, Query(sort=sort, limit=4, marker=marker))
        if not page:
            break
        seen.extend(page)
        marker = page[-1]
    assert seen == full
    assert sorted(seen) == [f"e{i:02d}" for i in range(23)]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        (Query(filters=(Filter("colour", "eq", "red"),)), "colour"),
        (Query(sort=(("colour", "asc"),)), "colour"),
        (Query(sort=(("workflow_name", "up"),)), "workflow_name"),
        (Query(filters=(Filter("state", "like", "x"),)), "like"),
        (Query(filters=(Filter("input", "gt", {}),)), "input"),
        (Query(filters=(Filter("created_at", "has", "2024"),)), "created_at"),
        (Query(filters=(Filter("created_at", "gt", "not a date"),)), "created_at"),
        (Query(filters=(Filter("state", "in", "RUNNING"),)), "state"),
        (Query(filters=(Filter("workflow_name", "gt", None),)), "workflow_name"),
        (Query(limit=-1), "limit"),
    ],
)
def test_bad_queries_are_input_errors(filled: ExecutionStore, query: Query, named: str) -> None:
    with pytest.raises(InputError, match=named):
        filled.list_workflow_executions(query)


def test_unknown_marker(filled: ExecutionStore) -> None:
    with pytest.raises(NotFoundError, match=r"^WorkflowExecution not found \[id=nope\]$"):
        filled.list_workflow_executions(Query(marker="nope"))


def test_task_and_action_lists(store: ExecutionStore, rec: Any) -> None:
    wf_a, wf_b = rec.wf(), rec.wf()
    store.insert(wf_a)
    store.insert(wf_b)
    t1 = rec.task(wf_a, "t1", processed=True, created_at=rec.at(1))
    t2 = rec.task(wf_a, "t2", created_at=rec.at(2))
    t3 = rec.task(wf_b, "t3", created_at=rec.at(0))
    for task_ex in (t1, t2, t3):
        store.insert(task_ex)
    only_a = Query(filters=(Filter("workflow_execution_id", "eq", wf_a.id),))
    assert [t.name for t in store.list_task_executions(only_a)] == ["t1", "t2"]
    processed = Query(filters=(Filter("processed", "eq", True),))
    assert [t.name for t in store.list_task_executions(processed)] == ["t1"]
    assert [t.name for t in store.list_task_executions(Query())] == ["t3", "t1", "t2"]

    a1 = rec.action(t1, "std.echo", dispatch=DISPATCH_HANDED_OFF, created_at=rec.at(1))
    a2 = rec.action(t2, "std.noop", is_sync=False, created_at=rec.at(2))
    store.insert(a1)
    store.insert(a2)
    handed_off = Query(filters=(Filter("dispatch", "gte", DISPATCH_HANDED_OFF),))
    assert [a.id for a in store.list_action_executions(handed_off)] == [a1.id]
    not_sync = Query(filters=(Filter("is_sync", "eq", "false"),))
    assert [a.id for a in store.list_action_executions(not_sync)] == [a2.id]
    by_name = Query(sort=(("name", "desc"),), limit=1)
    assert [a.id for a in store.list_action_executions(by_name)] == [a2.id]
