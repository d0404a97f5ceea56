"""Step 4: what an asynchronous action's heartbeats say: progress, when it last beat, its deadline.

``progress`` (JSON text), ``last_heartbeat_at`` and ``deadline`` on ``action_executions``, all
null for the rows already there (a wait of an older version has had no heartbeat, and its
deadline, if any, is its timeout timer's).
"""

from __future__ import annotations

import peewee

from mistral_core.persistence.migrations.context import MigrationContext

VERSION = 4
DESCRIPTION = "action executions record heartbeats: progress, last_heartbeat_at, deadline"


def apply(ctx: MigrationContext) -> None:
    """Add the three nullable columns."""
    ctx.migrate(
        ctx.migrator.add_column("action_executions", "progress", ctx.text(null=True)),
        ctx.migrator.add_column("action_executions", "last_heartbeat_at", peewee.DateTimeField(null=True)),
        ctx.migrator.add_column("action_executions", "deadline", peewee.DateTimeField(null=True)),
    )
