"""Heartbeats with progress, deadlines moved by them, heartbeat-timeout, and on-timeout routing."""

from __future__ import annotations

import datetime as dt

import pytest

from mistral_core.errors import InputError, StateConflictError
from mistral_core.model import State
from mistral_core.services.heartbeats import Heartbeat
from mistral_core.testing import TestEngine
from tests.unit.support import engine_with

WAIT = """
version: '2.0'
wf:
  tasks:
    ask:
      action: std.async_noop
      timeout: 100
      heartbeat-timeout: 30
      on-timeout: [timed_out]
      on-error: [failed]
      on-success: [answered]
    timed_out: {action: std.noop}
    failed: {action: std.noop}
    answered: {action: std.noop}
no_routing:
  tasks:
    ask:
      action: std.async_noop
      timeout: 10
      on-error: [failed]
    failed: {action: std.noop}
plain:
  tasks:
    ask: {action: std.async_noop}
"""


def _waiting(t: TestEngine, workflow: str = "wf") -> tuple[str, str]:
    ex = t.run(workflow)
    return ex.id, t.running_action(ex.id, "ask")


def test_a_heartbeat_records_progress_and_the_deadline_shows() -> None:
    t = engine_with(WAIT)
    _, action_id = _waiting(t)
    started = t.clock.now()

    t.clock.advance(5)
    action = t.engine.heartbeats.beat(
        action_id, Heartbeat({"percent": 40, "note": "copying", "details": [1]})
    )

    assert action.progress == {"percent": 40, "note": "copying", "details": [1]}
    assert action.last_heartbeat_at == t.clock.now()
    assert action.deadline == started + dt.timedelta(seconds=100)
    assert t.store.get_action_execution(action_id).progress == action.progress


def test_heartbeats_keep_a_wait_alive_and_silence_ends_it_through_on_timeout() -> None:
    t = engine_with(WAIT)
    ex_id, action_id = _waiting(t)
    for _ in range(3):  # 66 s of work, a heartbeat every 22 s: never 30 s of silence
        t.advance(22)
        t.engine.heartbeats.beat(action_id, Heartbeat())
    assert t.task_states(ex_id) == {"ask": "RUNNING"}

    t.advance(31)

    action = t.store.get_action_execution(action_id)
    assert action.state is State.ERROR
    assert "No heartbeat for 30 s (heartbeat-timeout)" in (action.state_info or "")
    assert t.task_states(ex_id) == {"ask": "ERROR", "timed_out": "SUCCESS"}
    assert t.execution(ex_id).state is State.SUCCESS  # on-timeout handled it


def test_the_first_heartbeat_window_starts_when_the_action_starts() -> None:
    t = engine_with(WAIT)
    ex_id, _ = _waiting(t)

    t.advance(31)

    assert t.task_states(ex_id)["ask"] == "ERROR"


def test_extend_by_moves_the_timeout_deadline() -> None:
    t = engine_with(WAIT)
    ex_id, action_id = _waiting(t)
    first = t.store.get_action_execution(action_id).deadline
    assert first is not None

    t.advance(20)
    moved = t.engine.heartbeats.beat(action_id, Heartbeat(extend_by=50))
    for _ in range(4):  # past the first deadline (100 s), heart-beating
        t.advance(25)
        t.engine.heartbeats.beat(action_id, Heartbeat())

    assert moved.deadline == first + dt.timedelta(seconds=50)
    assert t.task_states(ex_id) == {"ask": "RUNNING"}
    t.advance(31)  # 151 s: past the moved deadline (150 s) too
    assert t.task_states(ex_id) == {"ask": "ERROR", "timed_out": "SUCCESS"}
    assert "Task timed out" in (t.tasks(ex_id)["ask"].state_info or "")


def test_without_on_timeout_on_error_handles_a_timeout() -> None:
    t = engine_with(WAIT)
    ex_id, _ = _waiting(t, "no_routing")

    t.advance(11)

    assert t.task_states(ex_id) == {"ask": "ERROR", "failed": "SUCCESS"}


def test_a_result_stops_the_heartbeat_clock() -> None:
    t = engine_with(WAIT)
    ex_id, action_id = _waiting(t)

    t.push(action_id, "SUCCESS", 1)
    t.advance(200)

    assert t.task_states(ex_id) == {"ask": "SUCCESS", "answered": "SUCCESS"}
    assert t.store.count_timers() == 0


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"progress": {"percent": 101}}, "from 0 to 100"),
        ({"progress": {"percent": True}}, "from 0 to 100"),
        ({"progress": {"note": "x" * 1001}}, "at most 1000 characters"),
        ({"progress": {"eta": 3}}, "'progress' is an object"),
        ({"progress": [1]}, "'progress' is an object"),
        ({"extend_by": 0}, "above 0"),
        ({"extend_by": 10**9}, "setting max_extend_by"),
        ({"extend_by": "soon"}, "a number of seconds"),
        ([], "a JSON object"),
    ],
)
def test_bad_heartbeats_are_refused_naming_the_field(body: object, fragment: str) -> None:
    t = engine_with(WAIT)

    with pytest.raises(InputError, match=fragment):
        t.engine.heartbeats.check(body)


def test_only_a_running_async_action_takes_heartbeats() -> None:
    t = engine_with(WAIT)
    _, action_id = _waiting(t, "plain")
    with pytest.raises(StateConflictError, match="no timeout: there is no deadline to extend"):
        t.engine.heartbeats.beat(action_id, Heartbeat(extend_by=5))
    t.push(action_id, "SUCCESS", 1)

    with pytest.raises(StateConflictError, match="is SUCCESS: only a RUNNING asynchronous"):
        t.engine.heartbeats.beat(action_id, Heartbeat())
