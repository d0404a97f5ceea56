"""Notifiers: the kinds of publisher an execution's ``params.notify`` may name (plugins).

A notifier is a class published in the entry-point group ``mistral_core.notifiers`` under the
``type`` users write (``webhook = mistral_http_actions.webhook:WebhookNotifier``); see
:mod:`mistral_core.notifiers.base` for the contract. ``noop`` (logs the event) is built in.
"""

from mistral_core.notifiers.base import DeliveryError, Notification, Notifier

__all__ = ["DeliveryError", "Notification", "Notifier"]
