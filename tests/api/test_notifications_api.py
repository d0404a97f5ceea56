"""``params.notify`` through the API: refused in one line when unusable, secrets never shown, and
the deliveries that failed listed by ``GET /v2/notifications``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.support import Api, assert_fault

DOWN = {"type": "refusing", "to": "http://down.example/hook?token=t", "event_types": ["WORKFLOW_LAUNCHED"]}


def _start(api: Api, notify: Any, as_text: bool = False) -> Any:
    params: Any = {"notify": notify}
    return api.post_json(
        "/v2/executions",
        {"workflow_name": "wf_async", "params": json.dumps(params) if as_text else params},
    )


@pytest.mark.parametrize("as_text", [False, True])  # the CLI sends params as a JSON string
@pytest.mark.parametrize(
    ("notify", "message"),
    [
        ("http://x", "params.notify must be a list of publishers"),
        ([{"url": "http://x"}], "params.notify[0].type is required: the kind of publisher (noop, refusing)"),
        ([{"type": "webhook"}], "params.notify[0].type: unknown publisher type 'webhook'"),
        ([{"type": "noop", "event_types": ["TASK_EXPLODED"]}], "params.notify[0].event_types: unknown event"),
        ([{"type": "noop", "url": "http://x"}], "params.notify[0]: unknown key 'url'"),
        ([{"type": "noop"}] * 11, "at most 10 are allowed"),
    ],
)
def test_an_unusable_notify_list_is_a_400_in_one_line(
    wf_api: Api, notify: Any, message: str, as_text: bool
) -> None:
    text = assert_fault(_start(wf_api, notify, as_text), 400, message)

    assert "\n" not in text
    assert wf_api.get("/v2/executions").json["executions"] == []


def test_a_publisher_s_secret_is_never_shown(wf_api: Api) -> None:
    started = _start(wf_api, [{**DOWN, "secret": "whsec_x"}, {"type": "noop"}])

    assert started.status_code == 201, started.text
    for document in (started.json, wf_api.execution(started.json["id"])):
        notify = json.loads(document["params"])["notify"]
        assert notify[0]["secret"] == "***" and notify[0]["to"] == DOWN["to"]
        assert notify[1] == {"type": "noop"}


def test_deliveries_that_failed_are_listed_and_filtered(wf_api: Api) -> None:
    ex = _start(wf_api, [DOWN]).json
    _start(wf_api, [{"type": "noop"}])  # delivered at once: nothing to list

    listed = wf_api.get("/v2/notifications", params={"workflow_execution_id": ex["id"]}).json["notifications"]

    (row,) = listed
    assert row["workflow_execution_id"] == ex["id"] and row["entity_id"] == ex["id"]
    assert (row["event"], row["entity_name"], row["publisher"]) == (
        "WORKFLOW_LAUNCHED",
        "wf_async",
        "refusing",
    )
    assert (row["state"], row["attempts"], row["last_error"]) == (
        "RETRYING",
        1,
        "try 1: the receiver is down",
    )
    assert row["target"] == "http://down.example/hook" and row["next_try_at"] is not None
    assert wf_api.get("/v2/notifications", params={"state": "FAILED"}).json["notifications"] == []
    assert len(wf_api.get("/v2/notifications").json["notifications"]) == 1


def test_a_filter_that_means_nothing_is_a_400(wf_api: Api) -> None:
    assert_fault(wf_api.get("/v2/notifications", params={"state": "LOST"}), 400, "not a delivery state")
    assert_fault(wf_api.get("/v2/notifications", params={"event": "TASK_EXPLODED"}), 400, "not an event")
    assert_fault(wf_api.get("/v2/notifications", params={"color": "red"}), 400, 'Unknown argument: "color"')


def test_deleting_an_execution_deletes_its_deliveries(wf_api: Api) -> None:
    ex = _start(wf_api, [DOWN]).json
    wf_api.put_json(f"/v2/executions/{ex['id']}", {"state": "CANCELLED"})

    assert wf_api.client.simulate_delete(f"/v2/executions/{ex['id']}").status_code == 204
    assert wf_api.get("/v2/notifications").json["notifications"] == []


def test_a_publisher_s_secret_is_never_shown_in_a_trigger_s_params(wf_api: Api) -> None:
    """A trigger's ``workflow_params`` are the params of every execution it starts: the same mask."""
    (wf,) = wf_api.get("/v2/workflows", params={"name": "wf_async"}).json["workflows"]
    params = {"notify": [{**DOWN, "secret": "whsec_x"}]}
    cron = wf_api.post_json(
        "/v2/cron_triggers",
        {"name": "c", "workflow_name": "wf_async", "pattern": "0 0 1 1 *", "workflow_params": params},
    )
    event = wf_api.post_json(
        "/v2/event_triggers",
        {"exchange": "nova", "topic": "n", "event": "e", "workflow_id": wf["id"], "workflow_params": params},
    )
    assert (cron.status_code, event.status_code) == (201, 201), (cron.text, event.text)

    for document in (
        cron.json,
        event.json,
        wf_api.get("/v2/cron_triggers/c").json,
        wf_api.get(f"/v2/event_triggers/{event.json['id']}").json,
        wf_api.get("/v2/cron_triggers").json["cron_triggers"][0],
        wf_api.get("/v2/event_triggers").json["event_triggers"][0],
    ):
        (publisher,) = json.loads(document["workflow_params"])["notify"]
        assert publisher["secret"] == "***" and publisher["to"] == DOWN["to"]
