"""Test helpers for users and plugin authors: an engine with no threads, no I/O, no sleeps.

from mistral_core.testing import TestEngine
t = TestEngine({"my.action": MyAction})
t.engine.definitions.create_workflows(WF_YAML)
ex = t.run("my_wf", {"x": 1})          # runs every sync action to completion
assert ex.state.value == "SUCCESS"
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from mistral_core.actions.registry import ActionRegistry
from mistral_core.engine.limits import Limits
from mistral_core.engine.notifications import NotifyPolicy
from mistral_core.executor import Executor
from mistral_core.model import (
    CancelAction,
    Command,
    Event,
    Notify,
    RunAction,
    State,
    TaskExecution,
    WorkflowExecution,
)
from mistral_core.notifiers.registry import NotifierRegistry
from mistral_core.persistence.memory import MemoryStore
from mistral_core.scheduler import CronTab, Scheduler
from mistral_core.services.engine import Engine


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.time = start or dt.datetime(2030, 1, 1, 12, 0, 0)

    def now(self) -> dt.datetime:
        """The current (fake) time."""
        return self.time

    def advance(self, seconds: float) -> None:
        """Move the time forward."""
        self.time += dt.timedelta(seconds=seconds)


class InlineRunner:
    """Queues actions; :meth:`drain` runs them one by one in this thread and applies their events."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.queue: collections.deque[RunAction] = collections.deque()
        self.cancelled: list[CancelAction] = []
        self.notified: list[Notify] = []
        self.engine: Engine | None = None

    def submit(self, commands: Sequence[Command]) -> None:
        """Queue the actions (run later by :meth:`drain`); remember cancellations and deliver
        notifications at once."""
        for cmd in commands:
            if isinstance(cmd, RunAction):
                self.queue.append(cmd)
            elif isinstance(cmd, Notify):
                self.notified.append(cmd)
                assert self.engine is not None
                self.engine.results.apply_events([self.executor.notify(cmd)])
            else:
                self.cancelled.append(cmd)
                assert self.engine is not None
                self.engine.results.apply_events([self.executor.cancel(cmd)])

    def run_now(self, cmd: RunAction) -> Event:
        """Run one action in this thread and return its event."""
        return self.executor.run(cmd)

    def drain(self) -> int:
        """Run queued actions (and those they lead to) until none is left; return how many ran."""
        assert self.engine is not None
        count = 0
        while self.queue:
            event = self.executor.run(self.queue.popleft())
            self.engine.results.apply_events([event])
            count += 1
        return count


class TestEngine:
    """An engine over an in-memory store and the given actions (default: the installed ones).

    Args:
        actions: ``{"name": ActionClass}`` for a test registry, or None for the installed plugins.
        public_url: what callback URLs are built from.
        store: the store (default: a new in-memory one).
        limits: the engine's limits (default: those of the settings' defaults).
        notice_retry_for: how long a failing cancel notice is tried again (default: a day).
        notifiers: ``{"type": NotifierClass}`` for test notifiers, or None for the installed ones.
        notify_policy: the server's publishers and retry schedule (default: none; a day).
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        actions: Mapping[str, type] | None = None,
        public_url: str = "http://127.0.0.1:8989",
        store: MemoryStore | None = None,
        limits: Limits | None = None,
        notice_retry_for: dt.timedelta | None = None,
        notifiers: Mapping[str, type] | None = None,
        notify_policy: NotifyPolicy | None = None,
    ) -> None:
        self.clock = ManualClock()
        self.store = store if store is not None else MemoryStore(clock=self.clock)
        self.registry = (
            ActionRegistry.from_classes(dict(actions))
            if actions is not None
            else ActionRegistry.from_entry_points()
        )
        self.notifiers = (
            NotifierRegistry(dict(notifiers))
            if notifiers is not None
            else NotifierRegistry.from_entry_points()
        )
        self.runner = InlineRunner(Executor(self.registry, public_url, self.notifiers))
        self.engine = Engine(
            self.store,
            self.registry,
            self.runner,
            clock=self.clock,
            cron=CronTab(),
            limits=limits,
            notice_retry_for=notice_retry_for,
            notifiers=self.notifiers,
            notify_policy=notify_policy,
        )
        self.runner.engine = self.engine
        self.scheduler = Scheduler(self.store, self.engine.timers, clock=self.clock, heartbeat_every=None)

    def advance(self, seconds: float) -> int:
        """Move the clock, fire every timer that fell due, run what follows; how many timers fired."""
        self.clock.advance(seconds)
        fired = 0
        while True:
            count = self.scheduler.run_once()
            self.runner.drain()
            fired += count
            if not count:
                return fired

    def execution(self, wf_ex_id: str) -> WorkflowExecution:
        """The workflow execution as stored."""
        return self.store.get_workflow_execution(wf_ex_id)

    def run(self, workflow: str, wf_input: dict[str, Any] | None = None, **kwargs: Any) -> WorkflowExecution:
        """Start a workflow and run every sync action to completion; return the execution as it is then."""
        wf_ex = self.engine.executions.start(workflow, wf_input=wf_input, **kwargs)
        self.runner.drain()
        return self.store.get_workflow_execution(wf_ex.id)

    def tasks(self, wf_ex_id: str) -> dict[str, TaskExecution]:
        """The latest task execution of each name."""
        return {t.name: t for t in self.store.task_executions_of(wf_ex_id)}

    def task_states(self, wf_ex_id: str) -> dict[str, str]:
        """``{"t1": "SUCCESS", ...}`` of a workflow execution."""
        return {name: t.state.value for name, t in self.tasks(wf_ex_id).items()}

    def running_action(self, wf_ex_id: str, task: str) -> str:
        """The id of the RUNNING action execution of a task (an async action waiting for its result)."""
        task_ex = self.tasks(wf_ex_id)[task]
        for action_ex in self.store.action_executions_of(task_ex.id):
            if action_ex.state is State.RUNNING:
                return action_ex.id
        raise AssertionError(f"task {task} has no RUNNING action execution")

    def push(self, action_ex_id: str, state: str, output: Any = None) -> WorkflowExecution:
        """Push an async result (as the API does), run what follows, return the workflow execution."""
        action_ex = self.engine.results.complete(action_ex_id, State(state), output)
        self.runner.drain()
        assert action_ex.workflow_execution_id is not None
        return self.store.get_workflow_execution(action_ex.workflow_execution_id)
