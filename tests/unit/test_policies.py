"""Task policies: timeout, retry, wait-before, wait-after, pause-before, fail-on, task-defaults."""

from __future__ import annotations

import pytest

from mistral_core.errors import StateConflictError
from mistral_core.model import State
from tests.unit.support import RUNS, Wait, engine_with

TIMEOUT = """
version: '2.0'
wf:
  tasks:
    ask:
      action: std.async_noop
      timeout: 30
      on-error: handle
    handle:
      action: std.noop
"""


def test_timeout_fails_an_async_wait_and_routes_on_error() -> None:
    t = engine_with(TIMEOUT)
    ex = t.run("wf")
    action_id = t.running_action(ex.id, "ask")
    assert t.advance(29) == 0
    assert t.execution(ex.id).state is State.RUNNING
    assert t.advance(2) == 1
    ex = t.execution(ex.id)
    assert ex.state is State.SUCCESS
    assert t.task_states(ex.id) == {"ask": "ERROR", "handle": "SUCCESS"}
    action = t.store.get_action_execution(action_id)
    assert action.state is State.ERROR and "timed out" in (action.state_info or "")
    assert Wait.cancelled == [action_id]


def test_a_result_pushed_after_the_timeout_gets_409_saying_so() -> None:
    t = engine_with(TIMEOUT)
    ex = t.run("wf")
    action_id = t.running_action(ex.id, "ask")
    t.advance(31)
    with pytest.raises(StateConflictError, match="timed out"):
        t.engine.results.complete(action_id, State.SUCCESS, 3)


def test_a_result_in_time_cancels_the_timeout() -> None:
    t = engine_with(TIMEOUT)
    ex = t.run("wf")
    t.push(t.running_action(ex.id, "ask"), "SUCCESS", 1)
    assert t.store.count_timers() == 0
    assert t.execution(ex.id).state is State.SUCCESS


def test_retry_with_delay_runs_new_attempts_until_success() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    flaky:
      action: test.count name=flaky fail_until=2
      retry:
        count: 3
        delay: 10
      publish: {attempts: <% task().result %>}
""")
    ex = t.run("wf")
    assert t.tasks(ex.id)["flaky"].state is State.DELAYED
    t.advance(10)
    t.advance(10)
    ex = t.execution(ex.id)
    assert ex.state is State.SUCCESS and ex.output == {"attempts": 3}
    actions = t.store.action_executions_of(t.tasks(ex.id)["flaky"].id)
    assert [a.state.value for a in actions] == ["ERROR", "ERROR", "SUCCESS"]
    assert [a.accepted for a in actions] == [False, False, True]
    assert RUNS == ["flaky"] * 3


def test_retry_gives_up_after_count_and_break_on_stops_early() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    a:
      action: test.count name=a fail_until=10
      retry: count=2 delay=0
    b:
      action: test.count name=b fail_until=10
      retry:
        count: 5
        delay: 0
        break-on: <% task().result = 'attempt 2 failed' %>
""")
    ex = t.run("wf")
    assert ex.state is State.ERROR
    assert RUNS.count("a") == 3 and RUNS.count("b") == 2


def test_continue_on_polls_while_true() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    poll:
      action: test.count name=p
      retry:
        count: 10
        delay: 0
        continue-on: <% task().result < 3 %>
""")
    ex = t.run("wf")
    assert ex.state is State.SUCCESS and RUNS.count("p") == 3


def test_every_retry_attempt_gets_its_own_timeout() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    ask:
      action: std.async_noop
      timeout: 5
      retry: {count: 1, delay: 1}
""")
    ex = t.run("wf")
    t.advance(6)
    assert t.tasks(ex.id)["ask"].state is State.DELAYED
    t.advance(1)
    second = t.running_action(ex.id, "ask")
    t.advance(6)
    ex = t.execution(ex.id)
    assert ex.state is State.ERROR
    assert t.store.get_action_execution(second).state is State.ERROR


def test_wait_before_and_wait_after_delay_the_task() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    a:
      action: std.echo output=1
      wait-before: 5
      wait-after: 7
      on-success: b
    b:
      action: std.noop
""")
    ex = t.run("wf")
    assert t.task_states(ex.id) == {"a": "DELAYED"}
    t.advance(5)
    assert t.task_states(ex.id) == {"a": "DELAYED"}
    assert t.tasks(ex.id)["a"].result == 1
    t.advance(7)
    assert t.task_states(ex.id) == {"a": "SUCCESS", "b": "SUCCESS"}


def test_pause_before_pauses_the_workflow_until_resumed() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    a:
      action: std.noop
      on-success: b
    b:
      action: std.noop
      pause-before: true
""")
    ex = t.run("wf")
    assert t.execution(ex.id).state is State.PAUSED
    assert t.task_states(ex.id) == {"a": "SUCCESS", "b": "IDLE"}
    t.engine.executions.update(ex.id, State.RUNNING)
    t.runner.drain()
    assert t.execution(ex.id).state is State.SUCCESS


def test_fail_on_turns_a_success_into_an_error() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    a:
      action: std.echo output=bad
      fail-on: <% task().result = 'bad' %>
""")
    ex = t.run("wf")
    assert ex.state is State.ERROR
    assert t.tasks(ex.id)["a"].state_info == "Failed by 'fail-on' policy"


def test_task_defaults_apply_and_policy_values_may_be_expressions() -> None:
    t = engine_with("""
version: '2.0'
wf:
  input:
    - limit: 3
  task-defaults:
    timeout: <% $.limit %>
    on-error: handle
  tasks:
    a:
      action: std.async_noop
    handle:
      action: std.noop
""")
    ex = t.run("wf")
    t.advance(4)
    assert t.task_states(ex.id) == {"a": "ERROR", "handle": "SUCCESS"}
    assert t.execution(ex.id).state is State.SUCCESS


@pytest.mark.parametrize(
    "policy", ["retry: {count: -1, delay: 1}", "wait-before: -5", "timeout: soon", "retry: {delay: 3}"]
)
def test_invalid_literal_policies_are_refused_at_upload(policy: str) -> None:
    from mistral_core.errors import LanguageError

    with pytest.raises(LanguageError, match=r"line 7: wf\.tasks\.a\."):
        engine_with(f"""
version: '2.0'
wf:
  tasks:
    a:
      action: std.noop
      {policy}
""")


@pytest.mark.parametrize(
    "policy",
    [
        "timeout: <% 'soon' %>",
        "retry: {count: <% -2 %>, delay: 1}",
        "retry: {count: 2, delay: <% 'x' %>}",
        "wait-after: <% -1 %>",
    ],
)
def test_invalid_policy_values_fail_the_task_with_a_clear_message(policy: str) -> None:
    t = engine_with(f"""
version: '2.0'
wf:
  tasks:
    a:
      action: std.noop
      {policy}
""")
    ex = t.run("wf")
    assert ex.state is State.ERROR
    info = t.tasks(ex.id)["a"].state_info or ""
    assert info.startswith("Invalid policy of task 'a'")
