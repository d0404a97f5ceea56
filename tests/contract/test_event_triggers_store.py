"""Event triggers and the messages they took, in every store: one trigger per exchange, topic,
event and workflow in a project; found by id as a project sees it; a message taken once."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import DuplicateError, NotFoundError
from mistral_core.model import Filter, Query, Viewer
from mistral_core.model.event_triggers import EventMessage, EventTrigger, message_key

TRIGGER = EventTrigger("t1", "on_create", "wf-1", "nova", "notifications", "compute.create", project_id="p1")


def test_a_trigger_is_stored_found_changed_listed_and_deleted(store: ExecutionStore) -> None:
    store.create_event_trigger(dataclasses.replace(TRIGGER, workflow_input={"a": [1]}))

    found = store.get_event_trigger("t1", Viewer("p1"))
    assert (found.workflow_input, found.exchange, found.created_at is not None) == ({"a": [1]}, "nova", True)
    store.update_event_trigger(dataclasses.replace(found, name="renamed"), ("name",))
    assert store.get_event_trigger("t1").name == "renamed"
    assert [
        t.id for t in store.list_event_triggers(Query(filters=(Filter("topic", "eq", "notifications"),)))
    ] == ["t1"]
    assert store.list_event_triggers(Query(project="p2")) == []
    store.delete_event_trigger("t1")
    with pytest.raises(NotFoundError, match=r"Event trigger not found \[id=t1\]\."):
        store.get_event_trigger("t1")


def test_another_projects_private_trigger_is_not_found(store: ExecutionStore) -> None:
    store.create_event_trigger(TRIGGER)

    with pytest.raises(NotFoundError, match=r"Event trigger not found \[id=t1\]\."):
        store.get_event_trigger("t1", Viewer("p2"))


def test_one_trigger_per_exchange_topic_event_and_workflow_in_a_project(store: ExecutionStore) -> None:
    store.create_event_trigger(TRIGGER)

    with pytest.raises(DuplicateError, match="Duplicate entry for EventTrigger"):
        store.create_event_trigger(dataclasses.replace(TRIGGER, id="t2", name="other"))
    store.create_event_trigger(dataclasses.replace(TRIGGER, id="t3", project_id="p2"))
    store.create_event_trigger(dataclasses.replace(TRIGGER, id="t4", event="compute.delete"))


def test_a_message_is_taken_once_and_forgotten_with_its_trigger(store: ExecutionStore) -> None:
    store.create_event_trigger(TRIGGER)
    key = message_key("t1", "msg-1")

    assert store.take_event_message(EventMessage(key, "t1", "msg-1", "ex-1"))
    assert not store.take_event_message(EventMessage(key, "t1", "msg-1", "ex-2"))
    taken = store.get_event_message(key)
    assert taken is not None and taken.workflow_execution_id == "ex-1"
    store.delete_event_trigger("t1")
    assert store.get_event_message(key) is None


def test_a_message_taken_in_a_transaction_that_fails_is_not_taken(store: ExecutionStore) -> None:
    key = message_key("t1", "msg-1")

    with pytest.raises(RuntimeError), store.atomic():
        assert store.take_event_message(EventMessage(key, "t1", "msg-1", "ex-1"))
        raise RuntimeError("the execution could not start")
    assert store.get_event_message(key) is None


def test_the_records_of_old_messages_are_forgotten(store: ExecutionStore) -> None:
    old, new = dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 8)
    store.take_event_message(EventMessage("k-old", "t1", "m-old", "ex-1", old))
    store.take_event_message(EventMessage("k-new", "t1", "m-new", "ex-2", new))

    assert store.forget_event_messages(dt.datetime(2026, 1, 5)) == 1
    assert store.get_event_message("k-old") is None
    assert store.get_event_message("k-new") is not None
