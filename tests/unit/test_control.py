"""Execution control: pause, resume, cancel, finish; task re-run and skip."""

from __future__ import annotations

import pytest

from mistral_core.errors import InputError, StateConflictError
from mistral_core.model import State
from tests.unit.support import Wait, engine_with

TWO_STEPS = """
version: '2.0'
wf:
  tasks:
    ask:
      action: std.async_noop
      publish: {answer: <% task().result %>}
      on-success: after
    after:
      action: std.echo output=<% $.answer %>
"""


def test_pause_keeps_a_result_and_applies_it_on_resume() -> None:
    t = engine_with(TWO_STEPS)
    ex = t.run("wf")
    t.engine.executions.update(ex.id, State.PAUSED)
    assert t.execution(ex.id).state is State.PAUSED
    t.push(t.running_action(ex.id, "ask"), "SUCCESS", 42)
    assert t.execution(ex.id).state is State.PAUSED
    assert t.task_states(ex.id) == {"ask": "SUCCESS"}
    t.engine.executions.update(ex.id, State.RUNNING)
    t.runner.drain()
    ex = t.execution(ex.id)
    assert ex.state is State.SUCCESS and t.tasks(ex.id)["after"].result == 42


def test_cancel_cancels_pending_tasks_and_actions_and_tells_async_actions() -> None:
    t = engine_with(TWO_STEPS)
    ex = t.run("wf")
    action_id = t.running_action(ex.id, "ask")
    t.engine.executions.update(ex.id, State.CANCELLED, state_info="not needed")
    ex = t.execution(ex.id)
    assert (ex.state, ex.state_info) == (State.CANCELLED, "not needed")
    assert t.task_states(ex.id) == {"ask": "CANCELLED"}
    assert t.store.get_action_execution(action_id).state is State.CANCELLED
    assert Wait.cancelled == [action_id]
    with pytest.raises(StateConflictError, match="already CANCELLED"):
        t.engine.results.complete(action_id, State.SUCCESS, 1)


@pytest.mark.parametrize("target", [State.PAUSED, State.RUNNING, State.CANCELLED])
def test_a_finished_execution_cannot_be_paused_resumed_or_cancelled(target: State) -> None:
    t = engine_with("version: '2.0'\nwf:\n  tasks:\n    a: {action: std.noop}\n")
    ex = t.run("wf")
    with pytest.raises(StateConflictError, match="already SUCCESS"):
        t.engine.executions.update(ex.id, target)
    assert t.execution(ex.id).state is State.SUCCESS


def test_unknown_target_states_are_refused() -> None:
    t = engine_with(TWO_STEPS)
    ex = t.run("wf")
    with pytest.raises(InputError, match="DELAYED"):
        t.engine.executions.update(ex.id, State.DELAYED)


def test_forced_success_and_error() -> None:
    t = engine_with(TWO_STEPS)
    ex1, ex2 = t.run("wf"), t.run("wf")
    assert t.engine.executions.update(ex1.id, State.SUCCESS, "done by hand").state is State.SUCCESS
    failed = t.engine.executions.update(ex2.id, State.ERROR, "stopped")
    assert (failed.state, failed.state_info) == (State.ERROR, "stopped")


def test_rerun_a_failed_task_continues_the_workflow() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    flaky:
      action: test.count name=flaky fail_until=1
      on-success: next
    next:
      action: std.noop
""")
    ex = t.run("wf")
    assert ex.state is State.ERROR
    task = t.tasks(ex.id)["flaky"]
    t.engine.executions.rerun_task(task.id)
    t.runner.drain()
    ex = t.execution(ex.id)
    assert ex.state is State.SUCCESS
    assert t.task_states(ex.id) == {"flaky": "SUCCESS", "next": "SUCCESS"}
    actions = t.store.action_executions_of(task.id)
    assert [(a.state.value, a.accepted) for a in actions] == [("ERROR", False), ("SUCCESS", True)]


def test_rerun_of_a_successful_task_is_refused() -> None:
    t = engine_with("version: '2.0'\nwf:\n  tasks:\n    a: {action: std.noop}\n")
    ex = t.run("wf")
    with pytest.raises(StateConflictError, match="only a task in ERROR"):
        t.engine.executions.rerun_task(t.tasks(ex.id)["a"].id)


def test_skip_a_failed_task_goes_on_through_on_skip() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    a:
      action: std.fail
      publish-on-skip: {skipped: true}
      on-skip: b
      on-success: never
    b:
      action: std.echo output=<% $.skipped %>
    never:
      action: std.noop
""")
    ex = t.run("wf")
    assert ex.state is State.ERROR
    t.engine.executions.skip_task(t.tasks(ex.id)["a"].id)
    t.runner.drain()
    ex = t.execution(ex.id)
    assert ex.state is State.SUCCESS
    assert t.task_states(ex.id) == {"a": "SKIPPED", "b": "SUCCESS"}
    assert t.tasks(ex.id)["b"].result is True


def test_pause_command_pauses_and_resume_goes_on_with_the_rest() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    a:
      action: std.noop
      on-success:
        - pause msg="check this"
        - b
    b:
      action: std.noop
""")
    ex = t.run("wf")
    ex = t.execution(ex.id)
    assert (ex.state, ex.state_info) == (State.PAUSED, "check this")
    t.engine.executions.update(ex.id, State.RUNNING)
    t.runner.drain()
    assert t.execution(ex.id).state is State.SUCCESS
    assert t.task_states(ex.id) == {"a": "SUCCESS", "b": "SUCCESS"}


def test_rerun_after_a_fail_command_ends_as_the_rerun_decides() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    start:
      action: std.noop
      on-success: [flaky, slow]
    flaky:
      action: test.count name=flaky fail_until=1
      on-error:
        - fail msg="flaky failed"
    slow:
      action: std.async_noop
""")
    ex = t.run("wf")
    assert (ex.state, ex.state_info) == (State.ERROR, "flaky failed")
    assert t.tasks(ex.id)["slow"].state is State.CANCELLED
    t.engine.executions.rerun_task(t.tasks(ex.id)["flaky"].id)
    t.runner.drain()
    assert t.execution(ex.id).state is State.SUCCESS
