"""Step 11 (step 13 of the plan; renumbered at merge): ``code_sources`` and ``dynamic_actions``.

``code_sources`` holds uploaded Python modules (their text and a version raised by each change);
``dynamic_actions`` the actions named after a class of one of them. Both have Mistral's unique name
per project (``name``, ``namespace``, ``project_id``) and the default list order; a code source's
dynamic actions are found by ``code_source_id`` (they are deleted with it). Frozen: see the package
docstring.
"""

from __future__ import annotations

import peewee

from mistral_core.persistence.migrations.context import MigrationContext

VERSION = 12
DESCRIPTION = "code_sources and dynamic_actions: uploaded Python modules and the actions named in them"


def _fields(
    ctx: MigrationContext, texts: tuple[str, ...], numbers: tuple[str, ...] = ()
) -> dict[str, peewee.Field]:
    fields: dict[str, peewee.Field] = {"seq": peewee.BigAutoField(), "id": ctx.text(unique=True)}
    for name in texts:
        fields[name] = ctx.text(null=True)
    for name in numbers:
        fields[name] = peewee.IntegerField(null=True)
    return fields


def apply(ctx: MigrationContext) -> None:
    """Create both tables with their indexes."""
    sources = _fields(ctx, ("name", "content"), ("version",))
    sources.update(_fields(ctx, ("namespace", "tags", "scope", "project_id")))
    sources["created_at"] = peewee.DateTimeField()
    sources["updated_at"] = peewee.DateTimeField(null=True)
    named = (("name", "namespace", "project_id"), True)
    listed = (("created_at", "id"), False)
    ctx.create_table("code_sources", sources, (named, listed))
    actions = _fields(
        ctx,
        ("name", "class_name", "code_source_id", "code_source_name", "namespace", "scope", "project_id"),
    )
    actions["created_at"] = peewee.DateTimeField()
    actions["updated_at"] = peewee.DateTimeField(null=True)
    ctx.create_table("dynamic_actions", actions, (named, listed, (("code_source_id",), False)))
