"""Direct workflows through the pure engine: memory store, inline runner, no threads, no sleeps."""

from __future__ import annotations

from typing import Any

import pytest

from mistral_core import Result
from mistral_core.errors import LanguageError, NotFoundError, StateConflictError, WorkflowInputError
from mistral_core.testing import TestEngine


class Boom:
    """Always raises."""

    def __init__(self, message: str = "kaboom") -> None:
        self.message = message

    def run(self, context: Any) -> Any:
        raise RuntimeError(self.message + "\nsecond line of a traceback-like message")

    def is_sync(self) -> bool:
        return True


class Echo:
    """Returns its output."""

    def __init__(self, output: Any = None) -> None:
        self.output = output

    def run(self, context: Any) -> Any:
        return self.output


class Fail:
    """Fails with data."""

    def __init__(self, error_data: Any = None) -> None:
        self.error_data = error_data

    def run(self, context: Any) -> Any:
        if self.error_data is None:
            raise RuntimeError("Fail action expected exception.")
        return Result(error=self.error_data)


class Wait:
    """An async action: the result is pushed later."""

    def run(self, context: Any) -> Any:
        return None

    def is_sync(self) -> bool:
        return False


ACTIONS = {"std.echo": Echo, "std.noop": Echo, "std.fail": Fail, "test.boom": Boom, "std.async_noop": Wait}


@pytest.fixture
def t() -> TestEngine:
    return TestEngine(ACTIONS)


def upload(t: TestEngine, text: str) -> None:
    t.engine.definitions.create_workflows(text)


def test_sequence_publishes_and_outputs(t: TestEngine) -> None:
    upload(
        t,
        """
version: '2.0'
wf:
  input: [name]
  output:
    greeting: <% $.greeting %>
    upper: '{{ _.greeting | upper }}'
  tasks:
    a:
      action: std.echo output="Hello, <% $.name %>"
      publish:
        greeting: <% task().result %>
      on-success: b
    b:
      action: std.echo output=<% $.greeting %>
""",
    )
    ex = t.run("wf", {"name": "Ann"})
    assert ex.state.value == "SUCCESS"
    assert ex.output == {"greeting": "Hello, Ann", "upper": "HELLO, ANN"}
    assert t.task_states(ex.id) == {"a": "SUCCESS", "b": "SUCCESS"}
    assert t.tasks(ex.id)["b"].result == "Hello, Ann"
    assert t.tasks(ex.id)["b"].runtime_context.triggered_by[0].event == "on-success"


def test_output_without_spec_is_the_published_context(t: TestEngine) -> None:
    upload(
        t,
        """
version: '2.0'
wf:
  tasks:
    a:
      action: std.echo output=hello
      publish: {greeting: <% task().result %>}
""",
    )
    assert t.run("wf").output == {"greeting": "hello"}


def test_unhandled_error_fails_the_workflow_with_a_clear_message(t: TestEngine) -> None:
    upload(
        t,
        """
version: '2.0'
wf:
  tasks:
    a:
      action: test.boom
""",
    )
    ex = t.run("wf")
    assert ex.state.value == "ERROR"
    assert ex.state_info.startswith("Failure caused by error in tasks: a")
    task = t.tasks(ex.id)["a"]
    assert task.state_info == "Action test.boom failed: kaboom"
    assert "Traceback" not in ex.state_info
    assert ex.output == {"result": ex.state_info}


def test_on_error_handles_the_failure(t: TestEngine) -> None:
    upload(
        t,
        """
version: '2.0'
wf:
  tasks:
    a:
      action: std.fail error_data="disk full"
      publish-on-error:
        why: <% task().result %>
      on-error: recover
    recover:
      action: std.echo output=<% $.why %>
      publish: {recovered: <% task().result %>}
""",
    )
    ex = t.run("wf")
    assert ex.state.value == "SUCCESS"
    assert t.task_states(ex.id) == {"a": "ERROR", "recover": "SUCCESS"}
    assert ex.output == {"why": "disk full", "recovered": "disk full"}


def test_on_complete_runs_after_success_and_does_not_handle_errors(t: TestEngine) -> None:
    upload(
        t,
        """
version: '2.0'
wf:
  tasks:
    a:
      action: std.fail
      on-complete: always
    always:
      action: std.noop
""",
    )
    ex = t.run("wf")
    assert t.task_states(ex.id) == {"a": "ERROR", "always": "SUCCESS"}
    assert ex.state.value == "ERROR"


def test_guards_choose_the_branch(t: TestEngine) -> None:
    upload(
        t,
        """
version: '2.0'
wf:
  input: [n]
  tasks:
    check:
      action: std.echo output=<% $.n %>
      on-success:
        - big: <% task().result > 10 %>
        - small: '{{ task().result <= 10 }}'
    big:
      action: std.noop
    small:
      action: std.noop
""",
    )
    assert set(t.task_states(t.run("wf", {"n": 50}).id)) == {"check", "big"}
    assert set(t.task_states(t.run("wf", {"n": 5}).id)) == {"check", "small"}


def test_engine_commands_fail_and_succeed(t: TestEngine) -> None:
    upload(
        t,
        """
version: '2.0'
wf:
  input: [ok]
  tasks:
    a:
      action: std.echo output=<% $.ok %>
      on-success:
        - succeed msg="all good": <% task().result %>
        - fail msg="not ok": <% not task().result %>
        - never
    never:
      action: std.noop
""",
    )
    good = t.run("wf", {"ok": True})
    assert (good.state.value, good.state_info) == ("SUCCESS", "all good")
    assert "never" not in t.task_states(good.id)
    bad = t.run("wf", {"ok": False})
    assert (bad.state.value, bad.state_info) == ("ERROR", "not ok")


def test_parallel_branches_merge_into_the_output(t: TestEngine) -> None:
    upload(
        t,
        """
version: '2.0'
wf:
  tasks:
    start:
      action: std.noop
      on-success: [left, right]
    left:
      action: std.echo output=L
      publish: {l: <% task().result %>}
    right:
      action: std.echo output=R
      publish: {r: <% task().result %>}
""",
    )
    ex = t.run("wf")
    assert ex.output == {"l": "L", "r": "R"}


def test_async_action_waits_then_completes_with_any_json_value(t: TestEngine) -> None:
    upload(
        t,
        """
version: '2.0'
wf:
  output: {sum: <% $.sum %>}
  tasks:
    add:
      action: async_noop
      publish: {sum: <% task().result %>}
""",
    )
    ex = t.run("wf")
    assert ex.state.value == "RUNNING"
    action_id = t.running_action(ex.id, "add")
    done = t.push(action_id, "SUCCESS", 3)
    assert (done.state.value, done.output) == ("SUCCESS", {"sum": 3})
    stored = t.store.get_action_execution(action_id)
    assert stored.output == {"result": 3} and stored.accepted


def test_async_error_routes_on_error_and_cancel_cancels(t: TestEngine) -> None:
    upload(
        t,
        """
version: '2.0'
wf:
  tasks:
    ask:
      action: std.async_noop
      on-error: handle
    handle:
      action: std.noop
""",
    )
    ex = t.run("wf")
    done = t.push(t.running_action(ex.id, "ask"), "ERROR", {"error": "boom"})
    assert done.state.value == "SUCCESS"
    assert t.tasks(ex.id)["ask"].state_info == '{"error": "boom"}'
    ex2 = t.run("wf")
    cancelled = t.push(t.running_action(ex2.id, "ask"), "CANCELLED")
    assert (cancelled.state.value, cancelled.state_info) == ("CANCELLED", "Cancelled tasks: ask")


def test_a_result_pushed_twice(t: TestEngine) -> None:
    upload(t, "version: '2.0'\nwf:\n  tasks:\n    a:\n      action: std.async_noop\n")
    ex = t.run("wf")
    action_id = t.running_action(ex.id, "a")
    t.push(action_id, "SUCCESS", {"v": 1})
    again = t.engine.results.complete(action_id, t.store.get_action_execution(action_id).state, {"v": 1})
    assert again.output == {"result": {"v": 1}}
    with pytest.raises(StateConflictError, match="already SUCCESS"):
        t.engine.results.complete(action_id, again.state, {"v": 2})
    from mistral_core.model import State

    with pytest.raises(StateConflictError, match="already SUCCESS"):
        t.engine.results.complete(action_id, State.ERROR, {"v": 1})
    assert t.store.get_action_execution(action_id).output == {"result": {"v": 1}}


def test_unknown_action_and_bad_input_fail_the_task_and_the_workflow_not_the_engine(t: TestEngine) -> None:
    """As in Mistral 23, a task that cannot run fails its workflow at once: on-error is not followed."""
    upload(
        t,
        """
version: '2.0'
wf:
  tasks:
    a:
      action: no.such_action
      on-error: handled
    handled:
      action: std.noop
wf2:
  tasks:
    b:
      action: std.echo nope=1
      on-error: handled
    handled:
      action: std.noop
""",
    )
    ex = t.run("wf")
    tasks = t.tasks(ex.id)
    assert set(tasks) == {"a"}
    assert tasks["a"].state.value == "ERROR" and "no.such_action" in (tasks["a"].state_info or "")
    assert ex.state.value == "ERROR" and "no.such_action" in (ex.state_info or "")
    ex2 = t.run("wf2")
    tasks = t.tasks(ex2.id)
    assert set(tasks) == {"b"}
    assert tasks["b"].state.value == "ERROR" and "nope" in (tasks["b"].state_info or "")
    assert ex2.state.value == "ERROR"


def test_an_expression_failing_at_run_time_fails_the_task(t: TestEngine) -> None:
    upload(
        t,
        """
version: '2.0'
wf:
  tasks:
    a:
      action: std.echo output=<% $.missing %>
""",
    )
    ex = t.run("wf")
    assert ex.state.value == "ERROR"
    assert "missing" in (t.tasks(ex.id)["a"].state_info or "")


def test_workflow_input_is_checked_and_defaulted(t: TestEngine) -> None:
    upload(
        t,
        """
version: '2.0'
wf:
  input:
    - a
    - b: 2
  output: {sum: <% $.a + $.b %>}
  tasks:
    t: {action: std.noop}
""",
    )
    assert t.run("wf", {"a": 1}).output == {"sum": 3}
    with pytest.raises(WorkflowInputError, match=r"missing=\['a'\]"):
        t.engine.executions.start("wf", wf_input={})
    with pytest.raises(WorkflowInputError, match=r"unexpected=\['c'\]"):
        t.engine.executions.start("wf", wf_input={"a": 1, "c": 3})
    with pytest.raises(NotFoundError, match="Workflow not found"):
        t.engine.executions.start("nope")


def test_keep_result_false_drops_the_result_but_keeps_published(t: TestEngine) -> None:
    upload(
        t,
        """
version: '2.0'
wf:
  tasks:
    a:
      action: std.echo output=big
      keep-result: false
      publish: {v: <% task().result %>}
""",
    )
    ex = t.run("wf")
    assert t.tasks(ex.id)["a"].result is None
    assert ex.output == {"v": "big"}


def test_vars_and_task_by_name(t: TestEngine) -> None:
    upload(
        t,
        """
version: '2.0'
wf:
  vars: {base: 10}
  output: {total: <% task(a).result + $.base %>}
  tasks:
    a:
      action: std.echo output=5
""",
    )
    assert t.run("wf").output == {"total": 15}


def test_a_bad_document_is_refused_with_path_and_line(t: TestEngine) -> None:
    with pytest.raises(LanguageError) as info:
        upload(t, "version: '2.0'\nwf:\n  tasks:\n    t1:\n      action: std.noop\n      on-success: t9\n")
    assert str(info.value) == "line 6: wf.tasks.t1.on-success: unknown task 't9'"
