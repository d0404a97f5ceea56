"""The conductor decides from what it was given; what it lacks it asks for, and the unit of work loads it.

Every unit test runs through :class:`~tests.unit.support.PureEngineGuard`, a store whose every
method raises when the pure engine reaches it. These tests make sure the guard bites, and drive
the paths where the conductor has to ask for data (``NeedsData``): the tasks of other executions
for ``tasks()``, the action executions of a task, ad-hoc actions defined after the catalog was read.
"""

from __future__ import annotations

import pytest

from mistral_core.model import State
from mistral_core.persistence.memory import MemoryStore
from tests.unit.support import ImpureEngine, PureEngineGuard, engine_with


def test_the_guard_raises_when_the_pure_engine_reaches_the_store() -> None:
    guard = PureEngineGuard(MemoryStore())
    code = compile("store.count_timers()", "<conductor>", "eval")

    assert guard.count_timers() == 0  # from anywhere else: allowed
    with pytest.raises(ImpureEngine, match=r"store.count_timers\(\) called from mistral_core.engine.fake"):
        eval(code, {"__name__": "mistral_core.engine.fake", "store": guard})


RECURSIVE = """
version: '2.0'
parent:
  tasks:
    call:
      workflow: child
      on-success: [count]
    count:
      action: std.echo output=<% tasks(execution().id, true).len() %>
      publish: {seen: <% task().result %>}
  output: {seen: <% $.seen %>}
child:
  tasks:
    one: {action: std.noop, on-success: [two]}
    two: {action: std.noop}
"""


def test_tasks_of_sub_workflows_are_loaded_when_an_expression_asks_for_them() -> None:
    t = engine_with(RECURSIVE)

    ex = t.run("parent")

    assert ex.state is State.SUCCESS, ex.state_info
    assert ex.output == {"seen": 4}  # call, count, and the child's one and two


def test_tasks_of_another_execution_are_loaded_for_tasks_with_its_id() -> None:
    t = engine_with(
        RECURSIVE,
        """
version: '2.0'
spy:
  input: [other]
  tasks:
    look:
      action: std.echo output=<% tasks($.other, false, 'SUCCESS').select($.name) %>
      publish: {names: <% task().result %>}
  output: {names: <% $.names %>}
""",
    )
    other = t.run("parent")

    ex = t.run("spy", {"other": other.id})

    assert ex.state is State.SUCCESS, ex.state_info
    assert sorted(ex.output["names"]) == ["call", "count"]


def test_an_ad_hoc_action_defined_after_the_catalog_was_read_is_found() -> None:
    t = engine_with("version: '2.0'\nfirst:\n  tasks:\n    a: {action: std.noop}\n")
    assert t.run("first").state is State.SUCCESS  # the catalog's snapshot is read
    t.engine.definitions.create_actions("version: '2.0'\nhello:\n  base: std.echo output=hi\n")
    t.engine.definitions.create_workflows("version: '2.0'\nsecond:\n  tasks:\n    a: {action: hello}\n")

    ex = t.run("second")

    assert ex.state is State.SUCCESS, ex.state_info
    assert t.tasks(ex.id)["a"].result == "hi"


def test_a_changed_ad_hoc_action_applies_to_the_next_execution() -> None:
    t = engine_with("version: '2.0'\nwf:\n  tasks:\n    a: {action: hello}\n")
    t.engine.definitions.create_actions("version: '2.0'\nhello:\n  base: std.echo output=one\n")
    assert t.tasks(t.run("wf").id)["a"].result == "one"

    t.engine.definitions.update_actions("version: '2.0'\nhello:\n  base: std.echo output=two\n")

    assert t.tasks(t.run("wf").id)["a"].result == "two"


def test_items_waiting_for_capacity_and_a_retry_read_the_task_s_actions() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    each:
      with-items: x in <% [1, 2, 3] %>
      concurrency: 1
      action: std.echo output=<% $.x %>
      keep-result: false
      on-success: [flaky]
    flaky:
      action: test.count name=flaky fail_until=1
      retry: {count: 2}
""")

    ex = t.run("wf")

    assert ex.state is State.SUCCESS, ex.state_info
    assert t.tasks(ex.id)["each"].result is None  # keep-result: false
    assert t.tasks(ex.id)["flaky"].runtime_context.retry_no == 1
