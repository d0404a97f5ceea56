"""Step 9: ``notification_deliveries``, the deliveries of notifications that failed at least once.

A row is written when a try fails and updated by each later try: its state (RETRYING,
DELIVERED, FAILED), the tries made, the last error and when the next try is due. Deliveries that
succeed at their first try leave no row. Listed by execution (``workflow_execution_id``) and in
the default order (``created_at``, ``id``). Frozen: see the package docstring.
"""

from __future__ import annotations

import peewee

from mistral_core.persistence.migrations.context import MigrationContext

VERSION = 9
DESCRIPTION = (
    "notification_deliveries: notifications whose delivery failed (retrying, delivered late, given up)"
)

_TEXT = (
    "workflow_execution_id",
    "event",
    "entity_id",
    "entity_name",
    "publisher",
    "target",
    "state",
)


def apply(ctx: MigrationContext) -> None:
    """Create ``notification_deliveries`` with its indexes."""
    fields: dict[str, peewee.Field] = {"seq": peewee.BigAutoField(), "id": ctx.text(unique=True)}
    fields.update((name, ctx.text(null=True)) for name in _TEXT)
    fields["attempts"] = peewee.IntegerField(null=True)
    fields["last_error"] = ctx.text(null=True)
    fields["next_try_at"] = peewee.DateTimeField(null=True)
    fields["project_id"] = ctx.text(null=True)
    fields["created_at"] = peewee.DateTimeField()
    fields["updated_at"] = peewee.DateTimeField(null=True)
    ctx.create_table(
        "notification_deliveries",
        fields,
        ((("workflow_execution_id",), False), (("created_at", "id"), False)),
    )
