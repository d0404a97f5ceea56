"""Event triggers and the messages they took, over the generic record operations of either store.

Both stores (:class:`~.sql.SqlStore`, :class:`~.memory.MemoryStore`) mix this in: it uses only
``_list``, ``_get``, ``_update_record`` and the small primitives each backend gives below
(``_insert_event_record``, ``_delete_event_records``). A trigger is found by id only, as in
Mistral (names need not be unique); one trigger per (exchange, topic, event, workflow) in a project.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from mistral_core.errors import DuplicateError, NotFoundError
from mistral_core.model import EVERY_PROJECT, Filter, Query, Viewer
from mistral_core.model.event_triggers import EventMessage, EventTrigger
from mistral_core.persistence.columns import EVENT_MESSAGES, EVENT_TRIGGERS, TableSpec

_KEY = ("exchange", "topic", "event", "workflow_id", "project_id")


class EventTriggerMethods:
    """The event-trigger methods of the stores (a mixin over their generic operations)."""

    def create_event_trigger(self, trigger: EventTrigger) -> None:
        """Store a new trigger.

        Raises:
            DuplicateError: the project has a trigger of that exchange, topic, event and workflow.
        """
        with self.atomic():
            same = Query(filters=tuple(Filter(f, "eq", getattr(trigger, f)) for f in _KEY), limit=1)
            if self._list(EVENT_TRIGGERS, same):
                raise DuplicateError(
                    "Duplicate entry for EventTrigger ['exchange', 'topic', 'event', 'workflow_id', "
                    f"'project_id']: {trigger.exchange}, {trigger.topic}, {trigger.event}, "
                    f"{trigger.workflow_id}, {trigger.project_id}"
                )
            self._insert_event_record(EVENT_TRIGGERS, trigger)

    def get_event_trigger(self, trigger_id: str, viewer: Viewer = EVERY_PROJECT) -> EventTrigger:
        """The trigger with that id, if ``viewer`` sees it.

        Raises:
            NotFoundError: ``Event trigger not found [id=...].`` (Mistral's message).
        """
        try:
            trigger: EventTrigger = self._get(EVENT_TRIGGERS, trigger_id)
        except NotFoundError:
            trigger = None  # type: ignore[assignment]  # answered below with Mistral's message
        if trigger is None or not viewer.sees(trigger.project_id, trigger.scope):
            raise NotFoundError(f"Event trigger not found [id={trigger_id}].")
        return trigger

    def update_event_trigger(self, trigger: EventTrigger, fields: Sequence[str]) -> None:
        """Write ``fields`` of the trigger (by id) and its ``updated_at``; NotFoundError if none."""
        self._update_record(EVENT_TRIGGERS, trigger, fields)

    def delete_event_trigger(self, trigger_id: str) -> None:
        """Delete the trigger and the record of the messages it took; NotFoundError if none."""
        with self.atomic():
            self._get(EVENT_TRIGGERS, trigger_id)
            self._delete_event_records(EVENT_MESSAGES, "trigger_id", trigger_id)
            self._delete_event_records(EVENT_TRIGGERS, "id", trigger_id)

    def list_event_triggers(self, query: Query) -> list[EventTrigger]:
        """Triggers matching ``query``."""
        found: list[EventTrigger] = self._list(EVENT_TRIGGERS, query)
        return found

    def take_event_message(self, message: EventMessage) -> bool:
        """Record that a trigger took a message (inside the transaction that acts on it): False if
        it took it before (then nothing is written)."""
        with self.atomic():
            try:
                self._get(EVENT_MESSAGES, message.id)
            except NotFoundError:
                self._insert_event_record(EVENT_MESSAGES, message)
                return True
            return False

    def forget_event_messages(self, before: dt.datetime) -> int:
        """Delete the records of messages taken before ``before``; how many."""
        return self._delete_event_records(EVENT_MESSAGES, "created_at", before, before=True)

    def get_event_message(self, message_id: str) -> EventMessage | None:
        """The record of a message taken (by its key), or None."""
        try:
            found: EventMessage = self._get(EVENT_MESSAGES, message_id)
        except NotFoundError:
            return None
        return found

    # -- what each backend gives ------------------------------------------------------
    def atomic(self) -> Any:
        raise NotImplementedError

    def _get(self, table: TableSpec, record_id: str) -> Any:
        raise NotImplementedError

    def _list(self, table: TableSpec, query: Query) -> list[Any]:
        raise NotImplementedError

    def _update_record(self, table: TableSpec, record: Any, fields: Sequence[str]) -> None:
        raise NotImplementedError

    def _insert_event_record(self, table: TableSpec, record: Any) -> None:
        raise NotImplementedError

    def _delete_event_records(self, table: TableSpec, column: str, value: Any, before: bool = False) -> int:
        raise NotImplementedError
