"""The listener of event triggers: a queue per trigger on the broker, shared by every listening
process, each message starting its trigger's workflow exactly once.

Each trigger has a durable queue, ``mistral_core.event_trigger.<id>``, bound to its exchange with
the routing keys ``<topic>`` and ``<topic>.#`` (oslo.messaging publishes notifications with
``<topic>.<priority>``). Every listening process (each engine of the split deployment, and
``serve`` with a ``transport``) consumes every trigger's queue: the broker hands each message to
one of them. The process reads the body (bounded by ``event_max_bytes``), starts the workflow in a
transaction that also records the message (:meth:`EventTriggers.fire`), and acknowledges the
message after the commit. A process that dies before acknowledging loses nothing: the broker gives
the message to another, which finds the record and starts nothing twice.

Triggers created or deleted through any API process are picked up by polling the store every
``event_poll`` seconds. A deleted trigger's queue is left to expire (``event_queue_expires``), so
two processes never race to delete and re-declare it.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from mistral_core.errors import TransientStoreError
from mistral_core.model.event_triggers import EventTrigger, NotANotification, Notification, read_notification
from mistral_core.transport.link import Binding, Consume, Delivery, Link
from mistral_core.transport.local import until_stored

LOG = logging.getLogger(__name__)
QUEUE_PREFIX = "mistral_core.event_trigger."
#: Seconds between two deletions of old message records by one listening process.
FORGET_EVERY_S = 3600.0
#: Seconds between two tries of a message held by maintenance (as a cron firing waits).
HELD_S = 15.0


class TriggerSource(Protocol):
    """The engine's event triggers (``engine.event_triggers``)."""

    def all(self) -> list[EventTrigger]:
        """Every trigger of every project."""
        ...

    def fire(self, trigger_id: str, notification: Notification) -> object:
        """Start the trigger's workflow for this message, unless it did before; what came of it."""
        ...

    def forget_messages(self, older_than: dt.timedelta) -> int:
        """Forget the messages taken more than ``older_than`` ago; how many."""
        ...


def queue_of(trigger_id: str) -> str:
    """The queue of a trigger's messages."""
    return QUEUE_PREFIX + trigger_id


class EventListener:
    """Listens for the messages of every event trigger (see the module's docstring).

    Args:
        url: the broker.
        triggers: the engine's event triggers.
        max_bytes: the largest body read; a larger one is dropped (and counted).
        poll_every: seconds between two looks at the triggers.
        queue_expires: seconds a queue without consumers lives.
        prefetch: messages handed to this process before it acknowledges.
        remember_for: seconds the record of a message taken is kept (looked at hourly: every
            listening process deletes the older ones).

    Attributes:
        counts: messages by what came of them (``started``, ``duplicate``, ``ignored``, ``failed``,
            ``too_large``, ``not_a_notification``), since the start.
    """

    def __init__(
        self,
        url: str,
        triggers: TriggerSource,
        max_bytes: int,
        poll_every: float = 2.0,
        queue_expires: int = 24 * 3600,
        prefetch: int = 16,
        remember_for: int = 7 * 24 * 3600,
    ) -> None:
        self._triggers = triggers
        self._max_bytes = max_bytes
        self._poll_every = poll_every
        self._queue_expires = queue_expires
        self._remember_for = dt.timedelta(seconds=remember_for)
        self._forgot_at = float("-inf")
        self._link = Link(url, "event-triggers", prefetch=prefetch)
        self._listening: dict[str, EventTrigger] = {}
        self._stopping = threading.Event()
        self._polled = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="event-triggers", daemon=True)
        self.counts: collections.Counter[str] = collections.Counter()

    def start(self) -> None:
        """Connect, listen for the triggers there are, and look again every ``poll_every`` seconds."""
        self._link.start()
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop listening; what was taken and not acknowledged goes to another process."""
        self._stopping.set()
        self._thread.join(timeout)
        self._link.stop(timeout)
        if self.counts:
            LOG.info(
                "event triggers: messages since the start by outcome: %s", dict(sorted(self.counts.items()))
            )

    def wait_polled(self, timeout: float) -> bool:
        """Whether the triggers were looked at once (for tests and start-up logs)."""
        return self._polled.wait(timeout)

    def refresh(self) -> None:
        """Listen for triggers that appeared, stop listening for those that went."""
        current = {trigger.id: trigger for trigger in self._triggers.all()}
        for trigger_id in sorted(set(self._listening) - set(current)):
            del self._listening[trigger_id]
            self._link.remove_consume(queue_of(trigger_id))
            LOG.info("event trigger %s deleted: no longer listening", trigger_id)
        for trigger_id in sorted(set(current) - set(self._listening)):
            trigger = current[trigger_id]
            self._listening[trigger_id] = trigger
            binding = Binding(trigger.exchange, (trigger.topic, f"{trigger.topic}.#"), self._queue_expires)
            self._link.add_consume(Consume(queue_of(trigger_id), self._receiver(trigger_id), binding))
            LOG.info(
                "listening for event %s on exchange %s, topic %s (trigger %s)",
                trigger.event,
                trigger.exchange,
                trigger.topic,
                trigger_id,
            )

    def _poll(self) -> None:
        while not self._stopping.is_set():
            try:
                self.refresh()
                self._polled.set()
                self._forget()
            except Exception:  # the database may be away: look again next time
                LOG.exception("could not read the event triggers")
            self._stopping.wait(self._poll_every)

    def _forget(self) -> None:
        """Once an hour: delete the records of messages older than ``remember_for``."""
        if time.monotonic() - self._forgot_at < FORGET_EVERY_S:
            return
        self._forgot_at = time.monotonic()
        forgotten = self._triggers.forget_messages(self._remember_for)
        if forgotten:
            LOG.info("forgot %d message(s) event triggers took over %s ago", forgotten, self._remember_for)

    def _receiver(self, trigger_id: str) -> Callable[[Delivery], None]:
        def receive(delivery: Delivery) -> None:
            self._take(trigger_id, delivery)

        return receive

    def _take(self, trigger_id: str, delivery: Delivery) -> None:
        """Act on one message (on the link's thread), then acknowledge it."""
        notification = self._read(trigger_id, delivery)
        if notification is not None:
            outcome = self._fire(trigger_id, notification)
            while outcome == "held" and not self._stopping.wait(HELD_S):
                outcome = self._fire(trigger_id, notification)  # in maintenance: nothing may start
            if outcome is None or outcome == "held":
                return  # stopping with the database away or in maintenance: left for another process
            self.counts[outcome] += 1
        delivery.ack()

    def _read(self, trigger_id: str, delivery: Delivery) -> Notification | None:
        body: bytes = delivery.body
        if len(body) > self._max_bytes:
            self._drop(trigger_id, "too_large", f"{len(body)} bytes, over event_max_bytes={self._max_bytes}")
            return None
        try:
            return read_notification(body, delivery.message_id)
        except NotANotification as exc:
            self._drop(trigger_id, "not_a_notification", str(exc)[:200])
            return None

    def _fire(self, trigger_id: str, notification: Notification) -> str | None:
        outcome: list[str] = []

        def fire() -> None:
            outcome[:] = [str(getattr(self._triggers.fire(trigger_id, notification), "value", "started"))]

        for attempt in (1, 2):  # a second try settles a race with another process on one message
            try:
                until_stored(fire, f"the message {notification.message_id[:80]}", self._stopping)
                return outcome[0]
            except TransientStoreError:
                return None
            except Exception:
                LOG.exception(
                    "event trigger %s: message %s failed (try %d)",
                    trigger_id,
                    notification.message_id,
                    attempt,
                )
        return "failed"

    def _drop(self, trigger_id: str, why: str, detail: str) -> None:
        self.counts[why] += 1
        LOG.warning(
            "event trigger %s: dropped a message (%s: %s); %d dropped so far for that reason",
            trigger_id,
            why,
            detail,
            self.counts[why],
        )
