"""The notifier contract for plugin authors.

A notifier class delivers notifications to one kind of publisher (``webhook``). The engine
builds one instance per kind and calls :meth:`Notifier.publish` from its notification threads,
after the transaction that decided the event committed; the same delivery may be tried again
(with the same :attr:`Notification.id`), so a receiver sees it *at least* once.

* :meth:`Notifier.check` is called when an execution is started with a publisher of this kind
  (``POST /v2/executions``, a sub-workflow, a cron trigger) and on the server's ``notify``
  setting at start-up: raise :class:`ValueError` with a one-line message and the request is a
  400 carrying it. Keep it cheap (no network): it runs in the request.
* :meth:`Notifier.publish` returns when the publisher took the notification; raising
  :class:`DeliveryError` (or anything else) means it did not, and the delivery is tried again
  with backoff for the server's ``notify_retry_for`` unless ``retry=False``.
* :meth:`Notifier.target` says where a publisher sends, for the listing of failed deliveries
  (never a secret).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar


@dataclasses.dataclass(frozen=True, slots=True)
class Notification:
    """One try of one delivery.

    Attributes:
        id: the delivery's id: the same in every try (a receiver drops repeats by it).
        attempt: this try's number (1 for the first).
        event: the event's name (``TASK_FAILED``).
        body: Mistral's notification body (``id``, ``name``, ``state``, ..., ``event``).
        config: the publisher as configured (``type``, ``event_types`` and this kind's options).
    """

    id: str
    attempt: int
    event: str
    body: Mapping[str, Any]
    config: Mapping[str, Any] = dataclasses.field(repr=False)


class DeliveryError(Exception):
    """The publisher did not take the notification.

    Args:
        message: why, in one line (shown in the listing of failed deliveries).
        retry: False when trying again is pointless (the receiver is gone, the target refused).
        retry_after: seconds the receiver asked to wait before the next try, if it said.
    """

    def __init__(self, message: str, *, retry: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry
        self.retry_after = retry_after


class Notifier:
    """Base class of notifiers.

    Attributes:
        options: the keys of a publisher of this kind, besides ``type`` and ``event_types``
            (any other key is refused with a 400 naming it).
    """

    options: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def check(cls, config: Mapping[str, Any]) -> None:
        """Refuse a publisher this kind cannot use.

        Args:
            config: the publisher as given (its keys are known to be in :attr:`options`).

        Raises:
            ValueError: one line saying what is wrong.
        """

    @classmethod
    def target(cls, config: Mapping[str, Any]) -> str:
        """Where the publisher sends, as it may be shown to its project (no secret)."""
        return ""

    def publish(self, notification: Notification) -> None:
        """Deliver ``notification``; return once the publisher took it.

        Raises:
            DeliveryError: it did not (anything else raised counts the same, retried).
        """
        raise NotImplementedError
