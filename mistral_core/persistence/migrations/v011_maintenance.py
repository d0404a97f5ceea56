"""Step 10 (step 14 of the plan; renumbered at merge): ``maintenance`` and ``maintenance_pauses``.

``maintenance`` holds one row, the service's mode (``RUNNING``, ``PAUSING``, ``PAUSED``), shared by
every process over the database; no row means ``RUNNING``. ``maintenance_pauses`` lists the
workflow executions that maintenance paused (so ending it resumes those, and only those), read in
the order they were paused. Frozen: see the package docstring.
"""

from __future__ import annotations

import peewee

from mistral_core.persistence.migrations.context import MigrationContext

VERSION = 11
DESCRIPTION = "maintenance and maintenance_pauses: the maintenance mode, and the executions it paused"


def apply(ctx: MigrationContext) -> None:
    """Create both tables."""
    mode = {
        "seq": peewee.BigAutoField(),
        "id": ctx.text(unique=True),
        "status": ctx.text(null=True),
        "changed_by": ctx.text(null=True),
        "created_at": peewee.DateTimeField(),
        "updated_at": peewee.DateTimeField(null=True),
    }
    ctx.create_table("maintenance", mode, ())
    pauses = {"seq": peewee.BigAutoField(), "id": ctx.text(unique=True), "created_at": peewee.DateTimeField()}
    ctx.create_table("maintenance_pauses", pauses, ((("created_at", "id"), False),))
