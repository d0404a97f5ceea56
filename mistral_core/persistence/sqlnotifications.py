"""The deliveries of notifications that failed, in SQL (``notification_deliveries``).

Written only when a try fails (and by the tries after it); read by id under the engine's
transaction, listed by execution or by project with the generic query machinery.
"""

from __future__ import annotations

from mistral_core.model import Query
from mistral_core.model.notifications import NotificationDelivery
from mistral_core.persistence.columns import NOTIFICATION_DELIVERIES
from mistral_core.persistence.sqlbase import SqlBase

_FIELDS = tuple(name for name in NOTIFICATION_DELIVERIES.names if name not in ("id", "created_at"))


class SqlNotifications(SqlBase):
    """The notification-delivery methods of :class:`~mistral_core.persistence.sql.SqlStore`."""

    def get_notification_delivery(self, delivery_id: str) -> NotificationDelivery | None:
        """The delivery with that id, or None (it never failed)."""
        row = self._one(self._sql[f"get {NOTIFICATION_DELIVERIES.name}"], (delivery_id,))
        if row is None:
            return None
        found: NotificationDelivery = self._codecs[NOTIFICATION_DELIVERIES.name].record(row)
        return found

    def save_notification_delivery(self, delivery: NotificationDelivery) -> None:
        """Insert the delivery, or replace the one with its id (joins an open ``atomic()``)."""
        with self.atomic():
            if self.get_notification_delivery(delivery.id) is None:
                row = self._codecs[NOTIFICATION_DELIVERIES.name].insert_row(delivery, self._clock.now)
                self._execute(self._sql[f"insert {NOTIFICATION_DELIVERIES.name}"], row)
            else:
                self._update_record(NOTIFICATION_DELIVERIES, delivery, _FIELDS)

    def list_notification_deliveries(self, query: Query) -> list[NotificationDelivery]:
        """The deliveries matching ``query``."""
        found: list[NotificationDelivery] = self._list(NOTIFICATION_DELIVERIES, query)
        return found
