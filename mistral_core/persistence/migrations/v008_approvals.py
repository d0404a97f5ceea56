"""Step 8: ``approval_responses`` (the answers to human waits, kept until the wait is decided) and
``server_secrets`` (a secret the server makes for itself when none is configured).

One answer per responder and wait (a unique index), read together for the wait. Frozen: see the
package docstring.
"""

from __future__ import annotations

import peewee

from mistral_core.persistence.migrations.context import MigrationContext

VERSION = 8
DESCRIPTION = "approval_responses and server_secrets: the answers to approvals, the server's own secret"


def apply(ctx: MigrationContext) -> None:
    """Create both tables."""
    responses: dict[str, peewee.Field] = {"seq": peewee.BigAutoField(), "id": ctx.text(unique=True)}
    for name in ("action_execution_id", "responder", "decision", "values", "via"):
        responses[name] = ctx.text(null=True)
    responses["created_at"] = peewee.DateTimeField()
    ctx.create_table("approval_responses", responses, ((("action_execution_id", "responder"), True),))
    secrets = {
        "seq": peewee.BigAutoField(),
        "id": ctx.text(unique=True),
        "value": ctx.text(null=True),
        "created_at": peewee.DateTimeField(),
    }
    ctx.create_table("server_secrets", secrets, ())
