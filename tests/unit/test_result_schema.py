"""Results checked before they count: a task's output-schema, or its action class's."""

from __future__ import annotations

from typing import Any

import pytest

from mistral_core.errors import LanguageError, UnacceptableResult
from mistral_core.model import State
from mistral_core.testing import TestEngine
from tests.unit.support import ACTIONS, engine_with

WF = """
version: '2.0'
order:
  tasks:
    ask:
      action: std.async_noop
      output-schema:
        type: object
        required: [price]
        properties:
          price: {type: number, minimum: 0}
          items: {type: array, items: {type: string}}
      publish: {price: <% task().result.price %>}
  output: {price: <% $.price %>}
echoed:
  tasks:
    say:
      action: std.echo output=<% $.out %>
      output-schema: {type: integer}
  input: [out]
"""


def test_a_pushed_result_that_does_not_match_is_refused_and_the_action_keeps_waiting() -> None:
    t = engine_with(WF)
    ex = t.run("order")
    action_id = t.running_action(ex.id, "ask")

    with pytest.raises(UnacceptableResult, match=r"task 'ask': at \$.items\[1\]: 3 is not of type 'string'"):
        t.push(action_id, "SUCCESS", {"price": 2, "items": ["a", 3]})
    with pytest.raises(UnacceptableResult, match=r"at \$: 'price' is a required property"):
        t.push(action_id, "SUCCESS", {"items": []})
    assert t.store.get_action_execution(action_id).state is State.RUNNING

    assert t.push(action_id, "SUCCESS", {"price": 4.5, "items": ["a"]}).output == {"price": 4.5}


def test_an_error_result_is_not_checked() -> None:
    t = engine_with(WF)
    ex = t.run("order")

    assert t.push(t.running_action(ex.id, "ask"), "ERROR", "no price today").state is State.ERROR


def test_an_executor_result_that_does_not_match_fails_the_action() -> None:
    t = engine_with(WF)

    ex = t.run("echoed", {"out": "not a number"})

    (action,) = t.store.action_executions_of(t.tasks(ex.id)["say"].id)
    assert (ex.state, action.state) == (State.ERROR, State.ERROR)
    assert "at $: 'not a number' is not of type 'integer'" in (action.state_info or "")


class Priced:
    """An async action whose class says what its results look like."""

    output_schema: dict[str, Any] = {"type": "object", "required": ["total"]}

    def run(self, context: Any) -> None:
        return None

    def is_sync(self) -> bool:
        return False


def test_an_action_class_may_declare_the_schema_of_its_results() -> None:
    t = TestEngine({**ACTIONS, "test.priced": Priced})
    t.engine.definitions.create_workflows("version: '2.0'\nwf:\n  tasks:\n    p: {action: test.priced}\n")
    ex = t.run("wf")
    action_id = t.running_action(ex.id, "p")

    with pytest.raises(UnacceptableResult, match=r"output-schema of action test\.priced"):
        t.push(action_id, "SUCCESS", {"sum": 1})
    assert t.push(action_id, "SUCCESS", {"total": 1}).state is State.SUCCESS


def test_an_output_schema_that_is_not_a_json_schema_is_refused_at_upload() -> None:
    t = engine_with()

    with pytest.raises(LanguageError, match="output-schema: not a JSON Schema"):
        task = "    a:\n      action: std.noop\n      output-schema: {type: banana}\n"
        t.engine.definitions.create_workflows(f"version: '2.0'\nwf:\n  tasks:\n{task}")
