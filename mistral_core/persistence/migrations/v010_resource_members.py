"""Step 11 (numbered 10 until the steps before it are merged): ``resource_members``, the projects
a workflow is shared with.

One row per workflow and member project (unique), with its status (pending, accepted, rejected)
and the workflow's project. Read by workflow (its members) and by member project and status
(the workflows a project was shared and accepted). Frozen: see the package docstring.
"""

from __future__ import annotations

import peewee

from mistral_core.persistence.migrations.context import MigrationContext

VERSION = 10
DESCRIPTION = "resource_members: workflows shared with other projects (pending, accepted, rejected)"


def apply(ctx: MigrationContext) -> None:
    """Create ``resource_members`` with its indexes."""
    fields: dict[str, peewee.Field] = {"seq": peewee.BigAutoField(), "id": ctx.text(unique=True)}
    fields.update(
        (name, ctx.text(null=True))
        for name in ("resource_id", "resource_type", "project_id", "member_id", "status")
    )
    fields["created_at"] = peewee.DateTimeField()
    fields["updated_at"] = peewee.DateTimeField(null=True)
    ctx.create_table(
        "resource_members",
        fields,
        (
            (("resource_id", "resource_type", "member_id"), True),
            (("member_id", "status"), False),
        ),
    )
