"""Commands: what the engine decided must happen after its transaction commits."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from mistral_core.model.projects import DEFAULT_PROJECT

#: A target's name: what the name of the executors' queue may hold without surprises.
_TARGET = re.compile(r"^[A-Za-z0-9_.:@-]{1,100}$")


def target_error(target: str) -> str | None:
    """Why ``target`` cannot name executors (None: it can)."""
    if _TARGET.match(target):
        return None
    return (
        f"Invalid target '{target[:60]}': 1 to 100 letters, digits and . _ : @ - (it names the "
        "executors' queue)"
    )


@dataclasses.dataclass(frozen=True, slots=True)
class RunAction:
    """Run one action execution on an executor.

    Carries everything an executor needs, so that it never reads the database: for an
    asynchronous action, the secret of its callback token too (never shown by ``repr``).
    """

    action_execution_id: str
    action_name: str
    input: dict[str, Any]
    is_sync: bool
    workflow_name: str | None = None
    workflow_execution_id: str | None = None
    task_execution_id: str | None = None
    safe_rerun: bool = False
    target: str | None = None
    timeout: float | None = None
    callback_token: str | None = dataclasses.field(default=None, repr=False)
    #: A dynamic action's code: ``module`` (its name), ``class_name``, ``version``, ``content`` (the
    #: module's text). None for any other action.
    code: dict[str, Any] | None = dataclasses.field(default=None, repr=False)


#: Why an async action's work is no longer wanted (``CancelAction.reason``).
CANCELLED = "cancelled"  # the execution was cancelled, or the action's result pushed as CANCELLED
WORKFLOW_ENDED = "workflow-ended"  # the workflow ended (fail/succeed command, or stopped by a user)
TIMEOUT = "timeout"  # the task's timeout
HEARTBEAT_TIMEOUT = "heartbeat-timeout"  # no heartbeat for the task's heartbeat-timeout


@dataclasses.dataclass(frozen=True, slots=True)
class CancelAction:
    """Tell an async action that its work is no longer wanted (its ``cancel(context)``, if it has one).

    ``attempt`` counts the tries of this notice; the unit of work keeps a durable timer for the
    next one until a try is delivered or ``give_up_at`` passes.
    """

    action_execution_id: str
    action_name: str
    input: dict[str, Any]
    workflow_execution_id: str | None = None
    task_execution_id: str | None = None
    workflow_name: str | None = None
    reason: str = CANCELLED
    attempt: int = 1
    #: The executors told (those of the action's target; None: any).
    target: str | None = None

    @classmethod
    def of(cls, action_ex: Any, reason: str = CANCELLED, attempt: int = 1) -> CancelAction:
        """The cancel command of an action execution (an ad-hoc action's Python action is told)."""
        params = action_ex.params or {}
        return cls(
            action_ex.id,
            params.get("run_as", action_ex.name),
            params.get("run_input", action_ex.input),
            action_ex.workflow_execution_id,
            action_ex.task_execution_id,
            action_ex.workflow_name,
            reason,
            attempt,
            params.get("target"),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Notify:
    """Deliver one notification (an event of an execution or task) to one publisher.

    ``delivery_id`` is the same in every try of this delivery (the ``webhook-id``); ``attempt``
    counts them. ``publisher`` is the publisher as configured (its secret and headers are never
    shown by ``repr``); ``publisher_ref`` says where it came from so that a retry finds it again
    (``params:<i>``: the execution's ``params.notify[i]``; ``server:<digest>``: the server's
    ``notify`` setting). ``give_up_at`` (ISO 8601) ends the retries.
    """

    delivery_id: str
    attempt: int
    event: str
    body: dict[str, Any]
    publisher: dict[str, Any] = dataclasses.field(repr=False)
    publisher_ref: str
    workflow_execution_id: str
    give_up_at: str
    project_id: str = DEFAULT_PROJECT


Command = RunAction | CancelAction | Notify
