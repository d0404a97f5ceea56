"""Notifications, decided with the state changes they tell of.

Every state change of a workflow execution or of one of its tasks is kept by its
:class:`~mistral_core.engine.state.ExecutionState` (``transitions``). When the unit of work
writes the execution, :func:`plan` turns those changes into Mistral's events
(:mod:`mistral_core.model.notifications`), and each event into one :class:`Notify` per
publisher that takes it: the execution's ``params.notify`` and the server's ``notify`` setting.
For each it adds, in the same transaction, a durable timer (:data:`NOTIFICATION`) that tries the
delivery again if no outcome was recorded in :data:`LOST_AFTER` seconds (the process died with
the try in flight). The first try is sent after commit; nothing here does I/O.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from mistral_core.engine.state import ExecutionState
from mistral_core.model import Notify, TaskExecution, WorkflowExecution
from mistral_core.model.notifications import task_event, workflow_event

#: The kind of the timers that try a notification's delivery again.
NOTIFICATION = "notification"
#: Seconds after a try was handed to be sent before it counts as lost and is tried again.
LOST_AFTER = 60.0
#: How the server's publishers are referred to (``server:<digest>``), and the execution's.
SERVER_REF, PARAMS_REF = "server:", "params:"
#: Mistral's way of writing times in a notification's body.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

#: Seconds from a failed try to the next: Standard Webhooks' example schedule (5 s, 5 min,
#: 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, then every 24 h).
DEFAULT_BACKOFF = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0, 86400.0)

Publisher = dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class NotifyPolicy:
    """What the server adds to every execution's notifications.

    Attributes:
        defaults: the server's publishers (the ``notify`` setting), each with its reference.
        retry_for: how long a delivery that fails is tried again.
        backoff: seconds from a failed try to the next, by the number of tries made (the last
            repeats); Standard Webhooks' example schedule by default.
    """

    defaults: tuple[tuple[str, Publisher], ...] = ()
    retry_for: dt.timedelta = dt.timedelta(days=1)
    backoff: tuple[float, ...] = DEFAULT_BACKOFF

    @classmethod
    def of(
        cls, publishers: Sequence[Publisher], retry_for: dt.timedelta, backoff: Sequence[float] = ()
    ) -> NotifyPolicy:
        """The policy of the server's publishers (checked already), retry time and schedule."""
        return cls(
            tuple((server_ref(p), p) for p in publishers), retry_for, tuple(backoff) or DEFAULT_BACKOFF
        )

    def delay(self, tries: int) -> float:
        """Seconds before the next try after ``tries`` tries."""
        return self.backoff[min(tries, len(self.backoff)) - 1]


def server_ref(publisher: Mapping[str, Any]) -> str:
    """The reference of one of the server's publishers: a digest of it (stable across restarts
    while the setting holds it)."""
    text = json.dumps(publisher, sort_keys=True, separators=(",", ":"))
    return SERVER_REF + hashlib.sha256(text.encode()).hexdigest()[:16]


def publishers_of(wf_ex: WorkflowExecution, policy: NotifyPolicy) -> list[tuple[str, Publisher]]:
    """The publishers of an execution, each with its reference: its own, then the server's."""
    own = wf_ex.params.get("notify") if wf_ex.params else None
    found = [(f"{PARAMS_REF}{i}", p) for i, p in enumerate(own or ()) if isinstance(p, dict)]
    return found + list(policy.defaults)


def resolve(wf_ex: WorkflowExecution, ref: str, policy: NotifyPolicy) -> Publisher | None:
    """The publisher ``ref`` refers to, or None (the server's setting no longer has it)."""
    for candidate, publisher in publishers_of(wf_ex, policy):
        if candidate == ref:
            return publisher
    return None


def plan(st: ExecutionState, policy: NotifyPolicy) -> list[Notify]:
    """The deliveries of the events of ``st``'s state changes in this transaction (their timers
    added to ``st``)."""
    if not st.transitions:
        return []
    publishers = publishers_of(st.wf_ex, policy)
    if not publishers:
        return []
    give_up_at = (st.now + policy.retry_for).isoformat()
    deliveries = []
    for record, left in st.transitions:
        if isinstance(record, WorkflowExecution):
            event, body = workflow_event(left, record.state), workflow_body(record)
        else:
            event, body = task_event(left, record.state), task_body(record)
        if event is None:
            continue
        body["event"] = event
        for ref, publisher in publishers:
            wanted = publisher.get("event_types")
            if wanted and event not in wanted:
                continue
            command = Notify(
                st.new_id(), 1, event, body, publisher, ref, st.wf_ex.id, give_up_at, st.wf_ex.project_id
            )
            st.add_timer(NOTIFICATION, command.delivery_id, LOST_AFTER, **timer_payload(command))
            deliveries.append(command)
    return deliveries


def timer_payload(command: Notify) -> dict[str, Any]:
    """What a delivery's timer keeps to try it again: everything but the publisher itself (found
    again by its reference, so that secrets and headers are not copied into every timer)."""
    return {
        "ref": command.publisher_ref,
        "type": command.publisher.get("type"),
        "event": command.event,
        "body": command.body,
        "attempt": command.attempt,
        "give_up_at": command.give_up_at,
        "project_id": command.project_id,
    }


def workflow_body(wf_ex: WorkflowExecution) -> dict[str, Any]:
    """Mistral's notification body of a workflow execution (without ``event``)."""
    return {
        "id": wf_ex.id,
        "name": wf_ex.workflow_name,
        "workflow_name": wf_ex.workflow_name,
        "workflow_namespace": wf_ex.workflow_namespace,
        "workflow_id": wf_ex.workflow_id,
        "state": wf_ex.state.value,
        "state_info": wf_ex.state_info,
        "project_id": wf_ex.project_id,
        "task_execution_id": wf_ex.task_execution_id,
        "root_execution_id": wf_ex.root_execution_id,
        "created_at": _when(wf_ex.created_at),
        "updated_at": _when(wf_ex.updated_at),
    }


def task_body(task: TaskExecution) -> dict[str, Any]:
    """Mistral's notification body of a task execution (without ``event``)."""
    return {
        "id": task.id,
        "name": task.name,
        "workflow_execution_id": task.workflow_execution_id,
        "workflow_name": task.workflow_name,
        "workflow_namespace": task.workflow_namespace,
        "workflow_id": task.workflow_id,
        "state": task.state.value,
        "state_info": task.state_info,
        "type": task.type,
        "project_id": task.project_id,
        "created_at": _when(task.created_at),
        "updated_at": _when(task.updated_at),
        "started_at": _when(task.started_at),
        "finished_at": _when(task.finished_at),
    }


def _when(value: dt.datetime | None) -> str | None:
    return None if value is None else value.strftime(TIME_FORMAT)
