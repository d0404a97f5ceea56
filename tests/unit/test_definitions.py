"""Ad-hoc actions, workbooks and environments."""

from __future__ import annotations

import pytest

from mistral_core.errors import ActionError, DuplicateError, InputError, LanguageError
from mistral_core.model import State
from mistral_core.services.unit_of_work import refresh_catalog
from tests.unit.support import engine_with

ADHOC = """
version: '2.0'
greet:
  base: std.echo
  base-input:
    output: "Hello, <% $.name %>!"
  input:
    - name
    - punctuation: "!"
loud_greet:
  base: greet
  base-input: {name: <% $.name %>}
  input: [name]
  output: <% $.toUpper() %>
ask_later:
  base: std.async_noop
  output: <% $.answer %>
"""


def test_adhoc_actions_wrap_their_base_and_transform_the_output() -> None:
    t = engine_with("""
version: '2.0'
wf:
  tasks:
    a:
      action: greet name=Ann
      publish: {plain: <% task().result %>}
      on-success: b
    b:
      action: loud_greet name=Bob
      publish: {loud: <% task().result %>}
""")
    t.engine.definitions.create_actions(ADHOC)
    ex = t.run("wf")
    assert ex.state is State.SUCCESS
    assert ex.output == {"plain": "Hello, Ann!", "loud": "HELLO, BOB!"}
    [action] = t.store.action_executions_of(t.tasks(ex.id)["a"].id)
    assert (action.name, action.input) == ("greet", {"name": "Ann"})


def test_an_async_adhoc_action_transforms_the_pushed_result() -> None:
    t = engine_with("version: '2.0'\nwf:\n  tasks:\n    a:\n      action: ask_later\n")
    t.engine.definitions.create_actions(ADHOC)
    ex = t.run("wf")
    done = t.push(t.running_action(ex.id, "a"), "SUCCESS", {"answer": 42})
    assert done.state is State.SUCCESS
    assert t.tasks(ex.id)["a"].result == 42


def test_adhoc_input_is_checked() -> None:
    t = engine_with("version: '2.0'\nwf:\n  tasks:\n    a:\n      action: greet nick=x\n")
    t.engine.definitions.create_actions(ADHOC)
    ex = t.run("wf")
    assert ex.state is State.ERROR
    info = t.tasks(ex.id)["a"].state_info or ""
    assert "missing required parameter 'name'" in info and "unexpected parameter 'nick'" in info


def test_adhoc_documents_are_validated_and_system_names_refused() -> None:
    t = engine_with()
    with pytest.raises(LanguageError, match="missing required property 'base'"):
        t.engine.definitions.create_actions("version: '2.0'\nx:\n  bse: std.echo\n")
    with pytest.raises(InputError, match="system"):
        t.engine.definitions.create_actions("version: '2.0'\nstd.echo:\n  base: std.noop\n")
    t.engine.definitions.create_actions(ADHOC)
    with pytest.raises(DuplicateError):
        t.engine.definitions.create_actions(ADHOC)


def test_adhoc_base_chains_that_loop_fail_the_task() -> None:
    t = engine_with("version: '2.0'\nwf:\n  tasks:\n    a:\n      action: ping\n")
    t.engine.definitions.create_actions("version: '2.0'\nping:\n  base: pong\npong:\n  base: ping\n")
    ex = t.run("wf")
    assert "loops" in (t.tasks(ex.id)["a"].state_info or "")


WORKBOOK = """
version: '2.0'
name: shop
actions:
  hello:
    base: std.echo output="hi <% $.who %>"
    input: [who]
workflows:
  main:
    output: {said: <% $.said %>}
    tasks:
      call:
        workflow: helper who=Ann
        publish: {said: <% task().result.said %>}
  helper:
    input: [who]
    output: {said: <% $.said %>}
    tasks:
      say:
        action: hello who=<% $.who %>
        publish: {said: <% task().result %>}
"""


def test_workbook_items_are_named_after_it_and_find_each_other_by_short_name() -> None:
    t = engine_with()
    workbook = t.engine.definitions.create_workbook(WORKBOOK)
    assert workbook.name == "shop"
    names = {d.name for d in t.store.list_workflow_definitions(_all())}
    assert {"shop.main", "shop.helper"} <= names
    ex = t.run("shop.main")
    assert ex.state is State.SUCCESS and ex.output == {"said": "hi Ann"}


def test_workbook_update_and_delete_take_their_items_along() -> None:
    t = engine_with()
    t.engine.definitions.create_workbook(WORKBOOK)
    t.engine.definitions.update_workbook(
        WORKBOOK.replace("  helper:", "  assistant:").replace("workflow: helper", "workflow: assistant")
    )
    names = {d.name for d in t.store.list_workflow_definitions(_all())}
    assert "shop.helper" not in names and "shop.assistant" in names
    t.engine.definitions.delete_workbook("shop")
    assert not [d for d in t.store.list_workflow_definitions(_all()) if d.name.startswith("shop.")]
    refresh_catalog(t.store, t.engine.catalog)
    with pytest.raises(ActionError):
        t.engine.catalog.prepare("shop.hello", {"who": "x"}, checked=True)


def test_environments_by_name_or_inline_and_env_in_expressions() -> None:
    t = engine_with("""
version: '2.0'
wf:
  output:
    url: <% env().url %>
    jinja: '{{ env().url }}'
    id_known: <% execution().id != null %>
  tasks:
    a: {action: std.noop}
""")
    t.engine.environments.create("prod", {"url": "https://prod"}, "production")
    assert t.run("wf", params={"env": "prod"}).output == {
        "url": "https://prod",
        "jinja": "https://prod",
        "id_known": True,
    }
    assert t.run("wf", params={"env": {"url": "inline"}}).output["url"] == "inline"
    with pytest.raises(InputError, match="Environment not found"):
        t.engine.executions.start("wf", params={"env": "nope"})
    t.engine.environments.update("prod", variables={"url": "https://new"})
    assert t.run("wf", params={"env": "prod"}).output["url"] == "https://new"
    with pytest.raises(InputError, match="must be an object"):
        t.engine.environments.create("bad", [1, 2])  # type: ignore[arg-type]


def _all():  # type: ignore[no-untyped-def]
    from mistral_core.model import Query

    return Query()


def test_vars_see_the_input_and_env() -> None:
    t = engine_with("""
version: '2.0'
wf:
  input:
    - n: 2
  vars:
    region: <% env().region %>
    twice: <% $.n * 2 %>
  output: {r: <% $.region %>, t: <% $.twice %>}
  tasks:
    a: {action: std.noop}
""")
    assert t.run("wf", params={"env": {"region": "north"}}).output == {"r": "north", "t": 4}
