"""Workflow definitions: unique per (name, namespace), found by id or by name."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import DuplicateError, NotFoundError
from mistral_core.model import Filter, Query


def test_definition_round_trip(store: ExecutionStore, rec: Any) -> None:
    wf_def = rec.definition(
        "my_wf",
        namespace="ns",
        tags=("a", "☃"),
        scope="public",
        project_id="p",
        spec={"tasks": {"t": {"action": "std.echo", "input": {"output": [1, None]}}}},
        created_at=rec.at(0),
    )
    store.create_workflow_definition(wf_def)
    assert store.get_workflow_definition(wf_def.id) == wf_def
    assert store.get_workflow_definition("my_wf", "ns") == wf_def


def test_duplicate_name_in_a_namespace(store: ExecutionStore, rec: Any) -> None:
    store.create_workflow_definition(rec.definition("wf1", namespace="ns"))
    with pytest.raises(DuplicateError) as caught:
        store.create_workflow_definition(rec.definition("wf1", namespace="ns"))
    assert str(caught.value) == "Workflow 'wf1' already exists in namespace 'ns'"


def test_same_name_in_other_namespaces(store: ExecutionStore, rec: Any) -> None:
    default, other = rec.definition("wf1"), rec.definition("wf1", namespace="other")
    store.create_workflow_definition(default)
    store.create_workflow_definition(other)
    assert store.get_workflow_definition("wf1").id == default.id
    assert store.get_workflow_definition("wf1", "other").id == other.id


def test_lookup_by_id_ignores_the_namespace(store: ExecutionStore, rec: Any) -> None:
    wf_def = rec.definition("wf1", namespace="ns")
    store.create_workflow_definition(wf_def)
    assert store.get_workflow_definition(wf_def.id).name == "wf1"


def test_name_is_not_found_in_another_namespace(store: ExecutionStore, rec: Any) -> None:
    store.create_workflow_definition(rec.definition("wf1", namespace="ns"))
    with pytest.raises(NotFoundError) as caught:
        store.get_workflow_definition("wf1", "elsewhere")
    assert str(caught.value) == "Workflow not found [workflow_identifier=wf1, namespace=elsewhere]"


def test_missing_definition_message(store: ExecutionStore) -> None:
    with pytest.raises(NotFoundError) as caught:
        store.get_workflow_definition("no_such_workflow")
    assert str(caught.value) == "Workflow not found [workflow_identifier=no_such_workflow, namespace=]"


def test_update_replaces_by_name_and_keeps_id(store: ExecutionStore, rec: Any) -> None:
    wf_def = rec.definition("wf1", created_at=rec.at(0))
    store.create_workflow_definition(wf_def)
    new_text = dataclasses.replace(
        wf_def,
        id="ignored-new-id",
        definition="changed",
        spec={"changed": True},
        checksum="d" * 32,
        tags=("x",),
        created_at=rec.at(50),
        updated_at=rec.at(60),
    )
    store.update_workflow_definition(new_text)
    stored = store.get_workflow_definition("wf1")
    assert stored == dataclasses.replace(new_text, id=wf_def.id, created_at=rec.at(0))


def test_update_of_a_missing_definition(store: ExecutionStore, rec: Any) -> None:
    with pytest.raises(NotFoundError, match=r"workflow_identifier=ghost, namespace=ns"):
        store.update_workflow_definition(rec.definition("ghost", namespace="ns"))


@pytest.mark.parametrize("by", ["id", "name"])
def test_delete_by_id_or_name(store: ExecutionStore, rec: Any, by: str) -> None:
    wf_def = rec.definition("wf1", namespace="ns")
    store.create_workflow_definition(wf_def)
    store.delete_workflow_definition(wf_def.id if by == "id" else "wf1", "ns")
    with pytest.raises(NotFoundError):
        store.get_workflow_definition(wf_def.id)
    store.create_workflow_definition(rec.definition("wf1", namespace="ns"))


def test_delete_of_a_missing_definition(store: ExecutionStore) -> None:
    with pytest.raises(NotFoundError, match=r"^Workflow not found \[workflow_identifier=x, namespace=\]$"):
        store.delete_workflow_definition("x")


def test_list_definitions(store: ExecutionStore, rec: Any) -> None:
    for i, name in enumerate(["b", "a", "c"]):
        store.create_workflow_definition(rec.definition(name, created_at=rec.at(i), tags=(f"t{i}",)))
    store.create_workflow_definition(rec.definition("a", namespace="ns", created_at=rec.at(9)))
    every = store.list_workflow_definitions(Query())
    assert [d.name for d in every] == ["b", "a", "c", "a"]
    by_name = store.list_workflow_definitions(Query(sort=(("name", "asc"), ("namespace", "desc"))))
    assert [(d.name, d.namespace) for d in by_name] == [("a", "ns"), ("a", ""), ("b", ""), ("c", "")]
    tagged = store.list_workflow_definitions(Query(filters=(Filter("tags", "has", "t1"),)))
    assert [d.name for d in tagged] == ["a"]
