"""Cron triggers, environments, workbooks and ad-hoc actions: named, unique, found, replaced, listed.

What the four kinds share is tested once here over every kind; what only one
kind has (a cron trigger's field updates, namespaces) follows at the end.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import DuplicateError, InputError, NotFoundError
from mistral_core.model import Filter, Query


@dataclasses.dataclass(frozen=True)
class Kind:
    """How the port spells one kind of definition."""

    name: str
    namespaced: bool
    by_id: bool
    exists: str  # the DuplicateError message, {} standing for the name
    missing: str  # the NotFoundError message, {} standing for the identifier

    def make(self, rec: Any, name: str, **fields: Any) -> Any:
        return getattr(rec, self.name)(name, **fields)

    def create(self, store: ExecutionStore, record: Any) -> None:
        getattr(store, f"create_{self.name}")(record)

    def get(self, store: ExecutionStore, identifier: str, namespace: str = "") -> Any:
        return getattr(store, f"get_{self.name}")(identifier, *self._ns(namespace))

    def delete(self, store: ExecutionStore, identifier: str, namespace: str = "") -> None:
        getattr(store, f"delete_{self.name}")(identifier, *self._ns(namespace))

    def replace(self, store: ExecutionStore, record: Any) -> None:
        getattr(store, f"update_{self.name}")(record)

    def list(self, store: ExecutionStore, query: Query) -> list[Any]:
        result: list[Any] = getattr(store, f"list_{self.name}s")(query)
        return result

    def _ns(self, namespace: str) -> tuple[str, ...]:
        return (namespace,) if self.namespaced else ()


CRON = Kind(
    "cron_trigger", False, True, "CronTrigger '{}' already exists", "CronTrigger not found [identifier={}]"
)
ENV = Kind("environment", False, True, "Environment '{}' already exists", "Environment not found [name={}]")
WORKBOOK = Kind(
    "workbook", True, False, "Workbook '{}' already exists in namespace ''", "Workbook not found [name={}]"
)
ACTION = Kind(
    "action_definition",
    True,
    True,
    "Action '{}' already exists in namespace ''",
    "Action not found [name={}]",
)
KINDS = [CRON, ENV, WORKBOOK, ACTION]
REPLACEABLE = [ENV, WORKBOOK, ACTION]  # cron triggers are updated field by field
BY_ID = [kind for kind in KINDS if kind.by_id]


@pytest.fixture(params=KINDS, ids=lambda kind: kind.name)
def kind(request: pytest.FixtureRequest) -> Kind:
    """Each kind of named definition."""
    chosen: Kind = request.param
    return chosen


FULL: dict[str, dict[str, Any]] = {
    "cron_trigger": {
        "pattern": None,
        "workflow_input": {"n": [1, {"ünï": None}]},
        "workflow_params": {"env": {"k": "v"}, "namespace": "ns"},
        "first_execution_time": dt.datetime(2024, 5, 2, 8, 30, 0, 5),
        "remaining_executions": 3,
        "scope": "public",
        "project_id": "p",
    },
    "environment": {"variables": {"a": {"b": [1, 2.5, True]}}, "description": "déscr", "scope": "public"},
    "workbook": {"namespace": "ns", "tags": ("a", "☃"), "scope": "public", "project_id": "p"},
    "action_definition": {
        "namespace": "ns",
        "description": "echoes",
        "tags": ("t",),
        "workbook_name": "wb",
        "scope": "public",
    },
}


def test_round_trip_by_name(store: ExecutionStore, rec: Any, kind: Kind) -> None:
    record = kind.make(rec, "full", created_at=rec.at(0), updated_at=rec.at(1), **FULL[kind.name])
    kind.create(store, record)
    assert kind.get(store, "full", getattr(record, "namespace", "")) == record


@pytest.mark.parametrize("kind", BY_ID, ids=lambda kind: kind.name)
def test_found_by_id(store: ExecutionStore, rec: Any, kind: Kind) -> None:
    record = kind.make(rec, "x", created_at=rec.at(0))
    kind.create(store, record)
    assert kind.get(store, record.id) == record


def test_workbooks_are_found_by_name_only(store: ExecutionStore, rec: Any) -> None:
    workbook = rec.workbook("wb")
    store.create_workbook(workbook)
    with pytest.raises(NotFoundError):
        store.get_workbook(workbook.id)


def test_created_at_defaults_to_now(store: ExecutionStore, rec: Any, kind: Kind) -> None:
    kind.create(store, kind.make(rec, "x"))
    assert kind.get(store, "x").created_at is not None


def test_a_duplicate_name_is_refused(store: ExecutionStore, rec: Any, kind: Kind) -> None:
    kind.create(store, kind.make(rec, "x"))
    with pytest.raises(DuplicateError) as caught:
        kind.create(store, kind.make(rec, "x"))
    assert str(caught.value) == kind.exists.format("x")


def test_a_duplicate_id_is_refused(store: ExecutionStore, rec: Any, kind: Kind) -> None:
    first = kind.make(rec, "x")
    kind.create(store, first)
    with pytest.raises(DuplicateError, match="with id"):
        kind.create(store, kind.make(rec, "y", id=first.id))


def test_missing_message(store: ExecutionStore, kind: Kind) -> None:
    with pytest.raises(NotFoundError) as caught:
        kind.get(store, "nope")
    assert str(caught.value) == kind.missing.format("nope")


@pytest.mark.parametrize("kind", REPLACEABLE, ids=lambda kind: kind.name)
def test_replace_by_name_keeps_id_and_created_at(store: ExecutionStore, rec: Any, kind: Kind) -> None:
    record = kind.make(rec, "x", created_at=rec.at(0))
    kind.create(store, record)
    changed = kind.make(rec, "x", created_at=rec.at(50), updated_at=rec.at(60), **FULL[kind.name])
    changed = dataclasses.replace(changed, **_namespace_of(record))
    kind.replace(store, changed)
    assert kind.get(store, "x") == dataclasses.replace(changed, id=record.id, created_at=rec.at(0))


@pytest.mark.parametrize("kind", REPLACEABLE, ids=lambda kind: kind.name)
def test_replace_sets_updated_at(store: ExecutionStore, rec: Any, kind: Kind) -> None:
    record = kind.make(rec, "x", created_at=rec.at(0))
    kind.create(store, record)
    kind.replace(store, record)
    assert kind.get(store, "x").updated_at is not None


@pytest.mark.parametrize("kind", REPLACEABLE, ids=lambda kind: kind.name)
def test_replace_of_a_missing_name(store: ExecutionStore, rec: Any, kind: Kind) -> None:
    with pytest.raises(NotFoundError) as caught:
        kind.replace(store, kind.make(rec, "ghost"))
    assert str(caught.value) == kind.missing.format("ghost")


def test_delete_by_name(store: ExecutionStore, rec: Any, kind: Kind) -> None:
    _check_delete(store, rec, kind, by_id=False)


@pytest.mark.parametrize("kind", BY_ID, ids=lambda kind: kind.name)
def test_delete_by_id(store: ExecutionStore, rec: Any, kind: Kind) -> None:
    _check_delete(store, rec, kind, by_id=True)


def _check_delete(store: ExecutionStore, rec: Any, kind: Kind, by_id: bool) -> None:
    record, other = kind.make(rec, "x"), kind.make(rec, "y")
    kind.create(store, record)
    kind.create(store, other)
    kind.delete(store, record.id if by_id else "x")
    with pytest.raises(NotFoundError):
        kind.get(store, "x")
    assert kind.get(store, "y").id == other.id
    kind.create(store, kind.make(rec, "x"))  # the name is free again


def test_delete_of_a_missing_one(store: ExecutionStore, kind: Kind) -> None:
    with pytest.raises(NotFoundError) as caught:
        kind.delete(store, "nope")
    assert str(caught.value) == kind.missing.format("nope")


def test_list_sort_filter_and_page(store: ExecutionStore, rec: Any, kind: Kind) -> None:
    for i, name in enumerate(["b", "a", "d", "c"]):
        kind.create(store, kind.make(rec, name, id=f"id-{name}", created_at=rec.at(i)))
    assert [r.name for r in kind.list(store, Query())] == ["b", "a", "d", "c"]
    by_name = Query(sort=(("name", "desc"),))
    assert [r.name for r in kind.list(store, by_name)] == ["d", "c", "b", "a"]
    assert [r.name for r in kind.list(store, Query(sort=(("name", "desc"),), limit=2, marker="id-c"))] == [
        "b",
        "a",
    ]
    later = Query(filters=(Filter("created_at", "gte", rec.at(2).isoformat()),))
    assert [r.name for r in kind.list(store, later)] == ["d", "c"]
    with pytest.raises(InputError, match="colour"):
        kind.list(store, Query(filters=(Filter("colour", "eq", "red"),)))


class Boom(Exception):
    """Raised inside a transaction to make it roll back."""


def test_writes_roll_back_with_the_transaction(store: ExecutionStore, rec: Any, kind: Kind) -> None:
    kept = kind.make(rec, "kept", created_at=rec.at(0))
    kind.create(store, kept)
    with pytest.raises(Boom), store.atomic():
        kind.create(store, kind.make(rec, "added"))
        kind.delete(store, "kept")
        raise Boom()
    assert kind.get(store, "kept") == kept
    with pytest.raises(NotFoundError):
        kind.get(store, "added")


# -- cron triggers: updated field by field ------------------------------------------------
def test_update_cron_trigger_fields(store: ExecutionStore, rec: Any) -> None:
    trigger = rec.cron_trigger("t", remaining_executions=5, created_at=rec.at(0))
    store.create_cron_trigger(trigger)
    fired = dataclasses.replace(
        trigger,
        next_execution_time=rec.at(120),
        remaining_executions=4,
        pattern="ignored",
        updated_at=rec.at(61),
    )
    store.update_cron_trigger(fired, ("next_execution_time", "remaining_executions"))
    assert store.get_cron_trigger("t") == dataclasses.replace(fired, pattern=trigger.pattern)


def test_update_cron_trigger_sets_updated_at(store: ExecutionStore, rec: Any) -> None:
    trigger = rec.cron_trigger("t")
    store.create_cron_trigger(trigger)
    store.update_cron_trigger(
        dataclasses.replace(trigger, remaining_executions=None), ["remaining_executions"]
    )
    stored = store.get_cron_trigger(trigger.id)
    assert stored.updated_at is not None
    assert stored.remaining_executions is None


def test_update_of_a_missing_cron_trigger(store: ExecutionStore, rec: Any) -> None:
    with pytest.raises(NotFoundError, match=r"^CronTrigger not found \[id=gone\]$"):
        store.update_cron_trigger(rec.cron_trigger(id="gone"), ["pattern"])


def test_update_of_an_unknown_cron_trigger_field(store: ExecutionStore, rec: Any) -> None:
    trigger = rec.cron_trigger()
    store.create_cron_trigger(trigger)
    with pytest.raises(InputError, match="colour"):
        store.update_cron_trigger(trigger, ["colour"])


def test_cron_triggers_due_soonest_first(store: ExecutionStore, rec: Any) -> None:
    for name, seconds in (("late", 90), ("soon", 10), ("middle", 50)):
        store.create_cron_trigger(rec.cron_trigger(name, next_execution_time=rec.at(seconds)))
    soonest = Query(sort=(("next_execution_time", "asc"),), limit=2)
    assert [t.name for t in store.list_cron_triggers(soonest)] == ["soon", "middle"]


# -- namespaces: workbooks and ad-hoc actions -----------------------------------------------
NAMESPACED = [WORKBOOK, ACTION]


@pytest.mark.parametrize("kind", NAMESPACED, ids=lambda kind: kind.name)
def test_one_name_in_several_namespaces(store: ExecutionStore, rec: Any, kind: Kind) -> None:
    default, other = kind.make(rec, "x"), kind.make(rec, "x", namespace="ns")
    kind.create(store, default)
    kind.create(store, other)
    assert kind.get(store, "x").id == default.id
    assert kind.get(store, "x", "ns").id == other.id
    kind.delete(store, "x", "ns")
    assert kind.get(store, "x").id == default.id


@pytest.mark.parametrize("kind", NAMESPACED, ids=lambda kind: kind.name)
def test_a_name_is_looked_up_in_its_namespace_only(store: ExecutionStore, rec: Any, kind: Kind) -> None:
    kind.create(store, kind.make(rec, "x"))
    with pytest.raises(NotFoundError) as caught:
        kind.get(store, "x", "ns")
    assert str(caught.value) == kind.missing.format("x, namespace=ns")


@pytest.mark.parametrize("kind", NAMESPACED, ids=lambda kind: kind.name)
def test_duplicates_are_per_namespace(store: ExecutionStore, rec: Any, kind: Kind) -> None:
    kind.create(store, kind.make(rec, "x", namespace="ns"))
    with pytest.raises(DuplicateError, match="in namespace 'ns'"):
        kind.create(store, kind.make(rec, "x", namespace="ns"))


@pytest.mark.parametrize("kind", NAMESPACED, ids=lambda kind: kind.name)
def test_replace_in_a_namespace(store: ExecutionStore, rec: Any, kind: Kind) -> None:
    default, other = kind.make(rec, "x"), kind.make(rec, "x", namespace="ns")
    kind.create(store, default)
    kind.create(store, other)
    kind.replace(store, dataclasses.replace(other, definition="changed"))
    assert kind.get(store, "x", "ns").definition == "changed"
    assert kind.get(store, "x").definition == default.definition


def test_an_action_is_found_by_id_whatever_the_namespace(store: ExecutionStore, rec: Any) -> None:
    action_def = rec.action_definition("x", namespace="ns")
    store.create_action_definition(action_def)
    assert store.get_action_definition(action_def.id).name == "x"


def test_workbook_items_are_listed_by_prefix(store: ExecutionStore, rec: Any) -> None:
    for name, workbook in (("wb.a", "wb"), ("wb.b", "wb"), ("other.a", "other"), ("wbx", None)):
        store.create_action_definition(rec.action_definition(name, workbook_name=workbook))
    query = Query(filters=(Filter("name", "has", "wb."), Filter("namespace", "eq", "")))
    assert sorted(a.name for a in store.list_action_definitions(query)) == ["wb.a", "wb.b"]
    of_wb = Query(filters=(Filter("workbook_name", "eq", "wb"),))
    assert len(store.list_action_definitions(of_wb)) == 2


def _namespace_of(record: Any) -> dict[str, Any]:
    """The columns of the unique name besides the name: a replacement keeps them."""
    kept = {"project_id": record.project_id}
    return {**kept, "namespace": record.namespace} if hasattr(record, "namespace") else kept
