"""Heartbeats of asynchronous actions: progress, the ``heartbeat-timeout`` window, moving a deadline.

A third party working on an async action may say it is alive (and how far it got) with
``POST /v2/action_executions/<id>/heartbeat``. Each heartbeat records ``progress`` and
``last_heartbeat_at``, restarts the action's ``heartbeat-timeout`` window (a timer of kind
``heartbeat``, per action, started when the action was dispatched), and may move the task's
``timeout`` deadline later (``extend_by``). No heartbeat for the window: the action and its
attempt fail, and ``on-timeout`` (else ``on-error``) follows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mistral_core.engine.state import ExecutionState
from mistral_core.errors import StateConflictError
from mistral_core.model import ActionExecution, State, TaskExecution, Timer

S = State


def beat(
    st: ExecutionState,
    action_ex: ActionExecution,
    task: TaskExecution,
    progress: dict[str, Any] | None,
    extend_by: float | None,
) -> ActionExecution:
    """Record one heartbeat of ``action_ex`` (RUNNING and async, checked by the caller).

    Raises:
        StateConflictError: ``extend_by`` for a task that has no ``timeout``.
    """
    fields: dict[str, Any] = {"last_heartbeat_at": st.now}
    if progress is not None:
        fields["progress"] = progress
    window = task.runtime_context.heartbeat_timeout
    if window:
        st.cancel_timers(action_ex.id, "heartbeat")
        st.add_timer("heartbeat", action_ex.id, window, task_id=task.id, window=window)
    if extend_by:
        fields["deadline"] = _extend(st, task, extend_by)
    return st.change(action_ex, **fields)


def extend(
    st: ExecutionState, action_ex: ActionExecution, task: TaskExecution, extend_by: float
) -> ActionExecution:
    """Move the ``timeout`` deadline of ``action_ex``'s task ``extend_by`` seconds later without a
    heartbeat (an operator's ``extend``: nothing said the third party is alive); ``action_ex`` now.
    The caller loaded the task's action executions and checked ``action_ex`` is a RUNNING wait.

    Raises:
        StateConflictError: the task has no ``timeout``.
    """
    later = _extend(st, task, extend_by)
    moved = st.actions.get(action_ex.id)
    if moved is None or moved.deadline != later:
        moved = st.change(action_ex, deadline=later)
    return moved


def _extend(st: ExecutionState, task: TaskExecution, extend_by: float) -> dt.datetime:
    """Move the task's ``timeout`` deadline ``extend_by`` seconds later; the new deadline."""
    deadline = task.runtime_context.deadline
    if deadline is None:
        raise StateConflictError(
            f"Task {task.name} has no timeout: there is no deadline to extend", task.state.value
        )
    later = deadline + dt.timedelta(seconds=extend_by)
    timer = next((t for t in st.timers if t.target_id == task.id and t.kind == "timeout"), None)
    seconds = timer.payload.get("timeout") if timer else None
    st.cancel_timers(task.id, "timeout")
    st.add_timer_at("timeout", task.id, later, timeout=seconds or _original_timeout(st, task))
    st.flag(task, deadline=later)
    for other in st.actions_of(task.id):
        if other.state in (S.RUNNING, S.PAUSED, S.IDLE):
            st.change(other, deadline=later)
    return later


def _original_timeout(st: ExecutionState, task: TaskExecution) -> Any:
    """The ``timeout`` the task was given, as the message of a timeout names it."""
    return st.spec.tasks[task.name].policies.get("timeout")


def lost_message(timer: Timer) -> str:
    """Why an action whose heartbeats stopped failed."""
    window = timer.payload.get("window")
    return f"No heartbeat for {window:g} s (heartbeat-timeout): the action is considered lost"
