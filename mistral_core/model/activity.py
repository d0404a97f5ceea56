"""What is going on now: the unfinished records by state, the waits, the timers due.

One :class:`Activity` is read by one statement (``ExecutionStore.activity``) for the metrics
endpoint. Only unfinished records are counted: they are bounded by the work in progress, and
the store reaches them through indexes; finished records grow without bound, so they are counted
as they finish (counters of the process that finished them), never by a scan.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

#: The states counted for workflow executions, task executions and action executions.
ACTIVE_WORKFLOW_STATES = ("IDLE", "RUNNING", "PAUSED")
ACTIVE_TASK_STATES = ("IDLE", "WAITING", "RUNNING", "DELAYED", "PAUSED")
#: Action executions in flight (a with-items task's IDLE items are counted as its task is).
ACTIVE_ACTION_STATES = ("RUNNING", "PAUSED")

#: The kinds of row of an activity statement.
WORKFLOW, TASK, ACTION, TIMERS_DUE = "workflow", "task", "action", "timers-due"


@dataclasses.dataclass(frozen=True, slots=True)
class Activity:
    """The unfinished records by state, the waits and the timers due, at ``read_at``.

    Attributes:
        workflows: unfinished workflow executions by state.
        tasks: unfinished task executions (of unfinished workflow executions) by state.
        actions: action executions in flight by ``(state, is_sync)``.
        oldest_wait: ``created_at`` of the oldest unfinished asynchronous action execution.
        timers_due: timers whose time has come and that are not done yet (the scheduler's backlog).
        oldest_due: ``due_at`` of the earliest of those.
    """

    workflows: Mapping[str, int] = dataclasses.field(default_factory=dict)
    tasks: Mapping[str, int] = dataclasses.field(default_factory=dict)
    actions: Mapping[tuple[str, bool], int] = dataclasses.field(default_factory=dict)
    oldest_wait: dt.datetime | None = None
    timers_due: int = 0
    oldest_due: dt.datetime | None = None

    @property
    def waits(self) -> int:
        """Unfinished asynchronous action executions (RUNNING or PAUSED)."""
        return sum(count for (_, is_sync), count in self.actions.items() if not is_sync)

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str, Any, int, dt.datetime | None]]) -> Activity:
        """Build from rows ``(kind, state, is_sync, count, oldest)`` (the activity statement's)."""
        workflows: dict[str, int] = {}
        tasks: dict[str, int] = {}
        actions: dict[tuple[str, bool], int] = {}
        oldest_wait: dt.datetime | None = None
        timers_due, oldest_due = 0, None
        for kind, state, is_sync, count, oldest in rows:
            if kind == WORKFLOW:
                workflows[state] = int(count)
            elif kind == TASK:
                tasks[state] = int(count)
            elif kind == ACTION:
                actions[(state, bool(is_sync))] = int(count)
                if not is_sync and oldest is not None:
                    oldest_wait = oldest if oldest_wait is None else min(oldest_wait, oldest)
            elif kind == TIMERS_DUE:
                timers_due, oldest_due = int(count), oldest
        return cls(workflows, tasks, actions, oldest_wait, timers_due, oldest_due)
