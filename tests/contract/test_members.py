"""Sharing in the store, over every backend: memberships kept one per workflow and project, and a
workflow shared with a project, accepted, seen by it as a public one (by id, by name, in lists and
pages), and by no one else; deleting the workflow deletes its memberships."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import DuplicateError, NotFoundError
from mistral_core.model import Query, Viewer
from mistral_core.model.members import ACCEPTED, PENDING, REJECTED, WORKFLOW, ResourceMember

P1, P2, P3 = Viewer("p1"), Viewer("p2"), Viewer("p3")


def member(wf_id: str, member_id: str, status: str = PENDING, n: int = 0) -> ResourceMember:
    return ResourceMember(f"m-{wf_id}-{member_id}-{n}", wf_id, WORKFLOW, "p1", member_id, status)


def shared_workflow(store: ExecutionStore, rec: Any, status: str, name: str = "wf") -> str:
    wf_def = rec.definition(name, project_id="p1")
    store.create_workflow_definition(wf_def)
    store.create_resource_member(member(wf_def.id, "p2", status))
    return str(wf_def.id)


def listed(store: ExecutionStore, viewer: Viewer, **query: Any) -> list[str]:
    return [w.name for w in store.list_workflow_definitions(Query(project=viewer.only, **query))]


def test_a_membership_is_kept_once_per_workflow_and_project(store: ExecutionStore, rec: Any) -> None:
    wf_id = shared_workflow(store, rec, PENDING)
    store.create_resource_member(member(wf_id, "p3"))

    with pytest.raises(DuplicateError, match=f"workflow {wf_id} is already shared with project p2"):
        store.create_resource_member(member(wf_id, "p2", n=1))
    found = store.get_resource_member(WORKFLOW, wf_id, "p2")
    assert found is not None and (found.status, found.project_id) == (PENDING, "p1")
    assert found.created_at is not None
    assert [m.member_id for m in store.list_resource_members(WORKFLOW, wf_id)] == ["p2", "p3"]
    assert store.get_resource_member(WORKFLOW, wf_id, "p4") is None
    assert store.get_resource_member("workbook", wf_id, "p2") is None


def test_a_status_is_written_and_a_membership_deleted(store: ExecutionStore, rec: Any) -> None:
    wf_id = shared_workflow(store, rec, PENDING)
    found = store.get_resource_member(WORKFLOW, wf_id, "p2")
    assert found is not None

    store.update_resource_member(dataclasses.replace(found, status=ACCEPTED))
    accepted = store.get_resource_member(WORKFLOW, wf_id, "p2")
    assert accepted is not None and accepted.status == ACCEPTED and accepted.updated_at is not None
    store.delete_resource_member(found)
    assert store.list_resource_members(WORKFLOW, wf_id) == []


@pytest.mark.parametrize("status", [PENDING, REJECTED])
def test_a_workflow_not_accepted_stays_unseen(store: ExecutionStore, rec: Any, status: str) -> None:
    wf_id = shared_workflow(store, rec, status)

    for identifier in (wf_id, "wf"):
        with pytest.raises(NotFoundError, match=r"^Workflow not found"):
            store.get_workflow_definition(identifier, "", P2)
    assert listed(store, P2) == []


def test_an_accepted_workflow_is_seen_by_its_member_only(store: ExecutionStore, rec: Any) -> None:
    wf_id = shared_workflow(store, rec, ACCEPTED)
    store.create_workflow_definition(rec.definition("other", project_id="p1"))

    assert store.get_workflow_definition(wf_id, "", P2).project_id == "p1"
    assert store.get_workflow_definition("wf", "", P2).id == wf_id
    assert listed(store, P2) == ["wf"]
    assert sorted(listed(store, P1)) == ["other", "wf"]
    assert listed(store, P3) == []
    with pytest.raises(NotFoundError):
        store.get_workflow_definition(wf_id, "", P3)


def test_a_name_means_the_members_own_workflow_before_a_shared_one(store: ExecutionStore, rec: Any) -> None:
    wf_id = shared_workflow(store, rec, ACCEPTED)
    own = rec.definition("wf", project_id="p2")
    store.create_workflow_definition(own)

    assert store.get_workflow_definition("wf", "", P2).id == own.id
    assert store.get_workflow_definition(wf_id, "", P2).id == wf_id  # by id: the shared one
    assert sorted(w.project_id for w in store.list_workflow_definitions(Query(project="p2"))) == ["p1", "p2"]


def test_a_page_may_start_after_a_shared_workflow(store: ExecutionStore, rec: Any) -> None:
    wf_id = shared_workflow(store, rec, ACCEPTED)
    store.create_workflow_definition(rec.definition("zz", project_id="p2"))

    after = Query(project="p2", marker=wf_id, sort=(("name", "asc"),))
    assert [w.name for w in store.list_workflow_definitions(after)] == ["zz"]
    with pytest.raises(NotFoundError):
        store.list_workflow_definitions(Query(project="p3", marker=wf_id))


def test_deleting_a_workflow_deletes_its_memberships(store: ExecutionStore, rec: Any) -> None:
    wf_id = shared_workflow(store, rec, ACCEPTED)
    keep = shared_workflow(store, rec, ACCEPTED, name="kept")

    store.delete_workflow_definition(wf_id)

    assert store.list_resource_members(WORKFLOW, wf_id) == []
    assert [m.member_id for m in store.list_resource_members(WORKFLOW, keep)] == ["p2"]
    assert listed(store, P2) == ["kept"]
