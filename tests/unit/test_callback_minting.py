"""Where callback tokens are minted: a dispatch, a re-dispatch by recovery, an action run alone."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from mistral_core.actions.base import Action, ActionContext
from mistral_core.auth.credentials import digest
from mistral_core.executor import Executor
from mistral_core.model import RunAction
from mistral_core.services.engine import Engine
from mistral_core.testing import InlineRunner, TestEngine

WAITS = """---
version: '2.0'
waits:
  tasks:
    wait:
      action: hand.off
"""


class HandOff(Action):
    """Async; keeps the token its context carried."""

    tokens: ClassVar[list[str | None]] = []

    def run(self, context: ActionContext) -> None:
        HandOff.tokens.append(context.execution.callback_token)

    def is_sync(self) -> bool:
        return False


def _engine() -> TestEngine:
    HandOff.tokens.clear()
    t = TestEngine({"hand.off": HandOff})
    t.engine.definitions.create_workflows(WAITS)
    return t


def test_the_secret_rides_in_the_command_and_its_hash_is_written_with_the_decision() -> None:
    t = _engine()
    wf_ex = t.engine.executions.start("waits")
    (command,) = t.runner.queue  # decided and committed, not run yet

    stored = t.store.get_action_execution(command.action_execution_id)
    assert isinstance(command, RunAction) and command.callback_token is not None
    assert command.callback_token not in repr(command)
    assert stored.callback_token_hash == digest(command.callback_token)
    assert stored.callback_token_expires_at == t.clock.now() + dt.timedelta(days=30)
    t.runner.drain()
    assert HandOff.tokens == [command.callback_token]
    assert t.running_action(wf_ex.id, "wait") == stored.id


def test_recovery_sends_an_action_again_with_a_new_token_and_the_old_one_stops() -> None:
    t = _engine()
    t.engine.executions.start("waits")
    (first,) = t.runner.queue  # the process "stops" before running it
    assert first.callback_token is not None

    runner = InlineRunner(Executor(t.registry, "http://127.0.0.1:8989"))
    other = Engine(t.store, t.registry, runner, clock=t.clock, callback_token_max_age=dt.timedelta(hours=1))
    assert other.recovery.recover().total == 1

    (again,) = runner.queue
    assert again.callback_token is not None and again.callback_token != first.callback_token
    stored = t.store.get_action_execution(first.action_execution_id)
    assert stored.callback_token_hash == digest(again.callback_token)
    assert stored.callback_token_expires_at == t.clock.now() + dt.timedelta(hours=1)
    assert stored.runner_id == other.engine_id
    assert t.store.action_execution_by_token(digest(first.callback_token)) is None


def test_an_async_action_run_outside_a_workflow_gets_a_token_too() -> None:
    t = _engine()
    action_ex = t.engine.action_runs.run("hand.off")
    (command,) = t.runner.queue

    assert command.callback_token is not None
    assert t.store.get_action_execution(action_ex.id).callback_token_hash == digest(command.callback_token)
