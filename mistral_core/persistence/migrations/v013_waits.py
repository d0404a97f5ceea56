"""Step 10: the inventory of waits (``GET /v2/waits``) reads partial indexes of the waits only.

A wait is a RUNNING action execution that is asynchronous (its result comes from outside) or
targeted and not started yet (``dispatch`` 0: an action whose target has no executor waits so).
``action_executions`` gains ``target`` (the task's target, which ``params`` holds too; copied from
there for the running actions), so that an untargeted synchronous action never enters the
indexes: they cost the hot path nothing. Four partial indexes hold only those rows, so they stay
as small as the number of waits whatever the number of finished action executions: the default
order (``created_at``, ``id``), the filters by action name and by workflow name in that order,
and the deadline (NULL first, as the store sorts it, on PostgreSQL too). Frozen: see the package
docstring.
"""

from __future__ import annotations

from mistral_core.persistence.migrations.context import MigrationContext

VERSION = 13
DESCRIPTION = (
    "action_executions.target, and partial indexes of the waits (running async or unstarted targeted)"
)

_WAITS = '"state" = \'RUNNING\' AND ("is_sync" = FALSE OR ("dispatch" = 0 AND "target" IS NOT NULL))'
_INDEXES = (
    ("action_executions_waits", '"created_at", "id"'),
    ("action_executions_waits_name", '"name", "created_at", "id"'),
    ("action_executions_waits_workflow", '"workflow_name", "created_at", "id"'),
    ("action_executions_waits_deadline", '"deadline", "id"'),
)
#: PostgreSQL puts NULL last in an ascending index; the store sorts it first (as SQLite does).
_DEADLINE_ON_POSTGRESQL = '"deadline" NULLS FIRST, "id"'


def apply(ctx: MigrationContext) -> None:
    """Add ``target``, fill it in for the running actions, create the four partial indexes."""
    ctx.migrate(ctx.migrator.add_column("action_executions", "target", ctx.text(null=True)))
    target = (
        "CAST(\"params\" AS json) ->> 'target'" if ctx.postgresql else "json_extract(\"params\", '$.target')"
    )
    ctx.execute(
        f'UPDATE "action_executions" SET "target" = {target} '
        "WHERE \"state\" IN ('RUNNING', 'PAUSED', 'IDLE') AND \"params\" LIKE ?",
        ('%"target"%',),
    )
    for name, columns in _INDEXES:
        if ctx.postgresql and name.endswith("_deadline"):
            columns = _DEADLINE_ON_POSTGRESQL
        ctx.execute(f'CREATE INDEX "{name}" ON "action_executions" ({columns}) WHERE {_WAITS}')
