"""The rest of the workflow language: join, with-items, reverse workflows, sub-workflows, publish scopes."""

from __future__ import annotations

import pytest

from mistral_core.errors import InputError, LanguageError
from mistral_core.model import State
from tests.unit.support import RUNS, engine_with

JOIN_ALL = """
version: '2.0'
wf:
  tasks:
    start:
      action: std.noop
      on-success: [left, right]
    left:
      action: std.echo output=L
      publish: {l: <% task().result %>}
      on-success: both
    right:
      action: std.echo output=R
      publish: {r: <% task().result %>}
      on-success: both
    both:
      join: all
      action: std.echo output="<% $.l %><% $.r %>"
"""


def test_join_all_waits_for_every_branch_and_merges_their_context() -> None:
    t = engine_with(JOIN_ALL)
    ex = t.run("wf")
    assert ex.state is State.SUCCESS
    tasks = t.tasks(ex.id)
    assert tasks["both"].result == "LR"
    assert len([x for x in t.store.task_executions_of(ex.id) if x.name == "both"]) == 1


def test_join_that_can_never_be_satisfied_errors() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    start:
      action: std.noop
      on-success: [left, right]
    left:
      action: std.noop
      on-success: both
    right:
      action: std.fail
      on-success: both
      on-error: noop
    both:
      join: all
      action: std.noop
""")
    ex = t.run("wf")
    assert t.tasks(ex.id)["both"].state is State.ERROR
    assert "can never be satisfied" in (t.tasks(ex.id)["both"].state_info or "")
    assert ex.state is State.ERROR


def test_join_number_runs_once_when_enough_branches_arrived() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    start:
      action: std.noop
      on-success: [a, b, c]
    a: {action: std.noop, on-success: two}
    b: {action: std.noop, on-success: two}
    c: {action: std.noop, on-success: two}
    two:
      join: 2
      action: test.count name=two
""")
    ex = t.run("wf")
    assert ex.state is State.SUCCESS
    assert RUNS.count("two") == 1


def test_join_reached_through_on_error_and_on_complete() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    start:
      action: std.noop
      on-success: [bad, good]
    bad:
      action: std.fail
      on-error: both
    good:
      action: std.noop
      on-complete: both
    both:
      join: all
      action: std.noop
""")
    ex = t.run("wf")
    assert ex.state is State.SUCCESS
    assert t.tasks(ex.id)["both"].state is State.SUCCESS


def test_with_items_over_one_and_several_lists_keeps_item_order() -> None:
    t = engine_with("""
version: '2.0'
wf:
  input:
    - xs: [1, 2, 3]
    - ys: [a, b, c]
  tasks:
    one:
      with-items: x in <% $.xs %>
      action: std.echo output=<% $.x * 10 %>
      publish: {tens: <% task().result %>}
      on-success: two
    two:
      with-items:
        - x in <% $.xs %>
        - y in <% $.ys %>
      action: std.echo output="<% $.y %><% $.x %>"
      publish: {pairs: <% task().result %>}
""")
    ex = t.run("wf")
    assert ex.state is State.SUCCESS
    assert ex.output == {"tens": [10, 20, 30], "pairs": ["a1", "b2", "c3"]}


def test_with_items_concurrency_limits_what_runs_at_once() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    ask:
      with-items: i in <% range(0, 5) %>
      concurrency: 2
      action: std.async_noop
""")
    ex = t.run("wf")
    task = t.tasks(ex.id)["ask"]
    running = [a for a in t.store.action_executions_of(task.id) if a.state is State.RUNNING]
    assert len(running) == 2
    for i in range(5):
        running = [a for a in t.store.action_executions_of(task.id) if a.state is State.RUNNING]
        assert 1 <= len(running) <= 2
        t.push(running[0].id, "SUCCESS", i)
    ex = t.execution(ex.id)
    assert ex.state is State.SUCCESS
    assert sorted(t.tasks(ex.id)["ask"].result) == [0, 1, 2, 3, 4]


def test_with_items_one_failed_item_fails_the_task_after_all_finished() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    each:
      with-items: v in [1, 0, 2]
      action: std.fail error_data=<% $.v %>
""")
    ex = t.run("wf")
    assert ex.state is State.ERROR
    assert t.tasks(ex.id)["each"].state_info == "One or more actions had failed."


def test_with_items_of_different_lengths_fail_with_a_message() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    each:
      with-items:
        - x in <% [1, 2] %>
        - y in <% [1] %>
      action: std.noop
""")
    ex = t.run("wf")
    assert "same length" in (t.tasks(ex.id)["each"].state_info or "")


def test_with_items_over_an_empty_list_succeeds_with_an_empty_result() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    each:
      with-items: x in <% [] %>
      action: std.noop
      publish: {r: <% task().result %>}
""")
    assert t.run("wf").output == {"r": []}


REVERSE = """
version: '2.0'
wf:
  type: reverse
  tasks:
    fetch:
      action: std.echo output=data
      publish: {data: <% task().result %>}
    unrelated:
      action: test.count name=unrelated
    transform:
      requires: fetch
      action: std.echo output="<% $.data %>!"
      publish: {out: <% task().result %>}
    store:
      requires: [transform]
      action: std.echo output=<% $.out %>
"""


def test_reverse_workflow_runs_only_what_the_target_needs() -> None:
    t = engine_with(REVERSE)
    ex = t.run("wf", params={"task_name": "store"})
    assert ex.state is State.SUCCESS
    assert t.task_states(ex.id) == {"fetch": "SUCCESS", "transform": "SUCCESS", "store": "SUCCESS"}
    assert t.tasks(ex.id)["store"].result == "data!"
    assert "unrelated" not in RUNS


def test_reverse_workflow_needs_a_known_task_name() -> None:
    t = engine_with(REVERSE)
    with pytest.raises(InputError, match="task_name"):
        t.engine.executions.start("wf")
    with pytest.raises(InputError, match="no task 'nope'"):
        t.engine.executions.start("wf", params={"task_name": "nope"})


def test_reverse_requires_naming_a_missing_task_is_refused_at_upload() -> None:
    with pytest.raises(LanguageError, match="requires: unknown task 'ghost'"):
        engine_with("version: '2.0'\nwf:\n  type: reverse\n  tasks:\n    a:\n      requires: ghost\n")


PARENT_CHILD = """
version: '2.0'
child:
  input: [n]
  output: {double: <% $.n * 2 %>}
  tasks:
    wait:
      action: std.async_noop
parent:
  tasks:
    call:
      workflow: child n=21
      publish: {got: <% task().result.double %>}
"""


def test_sub_workflow_output_is_the_task_result() -> None:
    t = engine_with(PARENT_CHILD)
    ex = t.run("parent")
    call = t.tasks(ex.id)["call"]
    [child] = t.store.list_workflow_executions(_by("task_execution_id", call.id))
    assert (child.root_execution_id, child.input) == (ex.id, {"n": 21})
    t.push(t.running_action(child.id, "wait"), "SUCCESS", None)
    assert t.execution(child.id).state is State.SUCCESS
    ex = t.execution(ex.id)
    assert ex.state is State.SUCCESS and ex.output == {"got": 42}


def test_sub_workflow_failure_propagates_and_pause_cancel_go_down() -> None:
    t = engine_with(PARENT_CHILD)
    ex = t.run("parent")
    [child] = t.store.list_workflow_executions(_by("task_execution_id", t.tasks(ex.id)["call"].id))
    t.engine.executions.update(ex.id, State.PAUSED)
    assert t.execution(child.id).state is State.PAUSED
    t.engine.executions.update(child.id, State.RUNNING)
    assert t.execution(ex.id).state is State.RUNNING
    t.push(t.running_action(child.id, "wait"), "ERROR", "no")
    assert t.execution(child.id).state is State.ERROR
    assert t.execution(ex.id).state is State.ERROR
    ex2 = t.run("parent")
    [child2] = t.store.list_workflow_executions(_by("task_execution_id", t.tasks(ex2.id)["call"].id))
    t.engine.executions.update(ex2.id, State.CANCELLED)
    assert t.execution(child2.id).state is State.CANCELLED


def test_sub_workflow_unknown_fails_the_task() -> None:
    t = engine_with("version: '2.0'\nparent:\n  tasks:\n    call:\n      workflow: ghost\n")
    ex = t.run("parent")
    assert ex.state is State.ERROR
    assert "ghost" in (t.tasks(ex.id)["call"].state_info or "")


def test_publish_scopes_branch_and_global() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    a:
      action: std.echo output=1
      on-success:
        publish:
          branch: {b: <% task().result %>}
          global: {g: <% task().result + 1 %>}
        next: [read]
    read:
      action: std.echo output="<% $.b %>/<% global(g) %>"
""")
    ex = t.run("wf")
    assert t.tasks(ex.id)["read"].result == "1/2"


def _by(field: str, value: str):  # type: ignore[no-untyped-def]
    from mistral_core.model import Filter, Query

    return Query(filters=(Filter(field, "eq", value),))


def test_reverse_requires_that_loop_are_refused_at_upload() -> None:
    with pytest.raises(LanguageError, match="requires loop: a -> c -> b -> a"):
        engine_with(
            "version: '2.0'\nwf:\n  type: reverse\n  tasks:\n    a: {requires: c}\n"
            "    b: {requires: a}\n    c: {requires: b}\n"
        )


def test_with_items_over_a_sub_workflow_runs_one_child_per_item_with_concurrency() -> None:
    t = engine_with("""
version: '2.0'
child:
  input: [n]
  output: {square: <% $.n * $.n %>}
  tasks:
    wait: {action: std.async_noop}
parent:
  tasks:
    fan:
      with-items: n in <% [1, 2, 3] %>
      concurrency: 2
      workflow: child n=<% $.n %>
      publish: {squares: <% task().result.select($.square) %>}
""")
    ex = t.run("parent")
    fan = t.tasks(ex.id)["fan"]
    children = t.store.list_workflow_executions(_by("task_execution_id", fan.id))
    assert len(children) == 2
    for _ in range(3):
        running = [
            c
            for c in t.store.list_workflow_executions(_by("task_execution_id", fan.id))
            if c.state is State.RUNNING
        ]
        t.push(t.running_action(running[0].id, "wait"), "SUCCESS", None)
    ex = t.execution(ex.id)
    assert ex.state is State.SUCCESS and ex.output == {"squares": [1, 4, 9]}


def test_a_join_still_waiting_when_paused_is_not_failed_and_runs_after_resume() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    start:
      action: std.noop
      on-success: [left, right]
    left:
      action: std.async_noop
      on-success: both
    right:
      action: std.noop
      on-success: both
    both:
      join: all
      action: std.noop
""")
    ex = t.run("wf")
    t.engine.executions.update(ex.id, State.PAUSED)
    t.push(t.running_action(ex.id, "left"), "SUCCESS", None)
    assert t.tasks(ex.id)["both"].state is State.WAITING
    t.engine.executions.update(ex.id, State.RUNNING)
    t.runner.drain()
    assert t.execution(ex.id).state is State.SUCCESS
    assert t.tasks(ex.id)["both"].state is State.SUCCESS
