"""The transition table and the predicates derived from it."""

from __future__ import annotations

import pytest

from mistral_core.model.states import (
    ACTION_TERMINAL,
    COMPLETED,
    TRANSITIONS,
    State,
    is_action_finished,
    is_valid_action_transition,
    is_valid_transition,
)

S = State


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (S.IDLE, S.RUNNING, True),
        (S.RUNNING, S.SUCCESS, True),
        (S.RUNNING, S.PAUSED, True),
        (S.PAUSED, S.RUNNING, True),
        (S.ERROR, S.RUNNING, True),
        (S.ERROR, S.SKIPPED, True),
        (S.CANCELLED, S.RUNNING, True),
        (S.SUCCESS, S.RUNNING, False),
        (S.SUCCESS, S.ERROR, False),
        (S.PAUSED, S.SUCCESS, False),
        (S.SKIPPED, S.RUNNING, False),
        (S.RUNNING, S.RUNNING, True),
    ],
)
def test_workflow_and_task_transitions(current: State, new: State, allowed: bool) -> None:
    assert is_valid_transition(current, new) is allowed


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (S.RUNNING, S.SUCCESS, True),
        (S.RUNNING, S.PAUSED, True),
        (S.PAUSED, S.SUCCESS, True),
        (S.SUCCESS, S.ERROR, False),
        (S.ERROR, S.SUCCESS, False),
        (S.CANCELLED, S.RUNNING, False),
    ],
)
def test_action_transitions(current: State, new: State, allowed: bool) -> None:
    assert is_valid_action_transition(current, new) is allowed


def test_predicates_come_from_the_tables() -> None:
    assert {S.SUCCESS, S.ERROR, S.CANCELLED} == ACTION_TERMINAL
    assert all(is_action_finished(s) for s in ACTION_TERMINAL)
    assert S.SUCCESS in COMPLETED and not TRANSITIONS[S.SUCCESS]
    assert str(S.DELAYED) == "DELAYED"
