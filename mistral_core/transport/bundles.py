"""Many small messages to one queue, sent as one AMQP message (a *bundle*) and taken apart on arrival.

The broker's cost is per message: routing, writing a persistent one to disk, a publisher
confirm, a delivery, an acknowledgement. A transaction of the engine that finishes ten tasks
decides ten commands for the same queue, and an executor that ran ten actions has ten events
for the engines; sent one by one, that is ten of each. Bundled, it is one.

What a bundle changes is only how the bytes travel: the receiving :class:`~.link.Link` hands
each part to its consumer as a delivery of its own, and acknowledges the bundle once every
part is acknowledged. So the rules of delivery stay those of single messages: a bundle whose
receiver dies before acknowledging every part is delivered again whole, and each part is
then handled as a single message delivered again would be (its consumer already copes with
that: a claim refused, an event applied twice ignored). A bundle is confirmed by the broker
as one message: each part's ``on_confirmed`` runs then.

Messages are bundled only with messages of the same kind (same queue, same persistence, same
queue for answers) that were waiting to be published at the same moment: nothing is held back
to fill a bundle. Requests and their answers bundle too (an executor's claims, an engine's
answers to them): each part keeps its own correlation id, carried in a header beside the count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mistral_core.transport.link import Outgoing

#: The AMQP header that marks a bundle; its value is the number of parts (the body is a JSON list).
HEADER = "x-mistral-parts"
#: The correlation id of each part (a list beside the body's), for bundles of requests or answers.
CORRELATION_HEADER = "x-mistral-correlation-ids"


def bundled(messages: Sequence[Outgoing]) -> list[list[Outgoing]]:
    """``messages`` grouped into the AMQP messages to publish, in order within each queue.

    A message with ``bundle`` > 1 joins the open bundle of its kind (:func:`kind_of`; a new one
    once that has ``bundle`` parts); any other message travels alone.
    """
    units: list[list[Outgoing]] = []
    open_bundles: dict[tuple[str, bool, bool, str | None], list[Outgoing]] = {}
    for message in messages:
        if message.bundle <= 1:
            units.append([message])
            continue
        kind = kind_of(message)
        unit = open_bundles.get(kind)
        if unit is None or len(unit) >= message.bundle:
            unit = open_bundles[kind] = []
            units.append(unit)
        unit.append(message)
    return units


def kind_of(message: Outgoing) -> tuple[str, bool, bool, str | None]:
    """What the messages of one bundle share: queue, persistence, whether the queue is a reply
    queue, and where answers go."""
    return (message.queue, message.persistent, message.to_reply_queue, message.reply_to)


def headers_of(unit: Sequence[Outgoing]) -> dict[str, Any]:
    """The headers of the AMQP message that carries ``unit`` (more than one message)."""
    headers: dict[str, Any] = {HEADER: len(unit)}
    if any(message.correlation_id is not None for message in unit):
        headers[CORRELATION_HEADER] = [message.correlation_id or "" for message in unit]
    return headers


def parts_of(message: Any) -> list[tuple[Any, str | None]] | None:
    """The parts of a received bundle (decoded body, correlation id), or None if ``message`` is not one.

    A message marked as a bundle whose body is not a non-empty list is handed on as it is: its
    consumer refuses it as it refuses any body it does not understand.
    """
    headers = message.headers or {}
    if not headers.get(HEADER):
        return None
    payload = message.payload
    if not isinstance(payload, list) or not payload:
        return None
    ids = headers.get(CORRELATION_HEADER)
    if not isinstance(ids, list) or len(ids) != len(payload):
        ids = [None] * len(payload)
    return [(body, str(cid) if cid else None) for body, cid in zip(payload, ids, strict=True)]


class Parts:
    """What is left to acknowledge of one bundle (used on the link's thread only)."""

    __slots__ = ("_message", "left")

    def __init__(self, message: Any, count: int) -> None:
        self._message = message
        self.left = count

    def ack(self) -> None:
        """One part is done; the bundle is acknowledged with its last part."""
        self.left -= 1
        if self.left == 0:
            self._message.ack()
