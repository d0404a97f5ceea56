"""What travels over the broker: queue names, and commands and events as JSON-able dicts.

No broker library here: :mod:`mistral_core.transport.link` moves the bytes, this module
says what they mean. Every message is a dict with a ``kind``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mistral_core.model import (
    ActionCompleted,
    ActionHandedOff,
    CancelAction,
    CancelNoticed,
    Command,
    Event,
    NotificationSent,
    Notify,
    RunAction,
    State,
)

#: The one durable direct exchange every queue is bound to (routing key = queue name).
EXCHANGE = "mistral"
#: Commands of actions without a target.
DEFAULT_QUEUE = "mistral.executor"
#: Events, executors to engines.
EVENTS_QUEUE = "mistral.events"
#: Claims and heartbeats, executors to engines (claims are answered on the reply queue).
CLAIMS_QUEUE = "mistral.claims"
#: The most commands sent in one AMQP message (a bundle goes to one executor whole: kept small so
#: that several executors share a burst, see :mod:`~mistral_core.transport.bundles`).
COMMANDS_PER_MESSAGE = 8
#: The most events sent in one AMQP message (engines apply them in batches anyway).
EVENTS_PER_MESSAGE = 64
#: The most claims (and answers to claims) sent in one AMQP message.
CLAIMS_PER_MESSAGE = 64


class WireError(ValueError):
    """A message that is not one of ours (it is dropped and logged)."""


_COMMAND_KINDS: dict[type, str] = {RunAction: "run", CancelAction: "cancel", Notify: "notify"}


#: The field names of each kind of command and event, in order.
_NAMES: dict[type, tuple[str, ...]] = {}
_NAME_SETS: dict[type, frozenset[str]] = {}


def _fields_of(record: Any) -> dict[str, Any]:
    """A command's or event's fields by name, their values shared, not copied as
    ``dataclasses.asdict`` does (a deep copy of every input and output: 14 µs per command against
    1.6): records are frozen and their values are read only; the message is serialised as it is."""
    return {name: getattr(record, name) for name in _names_of(type(record))}


def _names_of(cls: type) -> tuple[str, ...]:
    """The field names of a command or event class, read once per class."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(field.name for field in dataclasses.fields(cls))
    return names


def queue_for(target: str | None) -> str:
    """The queue of the executors of ``target`` (None: any executor)."""
    return DEFAULT_QUEUE if not target else f"{DEFAULT_QUEUE}.{target}"


def encode_command(command: Command, direct: bool = False) -> dict[str, Any]:
    """A command as a message; ``direct``: its event goes back to who asked (an action run outside
    any workflow), not to the engines."""
    kind = (
        "run"
        if isinstance(command, RunAction)
        else "cancel"
        if isinstance(command, CancelAction)
        else "notify"
    )
    body = {"kind": kind, **_fields_of(command)}
    if direct:
        body["direct"] = True
    return body


def is_direct(body: Any) -> bool:
    """Whether a command's event goes back to who asked (see :func:`encode_command`)."""
    return isinstance(body, dict) and body.get("direct") is True


def decode_command(body: Any) -> Command:
    """The command a message carries.

    Raises:
        WireError: not a command.
    """
    fields = _fields(body)
    kind = fields.pop("kind", None)
    fields.pop("direct", None)
    try:
        if kind == "run":
            return RunAction(**_known(RunAction, fields))
        if kind == "cancel":
            return CancelAction(**_known(CancelAction, fields))
        if kind == "notify":
            return Notify(**_known(Notify, fields))
    except TypeError as exc:
        raise WireError(f"bad {kind} command: {exc}") from None
    raise WireError(f"not a command: {kind!r}")


def encode_event(event: Event) -> dict[str, Any]:
    """An event as a message."""
    body = _fields_of(event)
    if isinstance(event, ActionCompleted):
        return {"kind": "completed", **body, "state": event.state.value}
    if isinstance(event, ActionHandedOff):
        return {"kind": "handed_off", **body}
    if isinstance(event, NotificationSent):
        return {"kind": "notification_sent", **body, "command": encode_command(event.command)}
    return {"kind": "noticed", **body}


def decode_event(body: Any) -> Event:
    """The event a message carries.

    Raises:
        WireError: not an event.
    """
    fields = _fields(body)
    kind = fields.pop("kind", None)
    try:
        if kind == "completed":
            return ActionCompleted(
                **_known(ActionCompleted, {**fields, "state": State(str(fields.get("state")))})
            )
        if kind == "handed_off":
            return ActionHandedOff(**_known(ActionHandedOff, fields))
        if kind == "noticed":
            return CancelNoticed(**_known(CancelNoticed, fields))
        if kind == "notification_sent":
            command = decode_command(fields.get("command"))
            return NotificationSent(**_known(NotificationSent, {**fields, "command": command}))
    except (TypeError, ValueError) as exc:
        raise WireError(f"bad {kind} event: {exc}") from None
    raise WireError(f"not an event: {kind!r}")


def claim(action_execution_id: str, claimant: str) -> dict[str, Any]:
    """An executor asks to run an action execution (answered ``{"go": bool}``)."""
    return {"kind": "claim", "action_execution_id": action_execution_id, "claimant": claimant}


def heartbeat(executor_id: str, lease: float, targets: list[str]) -> dict[str, Any]:
    """An executor says it is alive for ``lease`` more seconds."""
    return {"kind": "heartbeat", "executor": executor_id, "lease": lease, "targets": targets}


def _fields(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise WireError(f"a message must be a JSON object, not {type(body).__name__}")
    return dict(body)


def _known(cls: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields ``cls`` has: a field added by a newer process is ignored by an older one
    (rolling upgrades)."""
    names = _NAME_SETS.get(cls)
    if names is None:
        names = _NAME_SETS[cls] = frozenset(_names_of(cls))
    if fields.keys() <= names:  # the usual case: ``fields`` is the caller's own copy
        return fields
    return {k: v for k, v in fields.items() if k in names}
