"""The transition tables, the sets derived from them, and the engine going through them."""

from __future__ import annotations

import datetime as dt

import pytest

from mistral_core.engine.state import ExecutionState
from mistral_core.lang.spec import WorkflowSpec
from mistral_core.model import State, TaskExecution, WorkflowExecution
from mistral_core.model.states import (
    ACTION,
    ACTION_TERMINAL,
    COMPLETED,
    TASK,
    TASK_ACTIVE,
    WORKFLOW,
    WORKFLOW_FINISHED,
    IllegalTransition,
    Machine,
    is_action_finished,
)

S = State


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (S.RUNNING, S.SUCCESS, True),
        (S.RUNNING, S.PAUSED, True),
        (S.PAUSED, S.RUNNING, True),
        (S.PAUSED, S.SUCCESS, True),
        (S.SUCCESS, S.RUNNING, False),
        (S.SUCCESS, S.ERROR, False),
        (S.ERROR, S.RUNNING, False),
        (S.RUNNING, S.RUNNING, True),
    ],
)
def test_workflow_transitions(current: State, new: State, allowed: bool) -> None:
    assert WORKFLOW.allows(current, new) is allowed


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (S.IDLE, S.RUNNING, True),
        (S.RUNNING, S.IDLE, True),
        (S.WAITING, S.ERROR, True),
        (S.DELAYED, S.SUCCESS, True),
        (S.PAUSED, S.SUCCESS, False),
        (S.SKIPPED, S.RUNNING, False),
        (S.SUCCESS, S.ERROR, False),
        (S.ERROR, S.RUNNING, False),
        (S.ERROR, S.SKIPPED, False),
    ],
)
def test_task_transitions(current: State, new: State, allowed: bool) -> None:
    assert TASK.allows(current, new) is allowed


@pytest.mark.parametrize(
    ("machine", "current", "new"),
    [
        (TASK, S.ERROR, S.RUNNING),
        (TASK, S.ERROR, S.SKIPPED),
        (TASK, S.CANCELLED, S.RUNNING),
        (WORKFLOW, S.ERROR, S.RUNNING),
    ],
)
def test_only_reopening_moves_bring_a_finished_record_back(
    machine: Machine, current: State, new: State
) -> None:
    assert not machine.allows(current, new)
    assert machine.allows(current, new, reopen=True)


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (S.RUNNING, S.SUCCESS, True),
        (S.RUNNING, S.PAUSED, True),
        (S.PAUSED, S.SUCCESS, True),
        (S.IDLE, S.RUNNING, True),
        (S.SUCCESS, S.ERROR, False),
        (S.ERROR, S.SUCCESS, False),
        (S.CANCELLED, S.RUNNING, False),
    ],
)
def test_action_transitions(current: State, new: State, allowed: bool) -> None:
    assert ACTION.allows(current, new) is allowed


def test_finished_and_active_come_from_the_tables() -> None:
    assert {S.SUCCESS, S.ERROR, S.CANCELLED} == ACTION_TERMINAL
    assert all(is_action_finished(s) for s in ACTION_TERMINAL)
    assert {S.SUCCESS, S.ERROR, S.CANCELLED, S.SKIPPED} == COMPLETED
    assert {S.SUCCESS, S.ERROR, S.CANCELLED} == WORKFLOW_FINISHED
    assert {S.IDLE, S.WAITING, S.RUNNING, S.DELAYED, S.PAUSED} == TASK_ACTIVE
    assert str(S.DELAYED) == "DELAYED"


def _view() -> tuple[ExecutionState, TaskExecution]:
    spec = WorkflowSpec.build("wf", {"tasks": {"t": {"action": "std.noop"}}})
    wf_ex = WorkflowExecution(id="w", workflow_id="d", workflow_name="wf", spec_checksum="c", state=S.RUNNING)
    task = TaskExecution(
        id="t", workflow_execution_id="w", name="t", state=S.RUNNING, workflow_name="wf", workflow_id="d"
    )
    return ExecutionState(wf_ex, spec, {"t": task}, dt.datetime(2030, 1, 1), lambda: "x"), task


def test_an_illegal_state_change_is_a_bug_that_raises() -> None:
    st, task = _view()
    done = st.change(task, state=S.SUCCESS)
    with pytest.raises(IllegalTransition, match="task execution cannot move from SUCCESS to RUNNING"):
        st.change(done, state=S.RUNNING)
    with pytest.raises(IllegalTransition):
        st.change(st.wf_ex, state=S.SKIPPED)


def test_a_state_set_in_this_transaction_can_be_amended_from_where_it_stood() -> None:
    st, task = _view()
    done = st.change(task, state=S.SUCCESS)
    assert st.change(done, amend=True, state=S.ERROR).state is S.ERROR  # RUNNING -> ERROR: allowed
    st.begin(dt.datetime(2030, 1, 2))
    with pytest.raises(IllegalTransition, match="only a state set in this transaction"):
        st.change(st.tasks["t"], amend=True, state=S.SUCCESS)
