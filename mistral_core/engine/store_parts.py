"""The parts of :class:`~mistral_core.engine.ports.ExecutionStore` that serve one feature each.

:class:`~mistral_core.engine.ports.ExecutionStore` is all of them together with the executions,
definitions and timers; each backend implements every part. They are split out so that each
reads as the contract of its feature (and the store's contract stays a size one can read).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from mistral_core.model import (
    EVERY_PROJECT,
    ActionExecution,
    CodeSource,
    DynamicActionDefinition,
    HistoryEntry,
    Query,
    Viewer,
)
from mistral_core.model.event_triggers import EventMessage, EventTrigger
from mistral_core.model.maintenance import MaintenanceMode
from mistral_core.model.members import ResourceMember
from mistral_core.model.notifications import NotificationDelivery


class DynamicCodeStore(Protocol):
    """Code sources and dynamic actions (the same contract as ad-hoc actions)."""

    def create_code_source(self, source: CodeSource) -> None:
        """Store a new code source; DuplicateError if (name, namespace) (or the id) exists."""
        ...

    def update_code_source(self, source: CodeSource) -> None:
        """Replace the code source with that (name, namespace, project); NotFoundError if none."""
        ...

    def get_code_source(
        self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> CodeSource:
        """By name in ``namespace``, or else id; NotFoundError if none (that ``viewer`` sees)."""
        ...

    def delete_code_source(
        self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> None:
        """By name in ``namespace``, or else id; NotFoundError if none."""
        ...

    def list_code_sources(self, query: Query) -> list[CodeSource]:
        """Code sources matching ``query``."""
        ...

    def create_dynamic_action(self, action_def: DynamicActionDefinition) -> None:
        """Store a new dynamic action; DuplicateError if (name, namespace) (or the id) exists."""
        ...

    def update_dynamic_action(self, action_def: DynamicActionDefinition) -> None:
        """Replace the dynamic action with that (name, namespace, project); NotFoundError if none."""
        ...

    def get_dynamic_action(
        self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> DynamicActionDefinition:
        """By name in ``namespace``, or else id; NotFoundError if none (that ``viewer`` sees)."""
        ...

    def delete_dynamic_action(
        self, identifier: str, namespace: str = "", viewer: Viewer = EVERY_PROJECT
    ) -> None:
        """By name in ``namespace``, or else id; NotFoundError if none."""
        ...

    def list_dynamic_actions(self, query: Query) -> list[DynamicActionDefinition]:
        """Dynamic actions matching ``query``."""
        ...

    def catalog_version(self) -> int:
        """The version of the ad-hoc actions: changes whenever one is created, changed or deleted."""
        ...

    def bump_catalog_version(self) -> None:
        """Change the version of the ad-hoc actions (in the transaction that changed one)."""
        ...


class CallbackStore(Protocol):
    """The callback tokens of asynchronous actions and the history of pushes."""

    def action_execution_by_token(self, token_hash: str) -> ActionExecution | None:
        """The action execution whose ``callback_token_hash`` is ``token_hash`` (expired or not), or
        None. One index probe."""
        ...

    def add_history_entry(self, entry: HistoryEntry) -> None:
        """Append an entry to an action execution's history (joins an open :meth:`atomic`)."""
        ...

    def history_of(self, action_ex_id: str) -> list[HistoryEntry]:
        """The history of an action execution, oldest entry first (empty for an unknown id)."""
        ...

    def count_history(self, action_ex_id: str) -> int:
        """How many entries the history of an action execution has."""
        ...


class NotificationStore(Protocol):
    """Notification deliveries that failed (retrying, delivered late, given up)."""

    def get_notification_delivery(self, delivery_id: str) -> NotificationDelivery | None:
        """The delivery with that id, or None (none of its tries failed)."""
        ...

    def save_notification_delivery(self, delivery: NotificationDelivery) -> None:
        """Insert the delivery, or replace the one with its id (joins an open :meth:`atomic`)."""
        ...

    def list_notification_deliveries(self, query: Query) -> list[NotificationDelivery]:
        """Deliveries matching ``query``."""
        ...


class SharingStore(Protocol):
    """The projects a workflow is shared with."""

    def create_resource_member(self, member: ResourceMember) -> None:
        """Store a new membership (joins an open :meth:`atomic`).

        Raises:
            DuplicateError: the workflow is already shared with that project.
        """
        ...

    def get_resource_member(
        self, resource_type: str, resource_id: str, member_id: str
    ) -> ResourceMember | None:
        """The membership of project ``member_id`` in that workflow, or None."""
        ...

    def list_resource_members(self, resource_type: str, resource_id: str) -> list[ResourceMember]:
        """Every membership of that workflow, oldest first."""
        ...

    def update_resource_member(self, member: ResourceMember) -> None:
        """Write the membership's status (and ``updated_at``); NotFoundError if it is gone."""
        ...

    def delete_resource_member(self, member: ResourceMember) -> None:
        """Delete the membership (by its id); nothing if it is gone."""
        ...


class MaintenanceStore(Protocol):
    """The maintenance mode and the executions it paused."""

    def maintenance_mode(self) -> MaintenanceMode:
        """The service's mode (``RUNNING``, with no ``created_at``, if it was never changed)."""
        ...

    def change_maintenance_mode(self, status: str, expected: Sequence[str], changed_by: str) -> bool:
        """Set the mode to ``status`` if it is one of ``expected`` now (compare and set, also against
        other processes; joins an open :meth:`atomic`). True if it was set."""
        ...

    def sync_action_running(self) -> bool:
        """Whether a synchronous action execution is RUNNING (in an executor, or queued for one);
        one probe of the unfinished action executions, whatever the size of the table."""
        ...

    def add_maintenance_pause(self, wf_ex_id: str) -> None:
        """Record that maintenance paused this execution (joins an open :meth:`atomic`; a second
        record of the same execution changes nothing)."""
        ...

    def maintenance_pauses(self, limit: int) -> list[str]:
        """The ids of up to ``limit`` executions maintenance paused, the first paused first."""
        ...

    def delete_maintenance_pause(self, wf_ex_id: str) -> None:
        """Forget that maintenance paused this execution (joins an open :meth:`atomic`)."""
        ...


class EventTriggerStore(Protocol):
    """Event triggers and the messages they took."""

    def create_event_trigger(self, trigger: EventTrigger) -> None:
        """Store a new trigger; DuplicateError if its project has one of that exchange, topic,
        event and workflow."""
        ...

    def get_event_trigger(self, trigger_id: str, viewer: Viewer = EVERY_PROJECT) -> EventTrigger:
        """By id; NotFoundError ``Event trigger not found [id=...].`` (also one ``viewer`` does not see)."""
        ...

    def update_event_trigger(self, trigger: EventTrigger, fields: Sequence[str]) -> None:
        """Write ``fields`` of the trigger (by id) and its ``updated_at``; NotFoundError if none."""
        ...

    def delete_event_trigger(self, trigger_id: str) -> None:
        """Delete the trigger and the record of the messages it took; NotFoundError if none."""
        ...

    def list_event_triggers(self, query: Query) -> list[EventTrigger]:
        """Triggers matching ``query``."""
        ...

    def take_event_message(self, message: EventMessage) -> bool:
        """Record a message a trigger took (joins an open :meth:`atomic`); False if taken before."""
        ...

    def forget_event_messages(self, before: dt.datetime) -> int:
        """Delete the records of messages taken before ``before``; how many."""
        ...

    def get_event_message(self, message_id: str) -> EventMessage | None:
        """The record of a message taken, by its key (``model.event_triggers.message_key``)."""
        ...
