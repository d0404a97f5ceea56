"""Projects in the store, over every backend: what a viewer sees, which definition a name means,
names unique per project."""

from __future__ import annotations

from typing import Any

import pytest

from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import DuplicateError, NotFoundError
from mistral_core.model import EVERY_PROJECT, Filter, Query, Viewer

P1, P2, P3 = Viewer("p1"), Viewer("p2"), Viewer("p3")


def names(records: list[Any]) -> list[tuple[str, str]]:
    return [(r.name, r.project_id) for r in records]


# -- definitions -------------------------------------------------------------------------------------
def test_two_projects_may_use_one_name_but_not_one_project_twice(store: ExecutionStore, rec: Any) -> None:
    store.create_workflow_definition(rec.definition("wf", project_id="p1"))
    store.create_workflow_definition(rec.definition("wf", project_id="p2"))
    store.create_environment(rec.environment("env", project_id="p1"))
    store.create_environment(rec.environment("env", project_id="p2"))

    with pytest.raises(DuplicateError, match="Workflow 'wf' already exists"):
        store.create_workflow_definition(rec.definition("wf", project_id="p1"))
    with pytest.raises(DuplicateError, match="Environment 'env' already exists"):
        store.create_environment(rec.environment("env", project_id="p2"))


def test_a_name_means_the_viewers_own_then_the_oldest_public_one(store: ExecutionStore, rec: Any) -> None:
    store.create_workflow_definition(
        rec.definition("wf", project_id="p1", scope="public", created_at=rec.at(0))
    )
    store.create_workflow_definition(rec.definition("wf", project_id="p2", created_at=rec.at(1)))
    store.create_workflow_definition(
        rec.definition("wf", project_id="p4", scope="public", created_at=rec.at(2))
    )

    assert store.get_workflow_definition("wf", "", P2).project_id == "p2"  # its own, private
    assert store.get_workflow_definition("wf", "", P1).project_id == "p1"
    assert store.get_workflow_definition("wf", "", P3).project_id == "p1"  # the oldest public one
    assert store.get_workflow_definition("wf", "", Viewer("p2", all_projects=True)).project_id == "p2"


def test_a_viewer_of_every_project_finds_a_private_one_elsewhere(store: ExecutionStore, rec: Any) -> None:
    store.create_environment(rec.environment("env", project_id="p1"))

    assert store.get_environment("env").project_id == "p1"  # the default viewer sees every project
    with pytest.raises(NotFoundError, match=r"^Environment not found \[name=env\]$"):
        store.get_environment("env", P2)


def test_an_id_of_another_projects_private_definition_is_not_found(store: ExecutionStore, rec: Any) -> None:
    private = rec.definition("wf", project_id="p1")
    public = rec.action_definition("act", project_id="p1", scope="public")
    store.create_workflow_definition(private)
    store.create_action_definition(public)

    with pytest.raises(NotFoundError) as caught:
        store.get_workflow_definition(private.id, "", P2)
    assert str(caught.value) == f"Workflow not found [workflow_identifier={private.id}, namespace=]"
    assert store.get_action_definition(public.id, "", P2) == store.get_action_definition(public.id)
    with pytest.raises(NotFoundError):
        store.delete_workflow_definition(private.id, "", P2)
    store.get_workflow_definition(private.id)  # still there


def test_each_kind_is_found_per_project(store: ExecutionStore, rec: Any) -> None:
    store.create_cron_trigger(rec.cron_trigger("t", project_id="p1"))
    store.create_workbook(rec.workbook("wb", project_id="p1"))
    store.create_workbook(rec.workbook("wb", project_id="p2", scope="public"))

    assert store.get_cron_trigger("t", P1).name == "t"
    with pytest.raises(NotFoundError):
        store.get_cron_trigger("t", P2)
    assert store.get_workbook("wb", "", P1).project_id == "p1"
    assert store.get_workbook("wb", "", P3).project_id == "p2"


def test_a_replacement_stays_in_its_project(store: ExecutionStore, rec: Any) -> None:
    first = rec.environment("env", project_id="p1", variables={"v": 1})
    store.create_environment(first)
    store.create_environment(rec.environment("env", project_id="p2", variables={"v": 2}))

    store.update_environment(rec.environment("env", project_id="p2", variables={"v": 3}))

    assert store.get_environment("env", P1).variables == {"v": 1}
    assert store.get_environment("env", P2).variables == {"v": 3}
    with pytest.raises(NotFoundError):
        store.update_environment(rec.environment("env", project_id="p3"))


def test_lists_show_the_projects_own_and_public_ones(store: ExecutionStore, rec: Any) -> None:
    store.create_workflow_definition(rec.definition("a", project_id="p1", created_at=rec.at(0)))
    store.create_workflow_definition(rec.definition("b", project_id="p2", created_at=rec.at(1)))
    store.create_workflow_definition(
        rec.definition("c", project_id="p2", scope="public", created_at=rec.at(2))
    )

    assert names(store.list_workflow_definitions(Query(project="p1"))) == [("a", "p1"), ("c", "p2")]
    assert names(store.list_workflow_definitions(Query(project="p2"))) == [("b", "p2"), ("c", "p2")]
    assert len(store.list_workflow_definitions(Query())) == 3
    narrowed = Query(filters=(Filter("project_id", "eq", "p2"),), project="p1")
    assert names(store.list_workflow_definitions(narrowed)) == [("c", "p2")]


# -- executions -------------------------------------------------------------------------------------
def test_executions_are_their_projects_only(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf(project_id="p1", created_at=rec.at(0))
    task = rec.task(wf_ex, project_id="p1", created_at=rec.at(0))
    action = rec.action(task, project_id="p1", created_at=rec.at(0))
    other = rec.wf(project_id="p2", created_at=rec.at(1))
    for record in (wf_ex, task, action, other):
        store.insert(record)

    assert store.get_workflow_execution(wf_ex.id, P1) == wf_ex
    for read, record, label in (
        (store.get_workflow_execution, wf_ex, "WorkflowExecution"),
        (store.get_task_execution, task, "TaskExecution"),
        (store.get_action_execution, action, "ActionExecution"),
    ):
        with pytest.raises(NotFoundError) as caught:
            read(record.id, P2)
        assert str(caught.value) == f"{label} not found [id={record.id}]"
        assert read(record.id, Viewer("p2", all_projects=True)) == record
    assert [w.id for w in store.list_workflow_executions(Query(project="p1"))] == [wf_ex.id]
    assert [t.id for t in store.list_task_executions(Query(project="p2"))] == []
    assert [a.id for a in store.list_action_executions(Query(project="p1"))] == [action.id]
    assert len(store.list_workflow_executions(Query(project=EVERY_PROJECT.only))) == 2


def test_a_marker_of_another_project_is_not_found(store: ExecutionStore, rec: Any) -> None:
    mine, theirs = (
        rec.wf(project_id="p1", created_at=rec.at(0)),
        rec.wf(project_id="p2", created_at=rec.at(1)),
    )
    store.insert(mine)
    store.insert(theirs)

    with pytest.raises(NotFoundError, match=theirs.id):
        store.list_workflow_executions(Query(project="p1", marker=theirs.id))
    assert store.list_workflow_executions(Query(project="p1", marker=mine.id)) == []
