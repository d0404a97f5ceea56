"""Notifications: Mistral's event names, which state change is which event, and what is kept of
deliveries that failed.

An execution's ``params.notify`` (and the server's ``notify`` setting) lists *publishers*; each
state change of the execution or of one of its tasks is an *event* (``TASK_FAILED``), and each
publisher whose ``event_types`` take that event gets a *delivery*. The names and the mapping from
state changes to events are Mistral 23's (``mistral/notifiers/notification_events.py``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from mistral_core.model.projects import DEFAULT_PROJECT
from mistral_core.model.states import State

S = State

WORKFLOW_LAUNCHED = "WORKFLOW_LAUNCHED"
WORKFLOW_SUCCEEDED = "WORKFLOW_SUCCEEDED"
WORKFLOW_FAILED = "WORKFLOW_FAILED"
WORKFLOW_CANCELLED = "WORKFLOW_CANCELLED"
WORKFLOW_PAUSED = "WORKFLOW_PAUSED"
WORKFLOW_RESUMED = "WORKFLOW_RESUMED"
WORKFLOW_RERUN = "WORKFLOW_RERUN"
TASK_LAUNCHED = "TASK_LAUNCHED"
TASK_SUCCEEDED = "TASK_SUCCEEDED"
TASK_FAILED = "TASK_FAILED"
TASK_CANCELLED = "TASK_CANCELLED"
TASK_PAUSED = "TASK_PAUSED"
TASK_RESUMED = "TASK_RESUMED"
TASK_RERUN = "TASK_RERUN"
TASK_SKIPPED = "TASK_SKIPPED"

WORKFLOW_EVENTS = (
    WORKFLOW_LAUNCHED,
    WORKFLOW_SUCCEEDED,
    WORKFLOW_FAILED,
    WORKFLOW_CANCELLED,
    WORKFLOW_PAUSED,
    WORKFLOW_RESUMED,
    WORKFLOW_RERUN,
)
TASK_EVENTS = (
    TASK_LAUNCHED,
    TASK_SUCCEEDED,
    TASK_FAILED,
    TASK_CANCELLED,
    TASK_PAUSED,
    TASK_RESUMED,
    TASK_RERUN,
    TASK_SKIPPED,
)
#: Every event name, in Mistral's order.
EVENTS = WORKFLOW_EVENTS + TASK_EVENTS

_ANY = None
#: state entered -> {state left (None: any other, or created): event}.
_TASK_MAP: dict[State, dict[State | None, str]] = {
    S.RUNNING: {_ANY: TASK_LAUNCHED, S.IDLE: TASK_RESUMED, S.PAUSED: TASK_RESUMED, S.WAITING: TASK_RESUMED,
                S.ERROR: TASK_RERUN, S.CANCELLED: TASK_RERUN},
    S.SUCCESS: {_ANY: TASK_SUCCEEDED},
    S.ERROR: {_ANY: TASK_FAILED},
    S.CANCELLED: {_ANY: TASK_CANCELLED},
    S.PAUSED: {_ANY: TASK_PAUSED},
    S.SKIPPED: {_ANY: TASK_SKIPPED},
}  # fmt: skip
_WORKFLOW_MAP: dict[State, dict[State | None, str]] = {
    S.RUNNING: {_ANY: WORKFLOW_LAUNCHED, S.PAUSED: WORKFLOW_RESUMED, S.ERROR: WORKFLOW_RERUN,
                S.CANCELLED: WORKFLOW_RERUN},
    S.SUCCESS: {_ANY: WORKFLOW_SUCCEEDED},
    S.ERROR: {_ANY: WORKFLOW_FAILED},
    S.CANCELLED: {_ANY: WORKFLOW_CANCELLED},
    S.PAUSED: {_ANY: WORKFLOW_PAUSED},
}  # fmt: skip


def task_event(left: State | None, entered: State) -> str | None:
    """The event of a task moving from ``left`` (None: just created) to ``entered``, or None.

    Mistral's table; a state it has no event for (``WAITING``, ``DELAYED``, ``IDLE``) is none
    (Mistral 23 sends those with ``"event": null``). A re-run of a CANCELLED task is a re-run too.
    """
    return _event(_TASK_MAP, left, entered)


def workflow_event(left: State | None, entered: State) -> str | None:
    """The event of a workflow execution moving from ``left`` (None: created) to ``entered``, or None."""
    return _event(_WORKFLOW_MAP, left, entered)


def _event(table: dict[State, dict[State | None, str]], left: State | None, entered: State) -> str | None:
    options = table.get(entered)
    if options is None:
        return None
    return options.get(left, options[_ANY]) if left is not None else options[_ANY]


#: ``NotificationDelivery.state``: the delivery failed and is tried again later.
RETRYING = "RETRYING"
#: A try was delivered after one or more failed.
DELIVERED = "DELIVERED"
#: Given up: ``notify_retry_for`` passed, or the publisher said not to try again (``410 Gone``,
#: a URL the egress policy refuses).
FAILED = "FAILED"
DELIVERY_STATES = (RETRYING, DELIVERED, FAILED)


@dataclasses.dataclass(frozen=True, slots=True)
class NotificationDelivery:
    """A delivery of a notification that failed at least once (``GET /v2/notifications``).

    Deliveries that succeed at their first try leave nothing behind.

    Attributes:
        id: the delivery's id, sent as ``webhook-id`` in every try (a receiver drops repeats by it).
        workflow_execution_id: the execution whose ``notify`` it came from.
        event: the event (``TASK_FAILED``).
        entity_id: the workflow or task execution the event is about.
        entity_name: its name (the workflow's or the task's).
        publisher: the publisher's ``type`` (``webhook``).
        target: where it goes, as it may be shown (a webhook's URL without query or credentials).
        state: :data:`RETRYING`, :data:`DELIVERED` or :data:`FAILED`.
        attempts: the tries made so far.
        last_error: why the last failed try failed (one line).
        next_try_at: when it is tried next (RETRYING only).
        project_id: the execution's project.
    """

    id: str
    workflow_execution_id: str
    event: str
    entity_id: str
    entity_name: str
    publisher: str
    target: str
    state: str
    attempts: int
    last_error: str | None = None
    next_try_at: dt.datetime | None = None
    project_id: str = DEFAULT_PROJECT
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
