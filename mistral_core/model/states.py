"""States of workflow, task and action executions, and their transition tables.

Wire values are Mistral's (``DELAYED`` is Mistral's RUNNING_DELAYED). There is
one table per kind of record, each a :class:`Machine`; every state change the
engine makes goes through :meth:`Machine.check`, and an illegal change is a bug
that raises :class:`IllegalTransition`. What counts as finished or active is
derived from the tables, never written by hand: a state with no forward way out
is finished, every other state of the table is active.

Forward moves are what executions do by themselves (and what a user asks of a
running one: pause, resume, cancel, stop). *Re-opening* moves bring a finished
record back (re-running or skipping a task, and its workflow with it); only
those operations may take them.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping


class State(enum.StrEnum):
    """An execution state; its value is the string on the wire."""

    IDLE = "IDLE"
    WAITING = "WAITING"
    RUNNING = "RUNNING"
    DELAYED = "DELAYED"
    PAUSED = "PAUSED"
    SUCCESS = "SUCCESS"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"


S = State


class IllegalTransition(RuntimeError):
    """The engine tried a state change its table does not allow: a bug, never a user error."""


@dataclasses.dataclass(frozen=True)
class Machine:
    """The transition table of one kind of record.

    Args:
        kind: what the table is of (``task``), for messages.
        forward: the moves records make by themselves or on a user's request while active.
        reopen: the moves that bring a finished record back (re-run, skip).
    """

    kind: str
    forward: Mapping[State, frozenset[State]]
    reopen: Mapping[State, frozenset[State]] = dataclasses.field(default_factory=dict)

    @property
    def finished(self) -> frozenset[State]:
        """States with no forward way out."""
        return frozenset(s for s, out in self.forward.items() if not out)

    @property
    def active(self) -> frozenset[State]:
        """States that still go somewhere by themselves."""
        return frozenset(self.forward) - self.finished

    def allows(self, current: State, new: State, reopen: bool = False) -> bool:
        """Whether ``current`` may move to ``new`` (a state may always "move" to itself)."""
        if current is new or new in self.forward.get(current, ()):
            return True
        return reopen and new in self.reopen.get(current, ())

    def check(self, current: State, new: State, reopen: bool = False) -> None:
        """Raise :class:`IllegalTransition` unless ``current`` may move to ``new``."""
        if not self.allows(current, new, reopen):
            how = "re-open" if reopen else "move"
            raise IllegalTransition(f"a {self.kind} cannot {how} from {current.value} to {new.value}")


#: Workflow executions: Mistral's table, except that a user may stop a PAUSED execution with
#: SUCCESS (``PUT /v2/executions/<id>``), as with ERROR and CANCELLED.
WORKFLOW = Machine(
    "workflow execution",
    forward={
        S.IDLE: frozenset({S.RUNNING, S.ERROR, S.CANCELLED}),
        S.RUNNING: frozenset({S.PAUSED, S.SUCCESS, S.ERROR, S.CANCELLED}),
        S.PAUSED: frozenset({S.RUNNING, S.SUCCESS, S.ERROR, S.CANCELLED}),
        S.SUCCESS: frozenset(),
        S.ERROR: frozenset(),
        S.CANCELLED: frozenset(),
    },
    reopen={S.ERROR: frozenset({S.RUNNING}), S.CANCELLED: frozenset({S.RUNNING})},
)

#: Task executions: Mistral's table, plus what Mistral does without its table: a task created
#: to run that ``pause-before`` holds (RUNNING → IDLE), a ``wait-after`` delay ending the task
#: (DELAYED → SUCCESS), a join that can never be satisfied (WAITING → ERROR), and cancelling
#: what has not started (WAITING → CANCELLED).
TASK = Machine(
    "task execution",
    forward={
        S.IDLE: frozenset({S.RUNNING, S.ERROR, S.CANCELLED}),
        S.WAITING: frozenset({S.RUNNING, S.ERROR, S.CANCELLED}),
        S.RUNNING: frozenset({S.IDLE, S.PAUSED, S.DELAYED, S.SUCCESS, S.ERROR, S.CANCELLED}),
        S.DELAYED: frozenset({S.RUNNING, S.SUCCESS, S.ERROR, S.CANCELLED}),
        S.PAUSED: frozenset({S.RUNNING, S.ERROR, S.CANCELLED}),
        S.SUCCESS: frozenset(),
        S.ERROR: frozenset(),
        S.CANCELLED: frozenset(),
        S.SKIPPED: frozenset(),
    },
    reopen={S.ERROR: frozenset({S.RUNNING, S.SKIPPED}), S.CANCELLED: frozenset({S.RUNNING})},
)

#: Action executions: created RUNNING (or IDLE while a with-items item waits for capacity);
#: PAUSED only for async actions (checked by the engine); a finished action never changes again.
ACTION = Machine(
    "action execution",
    forward={
        S.IDLE: frozenset({S.RUNNING, S.ERROR, S.CANCELLED}),
        S.RUNNING: frozenset({S.PAUSED, S.SUCCESS, S.ERROR, S.CANCELLED}),
        S.PAUSED: frozenset({S.RUNNING, S.SUCCESS, S.ERROR, S.CANCELLED}),
        S.SUCCESS: frozenset(),
        S.ERROR: frozenset(),
        S.CANCELLED: frozenset(),
    },
)

#: States in which a workflow execution has finished (it may still be re-opened by a re-run).
WORKFLOW_FINISHED: frozenset[State] = WORKFLOW.finished
#: Task states in which a task is still going somewhere.
TASK_ACTIVE: frozenset[State] = TASK.active
#: States in which a task has finished (it may still be re-run from ERROR/CANCELLED).
COMPLETED: frozenset[State] = TASK.finished
#: States with no way out for an action execution.
ACTION_TERMINAL: frozenset[State] = ACTION.finished
#: Action states in which an action execution still waits for its result.
ACTION_ACTIVE: frozenset[State] = ACTION.active

#: The states an action execution's result may be pushed with (PUT /v2/action_executions).
RESULT_STATES: frozenset[State] = frozenset({S.SUCCESS, S.ERROR, S.CANCELLED})

#: The states the PUT endpoint accepts, in Mistral's order (for its error message).
PUTTABLE_ACTION_STATES: tuple[State, ...] = (S.SUCCESS, S.ERROR, S.CANCELLED, S.PAUSED, S.RUNNING)


def is_completed(state: State) -> bool:
    """Whether a task has finished."""
    return state in COMPLETED


def is_action_finished(state: State) -> bool:
    """Whether an action execution has its final result."""
    return state in ACTION_TERMINAL
