"""Step 10 (the event-triggers branch was given 12; renumbered when merged): ``event_triggers``
and ``event_messages``.

``event_triggers`` holds the triggers (``/v2/event_triggers``): one per (exchange, topic,
event, workflow) in a project. ``event_messages`` holds a row per message a trigger took,
written in the transaction that starts its execution: its ``id`` (trigger and message) is
unique, so a message delivered again starts nothing. Frozen: see the package docstring.
"""

from __future__ import annotations

import peewee

from mistral_core.persistence.migrations.context import MigrationContext

VERSION = 14
DESCRIPTION = "event_triggers and event_messages: workflows started by messages on the broker, once each"

_TRIGGER_TEXT = ("name", "workflow_id", "exchange", "topic", "event", "workflow_input", "workflow_params")


def apply(ctx: MigrationContext) -> None:
    """Create ``event_triggers`` and ``event_messages`` with their indexes."""
    fields: dict[str, peewee.Field] = {"seq": peewee.BigAutoField(), "id": ctx.text(unique=True)}
    fields.update((name, ctx.text(null=True)) for name in _TRIGGER_TEXT)
    fields["scope"] = ctx.text(null=True)
    fields["project_id"] = ctx.text(null=True)
    fields["created_at"] = peewee.DateTimeField()
    fields["updated_at"] = peewee.DateTimeField(null=True)
    ctx.create_table(
        "event_triggers",
        fields,
        (
            (("exchange", "topic", "event", "workflow_id", "project_id"), True),
            (("created_at", "id"), False),
        ),
    )
    messages: dict[str, peewee.Field] = {"seq": peewee.BigAutoField(), "id": ctx.text(unique=True)}
    messages.update(
        (name, ctx.text(null=True)) for name in ("trigger_id", "message_id", "workflow_execution_id")
    )
    messages["created_at"] = peewee.DateTimeField()
    ctx.create_table("event_messages", messages, ((("trigger_id",), False),))
