"""States of workflow, task and action executions, and the one transition table.

Wire values are Mistral's (``DELAYED`` is Mistral's RUNNING_DELAYED). Every
predicate below is derived from the tables, never written by hand.
"""

from __future__ import annotations

import enum


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

#: Allowed transitions of workflow and task executions (Mistral's table). A state
#: may always "move" to itself (a no-op).
TRANSITIONS: dict[State, frozenset[State]] = {
    S.IDLE: frozenset({S.RUNNING, S.ERROR, S.CANCELLED, S.WAITING, S.DELAYED, S.PAUSED}),
    S.WAITING: frozenset({S.RUNNING, S.ERROR, S.CANCELLED}),
    S.RUNNING: frozenset({S.PAUSED, S.DELAYED, S.SUCCESS, S.ERROR, S.CANCELLED, S.WAITING}),
    S.DELAYED: frozenset({S.RUNNING, S.ERROR, S.CANCELLED}),
    S.PAUSED: frozenset({S.RUNNING, S.ERROR, S.CANCELLED}),
    S.SUCCESS: frozenset(),
    S.CANCELLED: frozenset({S.RUNNING}),
    S.ERROR: frozenset({S.RUNNING, S.SKIPPED}),
    S.SKIPPED: frozenset(),
}

#: Allowed transitions of action executions: created RUNNING; PAUSED only for
#: async actions (checked by the engine); a finished action never changes again.
ACTION_TRANSITIONS: dict[State, frozenset[State]] = {
    S.IDLE: frozenset({S.RUNNING, S.ERROR, S.CANCELLED}),
    S.RUNNING: frozenset({S.PAUSED, S.SUCCESS, S.ERROR, S.CANCELLED}),
    S.PAUSED: frozenset({S.RUNNING, S.SUCCESS, S.ERROR, S.CANCELLED}),
    S.SUCCESS: frozenset(),
    S.ERROR: frozenset(),
    S.CANCELLED: frozenset(),
    S.WAITING: frozenset(),
    S.DELAYED: frozenset(),
    S.SKIPPED: frozenset(),
}

#: States with no way out for an action execution.
ACTION_TERMINAL: frozenset[State] = frozenset(
    s for s, out in ACTION_TRANSITIONS.items() if not out and s in (S.SUCCESS, S.ERROR, S.CANCELLED)
)

#: States in which a workflow or task has finished (it may still be re-run from ERROR/CANCELLED).
COMPLETED: frozenset[State] = frozenset({S.SUCCESS, S.ERROR, S.CANCELLED, S.SKIPPED})

#: The states an action execution's result may be pushed with (PUT /v2/action_executions).
RESULT_STATES: frozenset[State] = frozenset({S.SUCCESS, S.ERROR, S.CANCELLED})

#: The states the PUT endpoint accepts, in Mistral's order (for its error message).
PUTTABLE_ACTION_STATES: tuple[State, ...] = (S.SUCCESS, S.ERROR, S.CANCELLED, S.PAUSED, S.RUNNING)


def is_valid_transition(current: State, new: State) -> bool:
    """Whether a workflow or task may move from ``current`` to ``new``."""
    return current is new or new in TRANSITIONS[current]


def is_valid_action_transition(current: State, new: State) -> bool:
    """Whether an action execution may move from ``current`` to ``new``."""
    return current is new or new in ACTION_TRANSITIONS[current]


def is_completed(state: State) -> bool:
    """Whether a workflow or task has finished."""
    return state in COMPLETED


def is_action_finished(state: State) -> bool:
    """Whether an action execution has its final result."""
    return state in ACTION_TERMINAL
