"""Children of executions, cascade delete, and the action executions left to recover."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import NotFoundError
from mistral_core.model import Query, State


def test_task_executions_of_oldest_first(store: ExecutionStore, rec: Any) -> None:
    wf_ex, other = rec.wf(), rec.wf()
    store.insert(wf_ex)
    store.insert(other)
    late = rec.task(wf_ex, "late", created_at=rec.at(5))
    same = [rec.task(wf_ex, f"same{i}", created_at=rec.at(1)) for i in range(6)]
    early = rec.task(wf_ex, "early", created_at=rec.at(0))
    for task_ex in [late, *same, early, rec.task(other, "foreign")]:
        store.insert(task_ex)
    names = [t.name for t in store.task_executions_of(wf_ex.id)]
    assert names == ["early", *[f"same{i}" for i in range(6)], "late"]
    assert store.task_executions_of("unknown") == []


def test_action_executions_of_oldest_first(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    t1, t2 = rec.task(wf_ex, "t1"), rec.task(wf_ex, "t2")
    for record in (wf_ex, t1, t2):
        store.insert(record)
    actions = [rec.action(t1, f"a{i}", created_at=rec.at(2 - i // 2)) for i in range(4)]
    for action_ex in actions:
        store.insert(action_ex)
    store.insert(rec.action(t2, "other"))
    assert [a.name for a in store.action_executions_of(t1.id)] == ["a2", "a3", "a0", "a1"]


def _tree(store: ExecutionStore, rec: Any) -> dict[str, Any]:
    """A workflow with two tasks, one running a sub-workflow that runs another one."""
    root = rec.wf(description="root")
    t1, t2 = rec.task(root, "t1"), rec.task(root, "t2", type="WORKFLOW")
    sub = rec.wf(description="sub", task_execution_id=t2.id, root_execution_id=root.id)
    sub_task = rec.task(sub, "s1", type="WORKFLOW")
    subsub = rec.wf(description="subsub", task_execution_id=sub_task.id, root_execution_id=root.id)
    subsub_task = rec.task(subsub, "ss1")
    records = [root, t1, t2, sub, sub_task, subsub, subsub_task]
    actions = [rec.action(t1), rec.action(t1), rec.action(subsub_task)]
    for record in records + actions:
        store.insert(record)
    return {"root": root, "records": records, "actions": actions, "sub": sub}


def test_delete_cascades_to_tasks_actions_and_sub_workflows(store: ExecutionStore, rec: Any) -> None:
    tree = _tree(store, rec)
    bystander = rec.wf(description="bystander")
    by_task = rec.task(bystander)
    by_action = rec.action(by_task)
    ad_hoc = rec.action()
    for record in (bystander, by_task, by_action, ad_hoc):
        store.insert(record)

    store.delete_workflow_execution(tree["root"].id)

    assert [w.id for w in store.list_workflow_executions(Query())] == [bystander.id]
    assert [t.id for t in store.list_task_executions(Query())] == [by_task.id]
    assert {a.id for a in store.list_action_executions(Query())} == {by_action.id, ad_hoc.id}


def test_delete_of_a_sub_workflow_leaves_its_parent(store: ExecutionStore, rec: Any) -> None:
    tree = _tree(store, rec)
    store.delete_workflow_execution(tree["sub"].id)
    remaining = {w.description for w in store.list_workflow_executions(Query())}
    assert remaining == {"root"}
    assert len(store.task_executions_of(tree["root"].id)) == 2
    assert len(store.list_action_executions(Query())) == 2


def test_delete_of_a_missing_workflow_execution(store: ExecutionStore) -> None:
    with pytest.raises(NotFoundError, match=r"^WorkflowExecution not found \[id=nope\]$"):
        store.delete_workflow_execution("nope")


def test_unfinished_action_executions(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    task_ex = rec.task(wf_ex)
    store.insert(wf_ex)
    store.insert(task_ex)
    states = [State.RUNNING, State.SUCCESS, State.PAUSED, State.ERROR, State.CANCELLED, State.RUNNING]
    actions = [rec.action(task_ex, f"a{i}", state=s, created_at=rec.at(i)) for i, s in enumerate(states)]
    for action_ex in actions:
        store.insert(action_ex)
    ad_hoc = rec.action(name="adhoc", created_at=rec.at(10))
    store.insert(ad_hoc)
    assert [a.name for a in store.unfinished_action_executions()] == ["a0", "a2", "a5", "adhoc"]
    store.update(dataclasses.replace(actions[0], state=State.SUCCESS), ["state"])
    assert [a.name for a in store.unfinished_action_executions()] == ["a2", "a5", "adhoc"]
