"""Step 7: a callback token per asynchronous action execution, and the history of pushes.

* ``action_executions`` gains ``callback_token_hash`` (the SHA-256 of the token, hex; never
  the token) and ``callback_token_expires_at``, with a unique partial index on the hash (only
  asynchronous actions have one), through which a presented token finds its action execution.
* ``action_history``: one row per result push or state change asked of an action execution,
  accepted or not, read in order (``seq``) by action execution. No ``id``: entries are only
  appended, and one unique index less is one write less on the push path.

Frozen: see the package docstring.
"""

from __future__ import annotations

import peewee

from mistral_core.persistence.migrations.context import MigrationContext

VERSION = 7
DESCRIPTION = "callback tokens of asynchronous actions (hashed), and the history of result pushes"

_HISTORY_COLUMNS = ("action_execution_id", "outcome", "state", "by", "remote_addr", "reason")


def apply(ctx: MigrationContext) -> None:
    """Add the token columns and their index; create ``action_history``."""
    ctx.migrate(
        ctx.migrator.add_column("action_executions", "callback_token_hash", ctx.text(null=True)),
        ctx.migrator.add_column(
            "action_executions", "callback_token_expires_at", peewee.DateTimeField(null=True)
        ),
    )
    ctx.execute(
        'CREATE UNIQUE INDEX "action_executions_callback_token" ON "action_executions" '
        '("callback_token_hash") WHERE "callback_token_hash" IS NOT NULL'
    )
    fields: dict[str, peewee.Field] = {"seq": peewee.BigAutoField()}
    fields.update((name, ctx.text(null=True)) for name in _HISTORY_COLUMNS)
    fields["created_at"] = peewee.DateTimeField()
    ctx.create_table("action_history", fields, ((("action_execution_id", "seq"), False),))
