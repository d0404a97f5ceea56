"""Step 6: names are unique per project, as in Mistral (``(name, namespace, project_id)``).

Until this step a name was unique in the whole database; with authentication on, two projects
may each have their own ``wf``. The unique indexes of the five kinds of definitions gain
``project_id``; a row without a project (none is written so, but a hand-edited database may
have one) joins the default project first, so that the new index treats it as every other.
"""

from __future__ import annotations

from mistral_core.persistence.migrations.context import MigrationContext

VERSION = 6
DESCRIPTION = "definitions: names unique per project (name, namespace, project_id)"

_DEFAULT_PROJECT = "<default-project>"

#: table -> the columns of its name, unique until this step.
_NAMES = {
    "workflow_definitions": ("name", "namespace"),
    "workbooks": ("name", "namespace"),
    "action_definitions": ("name", "namespace"),
    "cron_triggers": ("name",),
    "environments": ("name",),
}


def apply(ctx: MigrationContext) -> None:
    """Give every definition a project; make each unique name index a (name..., project_id) one."""
    for table, columns in _NAMES.items():
        ctx.execute(f'UPDATE "{table}" SET "project_id" = ? WHERE "project_id" IS NULL', (_DEFAULT_PROJECT,))
        ctx.migrate(
            ctx.migrator.drop_index(table, "_".join((table, *columns))),
            ctx.migrator.add_index(table, (*columns, "project_id"), True),
        )
