"""Uploaded modules: read without running them (lang.pysource), and run only in the executor
(actions.dynamic), where nothing they raise stops it."""

from __future__ import annotations

from typing import Any

import pytest

from mistral_core.actions.base import ActionContext, ExecutionContext
from mistral_core.actions.dynamic import DynamicLoader
from mistral_core.actions.registry import ActionRegistry
from mistral_core.errors import ActionError, InputError
from mistral_core.executor import Executor
from mistral_core.lang.pysource import check_name, outline
from mistral_core.model import ActionCompleted, RunAction, State

MODULE = '''\
import os

LIMIT = 3


class Base:
    """The base."""

    def __init__(self, a, b=LIMIT, *args, c={"k": [1]}, action_context=None, **rest):
        pass


class Child(Base):
    """A child.

    More lines.
    """

    def run(self, context):
        return 1


class Waits:
    def __init__(self, *, only):
        pass

    def is_sync(self):
        """Asynchronous."""
        return False


def not_a_class():
    pass
'''


def test_a_module_is_read_without_running_it() -> None:
    classes = outline("mod", "import sys\nsys.exit(1)\n" + MODULE, 10_000).classes

    assert set(classes) == {"Base", "Child", "Waits"}
    child = classes["Child"]
    assert [p.name for p in child.params] == ["a", "b", "c"]  # action_context is no input
    assert child.input_spec == 'a, b="LIMIT", c={"k": [1]}'  # a default that is no literal: its text
    assert child.accepts_extra and child.is_sync
    assert child.description == "A child."
    waits = classes["Waits"]
    assert not waits.is_sync
    assert waits.input_problems({"x": 1}) == ["missing required parameter 'only'", "unexpected parameter 'x'"]
    assert child.input_problems({"a": 1, "zzz": 2}) == []  # **rest takes anything


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("x = " + "[" * 2000 + "]" * 2000, "does not compile"),
        ("x = 1 +" + " 1 +" * 50_000 + " 1", "does not compile"),
        ("x = '\x00'", "NUL"),
        ("class A:\n  return 1\n", "'return' outside function"),
        ("é" * 600, "too large: 1200 bytes, the limit is 1000 bytes"),
    ],
)
def test_hostile_modules_are_one_line_refusals(text: str, fragment: str) -> None:
    with pytest.raises(InputError) as refused:
        outline("mod", text, 1000 if text.startswith("é") else 1_000_000)

    assert fragment in refused.value.message
    assert "\n" not in refused.value.message


@pytest.mark.parametrize("name", ["", "a b", "1x", "a..b", "x" * 256, "a/b", "a.b-c"])
def test_a_code_sources_name_is_a_module_name(name: str) -> None:
    with pytest.raises(InputError):
        check_name(name)


def test_dotted_module_names_are_names() -> None:
    assert check_name("my.actions_2") == "my.actions_2"


def _code(content: str, class_name: str = "A", module: str = "mod") -> dict[str, Any]:
    return {"module": module, "class_name": class_name, "version": 1, "content": content}


def _context() -> ActionContext:
    return ActionContext(execution=ExecutionContext(action_execution_id="ae"))


def test_a_module_version_is_executed_once_per_executor() -> None:
    loader = DynamicLoader(10_000)
    text = "class A:\n    def run(self, context):\n        return id(A)\n"

    first = loader.build("a", _code(text), {}).run(_context())
    again = loader.build("a", _code(text), {}).run(_context())
    changed = loader.build("a", _code(text + "\n# v2\n"), {}).run(_context())

    assert first == again
    assert changed != first


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("raise SystemExit(2)\n", "module mod failed to import: SystemExit: 2"),
        ("raise KeyboardInterrupt\n", "failed to import: KeyboardInterrupt"),
        ("import no_such_module_here\n", "failed to import: ModuleNotFoundError"),
        ("B = 1\n", "class A is not in module mod"),
        ("A = 1\n", "class A is not in module mod"),
        (
            "class A:\n    def __init__(self):\n        raise SystemExit('no')\n",
            "Failed to create action a: no",
        ),
        ("class A:\n    def __init__(self, x):\n        pass\n", "missing required parameter 'x'"),
    ],
)
def test_what_cannot_be_built_is_an_action_error(text: str, fragment: str) -> None:
    with pytest.raises(ActionError) as failed:
        DynamicLoader(10_000).build("a", _code(text), {})

    assert fragment in failed.value.message


def test_a_run_that_raises_system_exit_is_an_ordinary_failure() -> None:
    action = DynamicLoader(10_000).build(
        "a", _code("class A:\n    def run(self, context):\n        raise SystemExit(4)\n"), {}
    )

    with pytest.raises(RuntimeError, match="SystemExit: 4"):
        action.run(_context())


def test_code_over_the_limit_is_not_run() -> None:
    with pytest.raises(ActionError, match="over 10 bytes"):
        DynamicLoader(10).build("a", _code("class A:\n    pass\n"), {})


def _command(code: dict[str, Any] | None) -> RunAction:
    return RunAction("ae", "a", {}, True, code=code)


def test_the_executor_runs_the_code_of_the_command_and_goes_on_after_failures() -> None:
    executor = Executor(ActionRegistry.from_classes({}), "http://x", dynamic=DynamicLoader(10_000))
    ok = "class A:\n    def run(self, context):\n        return context.execution.action_execution_id\n"

    broken = executor.run(_command(_code("import sys\nsys.exit(1)\n")))
    exits = executor.run(
        _command(_code("class A:\n    def run(self, context):\n        raise SystemExit(1)\n"))
    )
    done = executor.run(_command(_code(ok)))

    assert isinstance(broken, ActionCompleted) and broken.state is State.ERROR
    assert isinstance(exits, ActionCompleted) and exits.state is State.ERROR
    assert exits.output == "Action a failed: SystemExit: 1"
    assert done == ActionCompleted("ae", State.SUCCESS, "ae", None)


def test_an_executor_with_dynamic_actions_off_fails_them_saying_why() -> None:
    executor = Executor(ActionRegistry.from_classes({}), "http://x")

    event = executor.run(_command(_code("class A:\n    def run(self, context):\n        return 1\n")))

    assert isinstance(event, ActionCompleted) and event.state is State.ERROR
    assert event.output == "Action a is a dynamic action, and dynamic actions are off on this executor"
