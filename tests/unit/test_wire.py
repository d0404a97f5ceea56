"""The messages of the split deployment: commands and events survive JSON, strangers are refused."""

from __future__ import annotations

import json

import pytest

from mistral_core.model import (
    ActionCompleted,
    ActionHandedOff,
    CancelAction,
    CancelNoticed,
    NotificationSent,
    Notify,
    RunAction,
    State,
)
from mistral_core.model.commands import target_error
from mistral_core.transport.wire import (
    DEFAULT_QUEUE,
    WireError,
    decode_command,
    decode_event,
    encode_command,
    encode_event,
    is_direct,
    queue_for,
)

NOTIFY = Notify(
    "d1",
    2,
    "WORKFLOW_SUCCEEDED",
    {"id": "ex", "event": "WORKFLOW_SUCCEEDED"},
    {"type": "webhook", "url": "http://127.0.0.1:9/hook"},
    "params:0",
    "ex",
    "2030-01-02T12:00:00",
    "p1",
)


def _through_json(body: object) -> object:
    return json.loads(json.dumps(body))


@pytest.mark.parametrize(
    "command",
    [
        RunAction(
            "a1", "std.echo", {"output": [1, {"x": None}]}, True, "wf", "ex", "t", True, "zone1", 3.0, "s"
        ),
        CancelAction("a2", "std.async_noop", {}, "ex", "t", "wf", "timeout", 2, "zone1"),
        NOTIFY,
    ],
)
def test_a_command_is_the_same_after_the_wire(command: RunAction | CancelAction | Notify) -> None:
    assert decode_command(_through_json(encode_command(command))) == command


@pytest.mark.parametrize(
    "event",
    [
        ActionCompleted("a1", State.ERROR, {"why": "x"}, "ex", "in doubt"),
        ActionHandedOff("a2", "ex"),
        CancelNoticed("a3", 2, False, "timeout", "cancel() failed", "ex"),
        NotificationSent(NOTIFY, False, "answered 503", True, 30.0),
    ],
)
def test_an_event_is_the_same_after_the_wire(
    event: ActionCompleted | ActionHandedOff | CancelNoticed | NotificationSent,
) -> None:
    assert decode_event(_through_json(encode_event(event))) == event


def test_fields_a_newer_process_adds_are_ignored_and_direct_runs_are_marked() -> None:
    body = encode_command(RunAction("a1", "std.noop", {}, True), direct=True)
    assert is_direct(body)
    assert decode_command({**body, "added_later": 1}) == RunAction("a1", "std.noop", {}, True)
    assert not is_direct(encode_command(RunAction("a1", "std.noop", {}, True)))


@pytest.mark.parametrize(
    "body", [[], "run", {"kind": "run"}, {"kind": "explode"}, {"kind": "completed", "state": "X"}]
)
def test_what_is_not_a_message_is_refused(body: object) -> None:
    with pytest.raises(WireError):
        decode_command(body) if body != {"kind": "completed", "state": "X"} else decode_event(body)


def test_targets_name_their_queue_and_odd_names_are_refused() -> None:
    assert queue_for(None) == queue_for("") == DEFAULT_QUEUE
    assert queue_for("zone1") == f"{DEFAULT_QUEUE}.zone1"
    assert target_error("zone-1.eu@dc:2") is None
    for bad in ("", "a b", "x" * 101, "zone/1", "é"):
        assert target_error(bad) is not None
