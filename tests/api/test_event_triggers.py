"""``/v2/event_triggers``: create, list, get, update, delete as Mistral 23 answers them; bad input in
one line; and a message fired through a trigger starts its workflow once, the event in
``params.event_params``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest

from mistral_core.model.event_triggers import read_notification
from mistral_core.services.event_triggers import Outcome
from tests.api.support import Api, assert_fault

KEYS = {
    "id",
    "name",
    "workflow_id",
    "workflow_input",
    "workflow_params",
    "exchange",
    "topic",
    "event",
    "scope",
    "project_id",
    "created_at",
    "updated_at",
}


def body(api: Api, **extra: Any) -> dict[str, Any]:
    (wf,) = api.get("/v2/workflows", params={"name": "wf_async"}).json["workflows"]
    given = {"name": "on_create", "exchange": "nova", "topic": "notifications", "event": "compute.create"}
    return {**given, "workflow_id": wf["id"], **extra}


def created(api: Api, **extra: Any) -> dict[str, Any]:
    result = api.post_json("/v2/event_triggers", body(api, **extra))
    assert result.status_code == 201, result.text
    trigger: dict[str, Any] = result.json
    return trigger


def test_create_get_list_update_delete(wf_api: Api) -> None:
    trigger = created(wf_api, workflow_input={"x": 2}, workflow_params={"env": {"k": "v"}})

    assert set(trigger) == KEYS
    # As Mistral 23 sends them: JSON strings.
    assert json.loads(trigger["workflow_input"]) == {"x": 2}
    assert json.loads(trigger["workflow_params"]) == {"env": {"k": "v"}}
    assert (trigger["scope"], trigger["updated_at"]) == ("private", None)
    assert wf_api.get(f"/v2/event_triggers/{trigger['id']}").json == trigger
    assert wf_api.get("/v2/event_triggers").json["event_triggers"] == [trigger]
    assert wf_api.get("/v2/event_triggers", params={"event": "other"}).json["event_triggers"] == []

    changed = wf_api.put_json(
        f"/v2/event_triggers/{trigger['id']}", {"name": "renamed", "workflow_input": "{}"}
    )

    assert changed.status_code == 200, changed.text
    assert changed.json["name"] == "renamed" and changed.json["workflow_input"] == "{}"
    assert changed.json["updated_at"] is not None and changed.json["exchange"] == "nova"
    assert wf_api.client.simulate_delete(f"/v2/event_triggers/{trigger['id']}").status_code == 204
    assert_fault(
        wf_api.get(f"/v2/event_triggers/{trigger['id']}"),
        404,
        f"Event trigger not found [id={trigger['id']}].",
    )


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        (
            {"exchange": None},
            400,
            "Params {'exchange', 'topic', 'event', 'workflow_id'} must be provided for creating event",
        ),
        ({"event": ""}, 400, "must be provided for creating event trigger"),
        ({"workflow_id": "no-such-workflow"}, 404, "Workflow not found"),
        ({"topic": "a.#"}, 400, "Invalid input for field 'topic'"),
        ({"exchange": "x" * 300}, 400, "at most 255 characters"),
        ({"event": "has blank"}, 400, "Invalid input for field 'event'"),
        ({"workflow_input": {"nope": 1}}, 400, "unexpected=['nope']"),
        ({"workflow_input": [1]}, 400, "expected a JSON object"),
        ({"workflow_params": {"env": 3}}, 400, "params.env must be an object"),
        ({"name": 5}, 400, "Invalid input for field 'name'"),
        ({"name": "n" * 256}, 400, "Invalid input for field 'name': a string of at most 255 characters"),
    ],
)
def test_bad_input_is_a_4xx_in_one_line(
    wf_api: Api, change: dict[str, Any], status: int, message: str
) -> None:
    text = assert_fault(wf_api.post_json("/v2/event_triggers", body(wf_api, **change)), status, message)

    assert "\n" not in text
    assert wf_api.get("/v2/event_triggers").json["event_triggers"] == []


def test_one_trigger_per_exchange_topic_event_and_workflow(wf_api: Api) -> None:
    created(wf_api)

    assert_fault(wf_api.post_json("/v2/event_triggers", body(wf_api, name="again")), 409, "Duplicate entry")
    created(wf_api, event="compute.delete")  # another event: another trigger


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"topic": "other"}, "Can not update fields ['exchange', 'topic', 'event'] of event trigger."),
        ({"workflow_id": "x"}, "Can not update field 'workflow_id'"),
        ({"colour": "red"}, "Unknown attribute for argument event_trigger: colour"),
        ({"scope": "everyone"}, "'everyone' is not private or public"),
        ({"workflow_input": {"nope": 1}}, "unexpected=['nope']"),
        ({"name": "n" * 256}, "Invalid input for field 'name': a string of at most 255 characters"),
    ],
)
def test_an_update_changes_only_name_input_params_and_scope(
    wf_api: Api, change: dict[str, Any], message: str
) -> None:
    trigger = created(wf_api)

    assert_fault(wf_api.put_json(f"/v2/event_triggers/{trigger['id']}", change), 400, message)
    assert wf_api.get(f"/v2/event_triggers/{trigger['id']}").json == trigger


def test_a_message_starts_the_workflow_once_with_the_event_in_its_params(wf_api: Api) -> None:
    trigger = created(wf_api, workflow_input={"x": 7})
    inner = {
        "message_id": "m-1",
        "publisher_id": "compute.host1",
        "event_type": "compute.create",
        "priority": "INFO",
        "payload": {"instance_id": "i-1"},
        "timestamp": "2026-12-06 19:00:00.000000",
        "_context_project_id": "tenant-a",
        "_context_user_id": "user-a",
    }
    enveloped = json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(inner)}).encode()
    fire = wf_api.engine.event_triggers.fire

    assert fire(trigger["id"], read_notification(enveloped)) is Outcome.STARTED
    assert fire(trigger["id"], read_notification(enveloped)) is Outcome.DUPLICATE
    other_type = json.dumps({**inner, "message_id": "m-2", "event_type": "compute.delete"}).encode()
    assert fire(trigger["id"], read_notification(other_type)) is Outcome.IGNORED

    (wf_ex,) = wf_api.get("/v2/executions").json["executions"]
    assert json.loads(wf_ex["input"]) == {"x": 7}
    assert json.loads(wf_ex["params"])["event_params"] == {
        "service": "compute.host1",
        "project_id": "tenant-a",
        "user_id": "user-a",
        "timestamp": "2026-12-06 19:00:00.000000",
        "event_type": "compute.create",
        "payload": {"instance_id": "i-1"},
        "message_id": "m-1",
    }
    triggered_by = json.loads(wf_ex["description"])["triggered_by"]
    assert triggered_by == {"type": "event_trigger", "id": trigger["id"], "name": "on_create"}


def test_a_workflow_an_event_trigger_starts_cannot_be_deleted(wf_api: Api) -> None:
    trigger = created(wf_api)

    assert_fault(
        wf_api.client.simulate_delete("/v2/workflows/wf_async"), 409, "used by event trigger(s) on_create"
    )
    wf_api.client.simulate_delete(f"/v2/event_triggers/{trigger['id']}")
    assert wf_api.client.simulate_delete("/v2/workflows/wf_async").status_code == 204


def test_a_private_trigger_of_a_project_takes_only_that_projects_events(wf_api: Api) -> None:
    trigger = created(wf_api)
    wf_api.store.update_event_trigger(
        dataclasses.replace(wf_api.store.get_event_trigger(trigger["id"]), project_id="p1"), ("project_id",)
    )
    message = {"event_type": "compute.create", "message_id": "m", "_context_project_id": "p2"}
    fire = wf_api.engine.event_triggers.fire

    assert fire(trigger["id"], read_notification(json.dumps(message).encode())) is Outcome.IGNORED
    mine = {**message, "message_id": "m2", "_context_project_id": "p1"}
    assert (
        fire(trigger["id"], read_notification(json.dumps(mine).encode())) is Outcome.FAILED
    )  # p1 sees no wf
    assert fire("no-such-trigger", read_notification(json.dumps(mine).encode())) is Outcome.IGNORED


def test_a_workflow_reads_the_event_from_its_params(api: Api) -> None:
    (wf,) = api.post_yaml(READS_EVENT).json["workflows"]
    given = {"exchange": "nova", "topic": "notifications", "event": "compute.create", "workflow_id": wf["id"]}
    trigger = api.post_json("/v2/event_triggers", given).json
    message = {"event_type": "compute.create", "message_id": "m", "payload": {"instance_id": "i-9"}}

    assert (
        api.engine.event_triggers.fire(trigger["id"], read_notification(json.dumps(message).encode()))
        is Outcome.STARTED
    )
    (wf_ex,) = api.get("/v2/executions").json["executions"]
    assert json.loads(api.execution(wf_ex["id"])["output"]) == {"instance": "i-9"}


READS_EVENT = """---
version: '2.0'
reads_event:
  output:
    instance: <% $.instance %>
  tasks:
    t:
      action: std.echo output=<% execution().params.event_params.payload.instance_id %>
      publish:
        instance: <% task().result %>
"""


def test_a_message_is_remembered_for_a_while_then_forgotten(wf_api: Api) -> None:
    trigger = created(wf_api)
    body = json.dumps({"event_type": "compute.create", "message_id": "m"}).encode()
    fire, forget = wf_api.engine.event_triggers.fire, wf_api.engine.event_triggers.forget_messages

    assert fire(trigger["id"], read_notification(body)) is Outcome.STARTED
    assert forget(dt.timedelta(days=7)) == 0
    assert fire(trigger["id"], read_notification(body)) is Outcome.DUPLICATE
    wf_api.clock.now()  # the stepping clock moves on: the record is now in the past
    assert forget(dt.timedelta(0)) == 1
    assert fire(trigger["id"], read_notification(body)) is Outcome.STARTED


def test_a_message_in_maintenance_is_held_until_it_ends(wf_api: Api) -> None:
    """In maintenance nothing new starts (the mode is PAUSED once nothing runs): a message waits,
    unrecorded, and starts its workflow once maintenance has ended."""
    trigger = created(wf_api)
    message = {"message_id": "m-held", "event_type": "compute.create", "payload": {}}
    fire = wf_api.engine.event_triggers.fire
    assert wf_api.put_json("/maintenance", {"status": "PAUSED"}).json == {"status": "PAUSED"}

    assert fire(trigger["id"], read_notification(json.dumps(message).encode())) is Outcome.HELD
    assert wf_api.get("/v2/executions").json["executions"] == []

    assert wf_api.put_json("/maintenance", {"status": "RUNNING"}).json == {"status": "RUNNING"}
    assert fire(trigger["id"], read_notification(json.dumps(message).encode())) is Outcome.STARTED
    assert len(wf_api.get("/v2/executions").json["executions"]) == 1
