"""Event triggers: a workflow started by each message published on a broker's exchange and topic.

A trigger names an ``exchange``, a ``topic`` and an ``event`` (the notification's
``event_type``); each message of that type starts its workflow once, with the event in
``params.event_params`` (where Mistral 23's event engine puts it). What is kept of a message
is a :class:`EventMessage`: written in the transaction that starts the execution, so a message
delivered twice (an engine died before acknowledging it) starts nothing the second time.

:func:`read_notification` reads a message body as Mistral's listener sees it: an oslo.messaging
notification, enveloped (``{"oslo.version": …, "oslo.message": "<JSON text>"}``) or not, or a
plain object with ``event_type`` and ``payload``. Pure: no broker, no store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from typing import Any

from mistral_core.model.projects import DEFAULT_PROJECT

#: The largest message body read (bytes); a larger one is dropped unread (setting ``event_max_bytes``).
DEFAULT_MAX_BYTES = 256 * 1024
#: The longest exchange, topic or event name (AMQP's short strings hold 255 bytes).
MAX_NAME = 255
#: An exchange or topic: words of letters, digits, ``_`` and ``-`` joined by dots (no wildcard).
_ROUTING_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
#: Exchanges no trigger may bind to: mistral-core's own (``transport.wire.EXCHANGE``: its
#: commands and results would be copied into a trigger's queue).
RESERVED_EXCHANGES = frozenset({"mistral"})
#: An event type: printable, no blank.
_EVENT_NAME = re.compile(r"[!-~]+")


@dataclasses.dataclass(frozen=True, slots=True)
class EventTrigger:
    """Starts ``workflow_id`` for each message of type ``event`` on ``exchange``/``topic``."""

    id: str
    name: str
    workflow_id: str
    exchange: str
    topic: str
    event: str
    workflow_input: dict[str, Any] = dataclasses.field(default_factory=dict)
    workflow_params: dict[str, Any] = dataclasses.field(default_factory=dict)
    scope: str = "private"
    project_id: str = DEFAULT_PROJECT
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class EventMessage:
    """A message a trigger took: its key (``id``: trigger and message) and the execution it started."""

    id: str
    trigger_id: str
    message_id: str
    workflow_execution_id: str | None = None
    created_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Notification:
    """A message read: its type, its id (the broker's, the notification's, or a hash of the body),
    and the event a workflow gets (``params.event_params``)."""

    event_type: str
    message_id: str
    event_params: dict[str, Any]


class NotANotification(ValueError):
    """A message body that is not a notification (not JSON, not an object, no ``event_type``)."""


def routing_name_error(field: str, value: object) -> str | None:
    """Why ``value`` cannot be an exchange or topic name (None: it can)."""
    if not isinstance(value, str) or not value:
        return f"Invalid input for field '{field}': a non-empty string is required"
    if len(value) > MAX_NAME or not _ROUTING_NAME.fullmatch(value):
        return (
            f"Invalid input for field '{field}': words of letters, digits, '_' or '-' joined by dots, "
            f"at most {MAX_NAME} characters"
        )
    if field == "exchange" and value in RESERVED_EXCHANGES:
        return f"Invalid input for field 'exchange': '{value}' is mistral-core's own exchange"
    return None


def event_name_error(value: object) -> str | None:
    """Why ``value`` cannot be an event type (None: it can)."""
    if not isinstance(value, str) or not value:
        return "Invalid input for field 'event': a non-empty string is required"
    if len(value) > MAX_NAME or not _EVENT_NAME.fullmatch(value):
        return f"Invalid input for field 'event': printable characters without blanks, at most {MAX_NAME}"
    return None


def trigger_name_error(value: object) -> str | None:
    """Why ``value`` cannot be a trigger's ``name`` (None: it can; a trigger may have none)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_NAME:
        return f"Invalid input for field 'name': a string of at most {MAX_NAME} characters"
    return None


def message_key(trigger_id: str, message_id: str) -> str:
    """The id of the :class:`EventMessage` of ``message_id`` taken by ``trigger_id`` (bounded length)."""
    digest = hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{trigger_id}:{digest}"


def read_notification(body: bytes, broker_message_id: str | None = None) -> Notification:
    """The notification in ``body`` (the caller has bounded its size).

    The event is what Mistral's event engine makes of a notification with no event definition
    (``service``, ``project_id``, ``user_id``, ``timestamp``), plus ``event_type``, ``payload``
    and ``message_id``, which Mistral leaves to a definitions file (docs/api.md, "Event triggers").

    Raises:
        NotANotification: the body is not JSON, or not an object with a string ``event_type``.
    """
    try:
        message = json.loads(body)
        if isinstance(message, dict) and isinstance(message.get("oslo.message"), str):
            message = json.loads(message["oslo.message"])
    except (ValueError, RecursionError) as exc:
        raise NotANotification(f"not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise NotANotification("not a JSON object")
    event_type = message.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        raise NotANotification("no 'event_type'")
    context = _context_of(message)
    timestamp = message.get("timestamp", context.get("timestamp"))
    message_id = broker_message_id or _text(message.get("message_id"))
    if not message_id:
        message_id = "sha256:" + hashlib.sha256(body).hexdigest()
    event = {
        "service": message.get("publisher_id", message.get("publisher")),
        "project_id": context.get("project_id"),
        "user_id": context.get("user_id"),
        "timestamp": timestamp,
        "event_type": event_type,
        "payload": message.get("payload"),
        "message_id": message_id,
    }
    return Notification(event_type, message_id, event)


def _context_of(message: dict[str, Any]) -> dict[str, Any]:
    """The request context of a notification: oslo's ``_context_*`` keys, or a ``context`` object."""
    given = message.get("context")
    context = dict(given) if isinstance(given, dict) else {}
    for key, value in message.items():
        if key.startswith("_context_"):
            context[key[len("_context_") :]] = value
    return context


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
