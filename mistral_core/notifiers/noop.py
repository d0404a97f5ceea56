"""``noop``: a publisher that only logs the event (Mistral's ``noop``)."""

from __future__ import annotations

import logging

from mistral_core.notifiers.base import Notification, Notifier

LOG = logging.getLogger(__name__)


class NoopNotifier(Notifier):
    """Logs each notification at INFO and takes it."""

    def publish(self, notification: Notification) -> None:
        """Log the event."""
        LOG.info(
            "notification %s: %s of %s (%s)",
            notification.id,
            notification.event,
            notification.body.get("name"),
            notification.body.get("id"),
        )
