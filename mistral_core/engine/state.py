"""The working view of one workflow execution inside one engine transaction.

The conductor reads and changes an :class:`ExecutionState`; the engine loads it
from the store, and writes back only what changed (``pending``), in order, with
the timers to add and cancel. Between transactions the engine may keep the view
(see :mod:`mistral_core.engine.cache`); :meth:`ExecutionState.begin` clears what
belonged to the last transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from mistral_core.engine.ports import Record
from mistral_core.lang.spec import WorkflowSpec
from mistral_core.model import ActionExecution, Command, State, TaskExecution, Timer, WorkflowExecution

R = TypeVar("R", WorkflowExecution, TaskExecution, ActionExecution)

#: Task states in which a task is still going somewhere.
ACTIVE = frozenset({State.IDLE, State.WAITING, State.RUNNING, State.DELAYED, State.PAUSED})


def _no_actions(task_ex_id: str) -> list[ActionExecution]:
    return []


def _no_tasks(wf_ex_id: str) -> list[TaskExecution]:
    return []


def _no_children(task_ex_id: str) -> list[str]:
    return []


@dataclasses.dataclass
class ExecutionState:
    """One workflow execution, its spec and tasks, and what the transaction changed.

    Args:
        wf_ex: the workflow execution (latest version).
        spec: the spec it runs.
        tasks: its task executions by id, oldest first.
        now: the time of this transaction.
        new_id: makes ids for new records.
        load_actions: reads the action executions of a task (inside the transaction).
    """

    wf_ex: WorkflowExecution
    spec: WorkflowSpec
    tasks: dict[str, TaskExecution]
    now: dt.datetime
    new_id: Callable[[], str]
    load_actions: Callable[[str], list[ActionExecution]] = _no_actions
    #: Read-only look-ups for ``tasks(recursive=true)``: the tasks of an execution, the child
    #: execution ids of a task.
    load_tasks: Callable[[str], list[TaskExecution]] = _no_tasks
    load_children: Callable[[str], list[str]] = _no_children
    pending: dict[str, tuple[Record, set[str] | None]] = dataclasses.field(default_factory=dict)
    commands: list[Command] = dataclasses.field(default_factory=list)
    notifications: list[tuple[str, str, Any]] = dataclasses.field(default_factory=list)
    actions: dict[str, ActionExecution] = dataclasses.field(default_factory=dict)
    timers: list[Timer] = dataclasses.field(default_factory=list)
    #: (target id, kind or None for all kinds): timers to delete.
    timer_cancels: list[tuple[str, str | None]] = dataclasses.field(default_factory=list)
    #: (task id, reason): the engine cancels the unfinished action executions of these tasks.
    cancel_actions_of: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    #: What must happen to other executions in the same transaction:
    #: ("completed", parent task id, state, output, info) and ("pause" | "resume" | "cancel", child id, info).
    intents: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)

    def begin(self, now: dt.datetime) -> None:
        """Start a new transaction on this (cached) view: forget the last one's outputs."""
        self.now = now
        self.pending = {}
        self.commands = []
        self.notifications = []
        self.timers = []
        self.timer_cancels = []
        self.cancel_actions_of = []
        self.intents = []

    # -- writing --------------------------------------------------------------------
    def insert(self, record: Record) -> None:
        """Record a new row."""
        self.pending[record.id] = (record, None)
        self._remember(record)

    def change(self, record: R, **fields: Any) -> R:
        """Replace fields of a record (and its ``updated_at``); return the new version."""
        new = dataclasses.replace(record, updated_at=self.now, **fields)
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

    def notify(self, hook: str, key: str, record: Any) -> None:
        """Queue a hook call for after commit."""
        self.notifications.append((hook, key, record))

    def add_timer(self, kind: str, target_id: str, seconds: float, **payload: Any) -> None:
        """Schedule a durable timer ``seconds`` from now."""
        self.timers.append(
            Timer(
                id=self.new_id(),
                due_at=self.now + dt.timedelta(seconds=seconds),
                kind=kind,
                target_id=target_id,
                workflow_execution_id=self.wf_ex.id,
                payload=payload,
                created_at=self.now,
            )
        )

    def cancel_timers(self, target_id: str, kind: str | None = None) -> None:
        """Delete the timers of a target (those scheduled in this same transaction too)."""
        self.timers = [t for t in self.timers if not (t.target_id == target_id and kind in (None, t.kind))]
        self.timer_cancels.append((target_id, kind))

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

    def actions_of(self, task_ex_id: str) -> list[ActionExecution]:
        """The action executions of a task, as this transaction sees them, oldest first."""
        stored = self.load_actions(task_ex_id)
        known = {a.id for a in stored}
        merged = [self.actions.get(a.id, a) for a in stored]
        merged += [
            a for a in self.actions.values() if a.task_execution_id == task_ex_id and a.id not in known
        ]
        return merged
