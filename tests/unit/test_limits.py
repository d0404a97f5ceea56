"""Limits on what one workflow can make the engine store or start: each fails its task, naming the limit."""

from __future__ import annotations

import pytest

from mistral_core.engine.limits import Limits, json_size_over
from mistral_core.errors import InputError
from mistral_core.model import State
from tests.unit.support import engine_with

SMALL = Limits(field_size_limit=200, with_items_limit=5, subworkflow_depth_limit=3)


def test_the_size_walk_stops_at_the_limit_whatever_the_value() -> None:
    assert json_size_over({"a": [1, 2, "x" * 10]}, 100) is None
    assert json_size_over("x" * 1000, 100) == 1002
    huge = [["y" * 50] * 10_000] * 10_000  # 5 GB of JSON: the walk does not go through it
    size = json_size_over(huge, 1000)
    assert size is not None and size < 2_000_000


def test_a_workflow_that_calls_itself_stops_at_the_depth_limit() -> None:
    t = engine_with("version: '2.0'\nloop:\n  tasks:\n    again: {workflow: loop}\n", limits=SMALL)

    ex = t.run("loop")

    assert ex.state is State.ERROR
    assert "sub-workflows nest 4 deep: the limit is 3 (setting subworkflow_depth_limit)" in (
        ex.state_info or ""
    )
    assert len(t.store.list_workflow_executions(_all())) == 4


def test_with_items_over_the_limit_fails_the_task_before_any_item_starts() -> None:
    each = "    each:\n      with-items: x in <% range(6) %>\n      action: std.noop\n"
    t = engine_with(f"version: '2.0'\nwf:\n  tasks:\n{each}", limits=SMALL)

    ex = t.run("wf")

    task = t.tasks(ex.id)["each"]
    assert task.state is State.ERROR
    assert "with-items over 6 items: the limit is 5 (setting with_items_limit)" in (task.state_info or "")
    assert t.store.action_executions_of(task.id) == []


@pytest.mark.parametrize(
    ("body", "where", "fragment"),
    [
        (
            "    t:\n      action: std.noop\n      publish: {big: <% 'x' * 300 %>}\n",
            "t",
            "Failed to publish variables of task 't': What the task publishes is over",
        ),
        (
            "    t:\n      action: std.echo\n      input: {output: <% 'x' * 300 %>}\n",
            "t",
            "Failed to run task 't': The input of action std.echo is over",
        ),
    ],
)
def test_values_over_the_field_size_limit_fail_their_task(body: str, where: str, fragment: str) -> None:
    t = engine_with(f"version: '2.0'\nwf:\n  tasks:\n{body}", limits=SMALL)

    ex = t.run("wf")

    task = t.tasks(ex.id)[where]
    assert (ex.state, task.state) == (State.ERROR, State.ERROR)
    assert fragment in (task.state_info or "")
    assert "(setting field_size_limit)" in (task.state_info or "")


def test_a_pushed_result_over_the_limit_is_refused_and_the_action_still_waits() -> None:
    t = engine_with("version: '2.0'\nwf:\n  tasks:\n    t: {action: std.async_noop}\n", limits=SMALL)
    ex = t.run("wf")
    action_id = t.running_action(ex.id, "t")

    with pytest.raises(InputError, match="The result is over 302 bytes: the limit is 200 bytes"):
        t.push(action_id, "SUCCESS", "x" * 300)

    assert t.push(action_id, "SUCCESS", "small").state is State.SUCCESS


def test_a_result_over_the_limit_from_an_executor_fails_its_task() -> None:
    t = engine_with(limits=Limits(field_size_limit=200))
    t.engine.definitions.create_actions(
        "version: '2.0'\nbig:\n  base: std.echo output=x\n  output: <% 'y' * 300 %>\n"
    )
    t.engine.definitions.create_workflows("version: '2.0'\nuses_big:\n  tasks:\n    b: {action: big}\n")

    ex = t.run("uses_big")

    (action_ex,) = t.store.action_executions_of(t.tasks(ex.id)["b"].id)
    assert (ex.state, action_ex.state) == (State.ERROR, State.ERROR)
    assert "The result of action big is over 302 bytes" in action_ex.output["result"]


def test_an_output_over_the_limit_fails_the_workflow() -> None:
    t = engine_with(
        "version: '2.0'\nwf:\n  output: {o: <% 'x' * 300 %>}\n  tasks:\n    t: {action: std.noop}\n",
        limits=SMALL,
    )

    ex = t.run("wf")

    assert ex.state is State.ERROR
    assert "The workflow's output is over" in (ex.state_info or "")


def test_an_input_over_the_limit_is_refused_before_anything_is_written() -> None:
    t = engine_with("version: '2.0'\nwf:\n  input: [x]\n  tasks:\n    t: {action: std.noop}\n", limits=SMALL)

    with pytest.raises(InputError, match="The workflow input is over"):
        t.engine.executions.start("wf", wf_input={"x": "y" * 300})
    assert t.store.list_workflow_executions(_all()) == []


def _all():  # type: ignore[no-untyped-def]
    from mistral_core.model import Query

    return Query()
