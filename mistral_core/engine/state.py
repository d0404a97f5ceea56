"""The working view of one workflow execution inside one engine transaction.

The conductor reads and changes an :class:`ExecutionState`; the engine loads it
from the store, and writes back only what changed (``pending``), in order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from mistral_core.engine.ports import Record
from mistral_core.lang.spec import WorkflowSpec
from mistral_core.model import ActionExecution, RunAction, State, TaskExecution, WorkflowExecution

ACTIVE = frozenset({State.IDLE, State.WAITING, State.RUNNING, State.DELAYED, State.PAUSED})


@dataclasses.dataclass
class ExecutionState:
    """One workflow execution, its spec and tasks, and what the transaction changed.

    Args:
        wf_ex: the workflow execution (latest version).
        spec: the spec it runs.
        tasks: its task executions by id, oldest first.
        now: the time of this transaction.
        new_id: makes ids for new records.
    """

    wf_ex: WorkflowExecution
    spec: WorkflowSpec
    tasks: dict[str, TaskExecution]
    now: dt.datetime
    new_id: Callable[[], str]
    pending: dict[str, tuple[Record, set[str] | None]] = dataclasses.field(default_factory=dict)
    commands: list[RunAction] = dataclasses.field(default_factory=list)
    notifications: list[tuple[str, str, Any]] = dataclasses.field(default_factory=list)
    actions: dict[str, ActionExecution] = dataclasses.field(default_factory=dict)
    #: (task id, reason): the engine cancels the unfinished action executions of these tasks.
    cancel_actions_of: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    # -- writing --------------------------------------------------------------------
    def insert(self, record: Record) -> None:
        """Record a new row."""
        self.pending[record.id] = (record, None)
        self._remember(record)

    def change(self, record: Record, **fields: Any) -> Record:
        """Replace fields of a record (and its ``updated_at``); return the new version."""
        new = dataclasses.replace(record, updated_at=self.now, **fields)  # type: ignore[type-var]
        old = self.pending.get(record.id)
        if old is not None and old[1] is None:
            self.pending[record.id] = (new, None)
        else:
            changed = set(fields) | (old[1] if old and old[1] else set())
            self.pending[record.id] = (new, changed)
        self._remember(new)
        return new

    def _remember(self, record: Record) -> None:
        if isinstance(record, TaskExecution):
            self.tasks[record.id] = record
        elif isinstance(record, WorkflowExecution):
            self.wf_ex = record
        else:
            self.actions[record.id] = record

    def begin(self, now: dt.datetime) -> None:
        """Start a new transaction on this (cached) view: forget the last one's outputs."""
        self.now = now
        self.pending = {}
        self.commands = []
        self.notifications = []
        self.cancel_actions_of = []

    def notify(self, hook: str, key: str, record: Any) -> None:
        """Queue a hook call for after commit."""
        self.notifications.append((hook, key, record))

    # -- reading --------------------------------------------------------------------
    def latest_task(self, name: str) -> TaskExecution | None:
        """The newest task execution of that name."""
        found = None
        for task in self.tasks.values():
            if task.name == name:
                found = task
        return found

    def active_tasks(self) -> Iterable[TaskExecution]:
        """Task executions not finished yet."""
        return (t for t in self.tasks.values() if t.state in ACTIVE)
