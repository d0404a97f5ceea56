"""Step 2: ``schema_version`` keeps one row per step, with what the step did and when.

0.1.0 kept one row (version 1). From this step on, every upgrade adds a row per applied step;
the schema version is still the largest ``version``, which is all 0.1.0 reads (so 0.1.0
refuses a database upgraded past it instead of misreading it).
"""

from __future__ import annotations

import peewee

from mistral_core.persistence.migrations.context import MigrationContext

VERSION = 2
DESCRIPTION = "schema_version records each step applied, with its description and time"


def apply(ctx: MigrationContext) -> None:
    """Add ``description`` and ``applied_at`` (unknown for 0.1.0's row: left null)."""
    ctx.migrate(
        ctx.migrator.add_column("schema_version", "description", ctx.text(null=True)),
        ctx.migrator.add_column("schema_version", "applied_at", peewee.DateTimeField(null=True)),
    )
    ctx.execute(
        'UPDATE "schema_version" SET "description" = ? WHERE "version" = 1',
        ("the tables and indexes of mistral-core 0.1.0",),
    )
