"""Insert, get and update of every execution record type: every field survives the trip."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from mistral_core.engine.ports import ExecutionStore
from mistral_core.errors import InputError, NotFoundError, StoreError
from mistral_core.model import DISPATCH_HANDED_OFF, State, TaskFlags, Trigger

NESTED = {"a": [1, 2.5, {"b": None, "c": [True, False]}], "ünï": "☃ 日本", "empty": {}, "list": []}
SCALARS: list[Any] = [3, 2.5, "text", True, None, [1, "x"], {"result": NESTED}, "ünïcødé ☃"]


def test_workflow_execution_round_trip(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf(
        workflow_namespace="ns1",
        description="déscription",
        tags=("a", "b ☃"),
        params={"env": {"k": "v"}, "namespace": "ns1"},
        input=NESTED,
        output={"x": 1},
        context={"__execution": {"id": "e"}},
        state_info="info",
        task_execution_id=None,
        root_execution_id="root-id",
        project_id="p1",
        created_at=rec.at(0),
        updated_at=rec.at(1),
    )
    store.insert(wf_ex)
    assert store.get_workflow_execution(wf_ex.id) == wf_ex


def test_task_execution_round_trip(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    store.insert(wf_ex)
    task_ex = rec.task(
        wf_ex,
        workflow_namespace="ns",
        type="WORKFLOW",
        state=State.WAITING,
        state_info=None,
        in_context={"x": NESTED},
        published={"p": [1, 2]},
        result=3,
        runtime_context=TaskFlags(retry_no=2, triggered_by=(Trigger("t0", "on-success"),)),
        processed=True,
        tags=("t",),
        created_at=rec.at(0),
        updated_at=None,
        started_at=rec.at(0.5),
        finished_at=rec.at(2),
    )
    store.insert(task_ex)
    assert store.get_task_execution(task_ex.id) == task_ex


def test_action_execution_round_trip(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    task_ex = rec.task(wf_ex)
    store.insert(wf_ex)
    store.insert(task_ex)
    action_ex = rec.action(
        task_ex,
        workflow_namespace="ns",
        is_sync=False,
        accepted=True,
        input={"url": "http://x", "n": NESTED},
        output={"result": 3},
        state_info="ok",
        description="d",
        tags=None,
        params={"timeout": 10},
        dispatch=DISPATCH_HANDED_OFF,
        created_at=rec.at(0),
    )
    store.insert(action_ex)
    assert store.get_action_execution(action_ex.id) == action_ex


def test_ad_hoc_action_without_task(store: ExecutionStore, rec: Any) -> None:
    action_ex = rec.action(tags=("x",), created_at=rec.at(0))
    store.insert(action_ex)
    assert store.get_action_execution(action_ex.id) == action_ex


@pytest.mark.parametrize("value", SCALARS)
def test_json_fields_keep_any_value(store: ExecutionStore, rec: Any, value: Any) -> None:
    wf_ex = rec.wf(output=value)
    task_ex = rec.task(wf_ex, result=value)
    action_ex = rec.action(task_ex, output=value)
    for record in (wf_ex, task_ex, action_ex):
        store.insert(record)
    assert store.get_workflow_execution(wf_ex.id).output == value
    assert store.get_task_execution(task_ex.id).result == value
    assert store.get_action_execution(action_ex.id).output == value


def test_insert_sets_created_at_and_keeps_updated_at_none(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    store.insert(wf_ex)
    stored = store.get_workflow_execution(wf_ex.id)
    assert isinstance(stored.created_at, dt.datetime)
    assert stored.created_at.tzinfo is None
    assert stored.updated_at is None


def test_aware_datetimes_are_stored_as_naive_utc(store: ExecutionStore, rec: Any) -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    wf_ex = rec.wf(created_at=dt.datetime(2024, 1, 1, 14, 0, tzinfo=plus_two))
    store.insert(wf_ex)
    assert store.get_workflow_execution(wf_ex.id).created_at == dt.datetime(2024, 1, 1, 12, 0)


def test_records_read_back_are_copies(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf(context={"k": [1]})
    store.insert(wf_ex)
    wf_ex.context["k"].append(2)
    first = store.get_workflow_execution(wf_ex.id)
    first.context["k"].append(3)
    assert store.get_workflow_execution(wf_ex.id).context == {"k": [1]}


def test_update_writes_only_the_named_fields(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf(created_at=rec.at(0), description="old")
    store.insert(wf_ex)
    changed = dataclasses.replace(
        wf_ex,
        state=State.SUCCESS,
        output={"r": "☃"},
        description="new",
        updated_at=rec.at(5),
    )
    store.update(changed, ["state", "output"])
    stored = store.get_workflow_execution(wf_ex.id)
    assert stored.state is State.SUCCESS
    assert stored.output == {"r": "☃"}
    assert stored.description == "old"
    assert stored.updated_at == rec.at(5)


def test_update_sets_updated_at_to_now_when_record_has_none(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf(created_at=rec.at(0))
    store.insert(wf_ex)
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
    store.update(dataclasses.replace(wf_ex, state=State.ERROR), ["state"])
    updated_at = store.get_workflow_execution(wf_ex.id).updated_at
    assert updated_at is not None
    assert updated_at >= before


def test_update_of_task_and_action_fields(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    task_ex = rec.task(wf_ex, created_at=rec.at(0))
    action_ex = rec.action(task_ex, created_at=rec.at(0))
    for record in (wf_ex, task_ex, action_ex):
        store.insert(record)
    done_task = dataclasses.replace(
        task_ex, state=State.SUCCESS, result=3, published={"v": 3}, finished_at=rec.at(9), processed=True
    )
    store.update(done_task, ["state", "result", "published", "finished_at", "processed"])
    done_action = dataclasses.replace(action_ex, state=State.SUCCESS, output={"result": 3}, accepted=True)
    store.update(done_action, ["state", "output", "accepted"])
    task_back = store.get_task_execution(task_ex.id)
    assert dataclasses.replace(task_back, updated_at=None) == done_task
    action_back = store.get_action_execution(action_ex.id)
    assert dataclasses.replace(action_back, updated_at=None) == done_action


def test_update_rejects_unknown_fields(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    store.insert(wf_ex)
    with pytest.raises(InputError, match="bogus"):
        store.update(wf_ex, ["bogus"])


def test_update_of_a_missing_record(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    with pytest.raises(NotFoundError, match=rf"^WorkflowExecution not found \[id={wf_ex.id}\]$"):
        store.update(wf_ex, ["state"])


@pytest.mark.parametrize(
    ("getter", "label"),
    [
        ("get_workflow_execution", "WorkflowExecution"),
        ("get_task_execution", "TaskExecution"),
        ("get_action_execution", "ActionExecution"),
    ],
)
def test_not_found_messages(store: ExecutionStore, getter: str, label: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        getattr(store, getter)("nope-1")
    assert str(caught.value) == f"{label} not found [id=nope-1]"


def test_duplicate_id_is_a_store_error(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    store.insert(wf_ex)
    with pytest.raises(StoreError):
        store.insert(wf_ex)


def test_task_needs_its_workflow_execution(store: ExecutionStore, rec: Any) -> None:
    orphan = rec.task(rec.wf())
    with pytest.raises(StoreError):
        store.insert(orphan)
    with pytest.raises(NotFoundError):
        store.get_task_execution(orphan.id)


def test_action_needs_its_task_execution(store: ExecutionStore, rec: Any) -> None:
    wf_ex = rec.wf()
    store.insert(wf_ex)
    with pytest.raises(StoreError):
        store.insert(rec.action(rec.task(wf_ex)))


def test_values_that_are_not_json_are_a_store_error(store: ExecutionStore, rec: Any) -> None:
    with pytest.raises(StoreError, match="input"):
        store.insert(rec.wf(input={"x": object()}))


def test_spec_snapshots_are_saved_once(store: ExecutionStore) -> None:
    spec = {"name": "wf", "tasks": {"t1": {"action": "std.noop"}}, "ü": "☃"}
    store.save_spec("sum1", spec)
    store.save_spec("sum1", spec)
    store.save_spec("sum1", {"other": True})
    assert store.get_spec("sum1") == spec


def test_missing_spec(store: ExecutionStore) -> None:
    with pytest.raises(NotFoundError, match="nope"):
        store.get_spec("nope")
