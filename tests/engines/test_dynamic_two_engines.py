"""Dynamic actions across processes: a code source changed through one engine's services (an API
process) is run by the next execution another engine starts, by the catalog's version check, and
the code reaches its executor inside the command (through the broker's JSON encoding), never
from the database.

Each engine has its own store and catalog, as two processes over one PostgreSQL would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from mistral_core.actions.dynamic import DynamicLoader
from mistral_core.actions.registry import ActionRegistry
from mistral_core.executor import Executor
from mistral_core.model import Event, RunAction, State
from mistral_core.model.projects import EVERY_PROJECT
from mistral_core.persistence.sql import open_store
from mistral_core.services.dynamic import DynamicActionRequest
from mistral_core.services.engine import Engine
from mistral_core.testing import InlineRunner, ManualClock
from mistral_core.transport.wire import decode_command, encode_command
from tests.unit.support import ACTIONS

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

CODE = (
    "class Hello:\n    def __init__(self, name):\n        self.name = name\n\n    def run(self, context):\n"
)
WF = """
version: '2.0'
greets:
  output:
    said: <% $.said %>
  tasks:
    greet:
      action: hello name=Ada
      publish:
        said: <% task().result %>
"""
MAX_BYTES = 65_536


class OverTheWire(Executor):
    """An executor with no store that is given each command as the broker would deliver it."""

    def run(self, cmd: RunAction) -> Event:
        delivered = decode_command(json.loads(json.dumps(encode_command(cmd))))
        assert isinstance(delivered, RunAction)
        return super().run(delivered)


class Node:
    """One engine process: its own store, catalog and executor."""

    def __init__(self, url: str, clock: ManualClock) -> None:
        self.store = open_store(url)
        self.store.upgrade()
        registry = ActionRegistry.from_classes(ACTIONS)
        executor = OverTheWire(registry, "http://127.0.0.1:8989", dynamic=DynamicLoader(MAX_BYTES))
        self.runner = InlineRunner(executor)
        self.engine = Engine(self.store, registry, self.runner, clock=clock, dynamic_code_max_bytes=MAX_BYTES)
        self.runner.engine = self.engine

    def said(self) -> str:
        wf_ex = self.engine.executions.start("greets")
        self.runner.drain()
        done = self.store.get_workflow_execution(wf_ex.id)
        assert done.state is State.SUCCESS, done.state_info
        return str(done.output["said"])


@pytest.fixture
def nodes(pg_url: str) -> Iterator[tuple[Node, Node]]:
    clock = ManualClock()
    api, engine = Node(pg_url, clock), Node(pg_url, clock)
    yield api, engine
    api.store.close()
    engine.store.close()


def test_a_change_made_through_one_engine_is_run_by_the_next_execution_of_another(
    nodes: tuple[Node, Node],
) -> None:
    api, engine = nodes
    dynamic = api.engine.dynamic
    assert dynamic is not None
    dynamic.create_source(
        "greetings", CODE + "        return 'Hello, ' + self.name\n", "", "private", EVERY_PROJECT
    )
    request = DynamicActionRequest(name="hello", class_name="Hello", code_source="greetings")
    dynamic.create_action(request, EVERY_PROJECT)
    api.engine.definitions.create_workflows(WF)

    assert engine.said() == "Hello, Ada"

    dynamic.update_source(
        "greetings", CODE + "        return 'Goodbye, ' + self.name\n", "", "private", EVERY_PROJECT
    )
    assert engine.said() == "Goodbye, Ada"

    dynamic.delete_source("greetings", "", EVERY_PROJECT)
    wf_ex = engine.engine.executions.start("greets")
    engine.runner.drain()
    failed = engine.store.get_workflow_execution(wf_ex.id)
    assert failed.state is State.ERROR
    assert "hello" in (failed.state_info or "")


def test_the_command_carries_the_code_and_its_version(nodes: tuple[Node, Node]) -> None:
    api, engine = nodes
    dynamic = api.engine.dynamic
    assert dynamic is not None
    dynamic.create_source("greetings", CODE + "        return self.name\n", "", "private", EVERY_PROJECT)
    dynamic.create_action(
        DynamicActionRequest(name="hello", class_name="Hello", code_source="greetings"), EVERY_PROJECT
    )
    api.engine.definitions.create_workflows(WF)

    engine.engine.executions.start("greets")
    (command,) = engine.runner.queue

    assert command.action_name == "hello"
    assert command.code is not None
    assert (command.code["module"], command.code["class_name"], command.code["version"]) == (
        "greetings",
        "Hello",
        1,
    )
    assert "return self.name" in command.code["content"]
    assert "content" not in repr(command)  # the module's text is not logged with the command
