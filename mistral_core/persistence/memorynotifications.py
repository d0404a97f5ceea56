"""The deliveries of notifications that failed, in memory: the twin of :mod:`.sqlnotifications`."""

from __future__ import annotations

from mistral_core.model import Query
from mistral_core.model.notifications import NotificationDelivery
from mistral_core.persistence.columns import NOTIFICATION_DELIVERIES
from mistral_core.persistence.memorybase import MemoryBase

_FIELDS = tuple(name for name in NOTIFICATION_DELIVERIES.names if name not in ("id", "created_at"))
_OF_EXECUTION = NOTIFICATION_DELIVERIES.index_of("workflow_execution_id")


class MemoryNotifications(MemoryBase):
    """The notification-delivery methods of :class:`~mistral_core.persistence.memory.MemoryStore`."""

    def get_notification_delivery(self, delivery_id: str) -> NotificationDelivery | None:
        """The delivery with that id, or None (it never failed)."""
        with self._lock:
            entry = self._rows[NOTIFICATION_DELIVERIES.name].get(delivery_id)
        if entry is None:
            return None
        found: NotificationDelivery = self._codecs[NOTIFICATION_DELIVERIES.name].record(entry[1])
        return found

    def save_notification_delivery(self, delivery: NotificationDelivery) -> None:
        """Insert the delivery, or replace the one with its id (joins an open ``atomic()``)."""
        with self.atomic():
            rows = self._rows[NOTIFICATION_DELIVERIES.name]
            if delivery.id not in rows:
                row = self._codecs[NOTIFICATION_DELIVERIES.name].insert_row(delivery, self._clock.now)
                self._put(rows, delivery.id, (next(self._seq), row))
            else:
                self._update_record(NOTIFICATION_DELIVERIES, delivery, _FIELDS)

    def list_notification_deliveries(self, query: Query) -> list[NotificationDelivery]:
        """The deliveries matching ``query``."""
        found: list[NotificationDelivery] = self._list(NOTIFICATION_DELIVERIES, query)
        return found

    def _delete_deliveries_of(self, wf_ex_ids: set[str]) -> None:
        """Delete the deliveries of these executions (inside :meth:`atomic`)."""
        rows = self._rows[NOTIFICATION_DELIVERIES.name]
        for delivery_id, (_, row) in list(rows.items()):
            if row[_OF_EXECUTION] in wf_ex_ids:
                self._pop(rows, delivery_id)
