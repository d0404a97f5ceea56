"""The execution report's reads and a workflow renamed by id, on every backend (the API tests run them
on the in-memory store only)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mistral_core.actions.registry import ActionRegistry
from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import DuplicateError, InputError
from mistral_core.model import EVERY_PROJECT, Filter, Query, State
from mistral_core.services.engine import Engine
from mistral_core.services.reports import Report, ReportRequest, WorkflowNode

WF = "---\nversion: '2.0'\n{name}:\n  tasks:\n    t:\n      action: std.noop\n"


def _family(store: ExecutionStore, rec: Any) -> str:
    """root: t1 (SUCCESS, 2 actions), t2 (ERROR, runs sub: s1 ERROR with an action), t3 (CANCELLED)."""
    root = rec.wf(created_at=rec.at(0))
    t1 = rec.task(root, "t1", state=State.SUCCESS, created_at=rec.at(1))
    t2 = rec.task(root, "t2", type="WORKFLOW", state=State.ERROR, created_at=rec.at(2))
    t3 = rec.task(root, "t3", state=State.CANCELLED, created_at=rec.at(3))
    sub = rec.wf(
        workflow_name="sub", task_execution_id=t2.id, root_execution_id=root.id, created_at=rec.at(4)
    )
    s1 = rec.task(sub, "s1", state=State.ERROR, created_at=rec.at(5))
    records = [
        root,
        t1,
        t2,
        t3,
        sub,
        s1,
        rec.action(t1, "a2", created_at=rec.at(7)),
        rec.action(t1, "a1", created_at=rec.at(6)),
        rec.action(s1, "boom", state=State.ERROR, created_at=rec.at(8)),
    ]
    for record in records:
        store.insert(record)
    return str(root.id)


def _report(store: ExecutionStore, root: str, limit: int = 100, **request: Any) -> Report:
    engine = Engine(store, ActionRegistry.from_classes({}))
    return engine.reports.report(root, ReportRequest(**request), EVERY_PROJECT, limit)


def _shape(node: WorkflowNode) -> Any:
    return (
        node.wf_ex.workflow_name,
        None
        if node.tasks is None
        else [
            (t.task_ex.name, [a.name for a in t.action_exs], [_shape(w) for w in t.workflows])
            for t in node.tasks
        ],
    )


def test_the_tree_and_its_statistics(store: ExecutionStore, rec: Any) -> None:
    report = _report(store, _family(store, rec))

    assert report.root is not None
    assert _shape(report.root) == (
        "wf",
        [("t1", ["a1", "a2"], []), ("t2", [], [("sub", [("s1", ["boom"], [])])]), ("t3", [], [])],
    )
    assert report.statistics.counts["success_tasks_count"] == 1
    assert report.statistics.counts["error_tasks_count"] == 2
    assert report.statistics.total == 3  # CANCELLED is counted nowhere, as in Mistral
    assert report.statistics.estimated_time == -1  # RUNNING, and no successful run to guess from


def test_errors_only_max_depth_and_statistics_only(store: ExecutionStore, rec: Any) -> None:
    root = _family(store, rec)

    errors = _report(store, root, errors_only=True)
    assert errors.root is not None
    assert _shape(errors.root) == ("wf", [("t2", [], [("sub", [("s1", ["boom"], [])])])])
    shallow = _report(store, root, max_depth=0)
    assert shallow.root is not None and shallow.root.tasks is not None
    assert _shape(shallow.root.tasks[1].workflows[0]) == ("sub", None)
    statistics = _report(store, root, statistics_only=True)
    assert statistics.root is None and statistics.statistics.total == 3


def test_the_cap_counts_every_entry(store: ExecutionStore, rec: Any) -> None:
    root = _family(store, rec)

    assert _report(store, root, limit=9).root is not None  # 2 executions, 4 tasks, 3 actions
    with pytest.raises(InputError, match="has more than 8 entries"):
        _report(store, root, limit=8)


def test_a_workflow_renamed_by_id_keeps_its_id(store: ExecutionStore, rec: Any) -> None:
    definitions = Engine(store, ActionRegistry.from_classes({})).definitions
    (old,) = definitions.create_workflows(WF.format(name="before"))
    definitions.create_workflows(WF.format(name="taken"))

    renamed = definitions.update_workflow(old.id, WF.format(name="after"))

    assert (renamed.id, renamed.name) == (old.id, "after")
    stored = store.get_workflow_definition(old.id)
    assert dataclasses.astuple(stored)[:2] == (old.id, "after")
    assert stored.created_at == old.created_at
    with pytest.raises(DuplicateError, match="Workflow 'taken' already exists in namespace ''"):
        definitions.update_workflow(old.id, WF.format(name="taken"))
    assert store.get_workflow_definition(old.id).name == "after"


def test_the_database_counts_tasks_by_state(store: ExecutionStore, rec: Any) -> None:
    root = _family(store, rec)
    sub = store.list_workflow_executions(Query(filters=(Filter("root_execution_id", "eq", root),)))[0]

    assert store.count_task_states([root]) == {State.SUCCESS: 1, State.ERROR: 1, State.CANCELLED: 1}
    assert store.count_task_states([root, sub.id, root]) == {
        State.SUCCESS: 1,
        State.ERROR: 2,
        State.CANCELLED: 1,
    }
    assert store.count_task_states(["unknown"]) == {}
    assert store.count_task_states([]) == {}
