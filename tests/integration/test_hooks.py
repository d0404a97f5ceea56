"""Lifecycle hooks, in-process over a real SQLite file: called after commit; a failing one breaks nothing.

Installing a package to reach the hooks through their entry point is left to the third-party plugin
test; here the observers are registered on the manager that ``build_service`` is given.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mistral_core.bootstrap import Service, build_service
from mistral_core.config import Settings
from mistral_core.errors import StateConflictError
from mistral_core.hooks import HookManager, hookimpl
from mistral_core.model import ActionExecution, State, TaskExecution, WorkflowExecution
from mistral_core.persistence.sql import SqlStore, open_store

pytestmark = pytest.mark.integration

WORKFLOWS = """\
---
version: '2.0'
two_steps:
  output:
    message: <% $.message %>
  tasks:
    first:
      action: std.echo output="hello"
      publish:
        message: <% task().result %>
      on-success: second
    second:
      action: std.noop
waits:
  tasks:
    t1:
      action: std.async_noop
"""
IDLE_TIMEOUT = 10.0


@dataclasses.dataclass(frozen=True)
class Seen:
    """One hook call: what the record said, and what another connection to the database saw then."""

    hook: str
    record_id: str
    given: tuple[Any, ...]
    stored: tuple[Any, ...]


class Observer:
    """Records every hook call, reading the record back through its own store (its own connection)."""

    def __init__(self, verifier: SqlStore) -> None:
        self.verifier = verifier
        self.seen: list[Seen] = []

    def _see(self, hook: str, record_id: str, given: tuple[Any, ...], stored: tuple[Any, ...]) -> None:
        self.seen.append(Seen(hook, record_id, given, stored))

    @hookimpl
    def mistral_workflow_execution_started(self, wf_ex: WorkflowExecution) -> None:
        stored = self.verifier.get_workflow_execution(wf_ex.id)
        self._see("wf started", wf_ex.id, (wf_ex.state, wf_ex.input), (stored.state, stored.input))

    @hookimpl
    def mistral_workflow_execution_completed(self, wf_ex: WorkflowExecution) -> None:
        stored = self.verifier.get_workflow_execution(wf_ex.id)
        self._see("wf completed", wf_ex.id, (wf_ex.state, wf_ex.output), (stored.state, stored.output))

    @hookimpl
    def mistral_task_execution_completed(self, task_ex: TaskExecution) -> None:
        stored = self.verifier.get_task_execution(task_ex.id)
        self._see(
            "task completed",
            task_ex.name,
            (task_ex.state, task_ex.published),
            (stored.state, stored.published),
        )

    @hookimpl
    def mistral_action_execution_completed(self, action_ex: ActionExecution) -> None:
        stored = self.verifier.get_action_execution(action_ex.id)
        self._see(
            "action completed",
            action_ex.id,
            (action_ex.state, action_ex.output),
            (stored.state, stored.output),
        )

    @hookimpl
    def mistral_action_result_rejected(self, action_ex: ActionExecution, state: str, reason: str) -> None:
        stored = self.verifier.get_action_execution(action_ex.id)
        self._see("result rejected", action_ex.id, (action_ex.state, state), (stored.state, state))

    def hooks(self) -> list[str]:
        """The hooks called, in order."""
        return [seen.hook for seen in self.seen]


class Broken:
    """An observer with a bug in every hook."""

    @hookimpl
    def mistral_workflow_execution_started(self, wf_ex: WorkflowExecution) -> None:
        raise RuntimeError("observer bug")

    @hookimpl
    def mistral_workflow_execution_completed(self, wf_ex: WorkflowExecution) -> None:
        raise RuntimeError("observer bug")

    @hookimpl
    def mistral_task_execution_completed(self, task_ex: TaskExecution) -> None:
        raise RuntimeError("observer bug")

    @hookimpl
    def mistral_action_execution_completed(self, action_ex: ActionExecution) -> None:
        raise RuntimeError("observer bug")


@dataclasses.dataclass
class Running:
    """A service built by the composition root, with its observer."""

    service: Service
    observer: Observer

    def run(self, workflow: str) -> WorkflowExecution:
        """Start ``workflow``, wait until every action and its result were handled; the execution then."""
        wf_ex = self.service.engine.executions.start(workflow)
        assert self.service.transport.wait_idle(IDLE_TIMEOUT), "the executors did not go idle"
        finished: WorkflowExecution = self.service.store.get_workflow_execution(wf_ex.id)
        return finished


def _running(tmp_path: Path, *extra_plugins: object) -> Iterator[Running]:
    url = f"sqlite:///{tmp_path / 'hooks.db'}"
    verifier = open_store(url)
    observer = Observer(verifier)
    hooks = HookManager(load_entry_points=False)
    for plugin in (*extra_plugins, observer):
        hooks.register(plugin)
    service = build_service(Settings(database_url=url), hooks=hooks)
    service.engine.definitions.create_workflows(WORKFLOWS)
    try:
        yield Running(service, observer)
    finally:
        service.stop()
        verifier.close()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    """A service whose only observer records."""
    yield from _running(tmp_path)


@pytest.fixture
def running_with_a_broken_observer(tmp_path: Path) -> Iterator[Running]:
    """A service with an observer that raises in every hook, registered before the one that records."""
    yield from _running(tmp_path, Broken())


def test_hooks_are_called_after_commit_with_the_committed_records(running: Running) -> None:
    wf_ex = running.run("two_steps")

    assert wf_ex.state is State.SUCCESS
    assert running.observer.hooks() == [
        "wf started",
        "action completed",
        "task completed",
        "action completed",
        "task completed",
        "wf completed",
    ]
    for seen in running.observer.seen:
        assert seen.given == seen.stored, seen  # another connection already sees what the hook was given
    assert running.observer.seen[0].given[0] is State.RUNNING
    assert running.observer.seen[-1].given == (State.SUCCESS, {"message": "hello"})
    tasks = [seen.record_id for seen in running.observer.seen if seen.hook == "task completed"]
    assert tasks == ["first", "second"]


def test_a_pushed_result_and_a_refused_one_are_told_after_commit(running: Running) -> None:
    wf_ex = running.run("waits")
    store = running.service.store
    (task_ex,) = store.task_executions_of(wf_ex.id)
    (action_ex,) = store.action_executions_of(task_ex.id)

    running.service.engine.results.complete(action_ex.id, State.SUCCESS, 3)
    with pytest.raises(StateConflictError, match="already SUCCESS"):
        running.service.engine.results.complete(action_ex.id, State.SUCCESS, 4)

    assert running.observer.hooks() == [
        "wf started",
        "action completed",
        "task completed",
        "wf completed",
        "result rejected",
    ]
    for seen in running.observer.seen:
        assert seen.given == seen.stored, seen
    assert running.observer.seen[1].given == (State.SUCCESS, {"result": 3})


def test_a_hook_that_raises_does_not_break_the_execution(
    running_with_a_broken_observer: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="mistral_core.hooks")

    wf_ex = running_with_a_broken_observer.run("two_steps")

    assert wf_ex.state is State.SUCCESS
    assert wf_ex.output == {"message": "hello"}
    assert len(running_with_a_broken_observer.observer.seen) == 6  # the other observer still heard everything
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 6, [r.getMessage() for r in caplog.records]
    assert all(r.exc_info and "observer bug" in str(r.exc_info[1]) for r in failures)
