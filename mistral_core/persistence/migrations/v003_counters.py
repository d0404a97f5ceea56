"""Step 3: ``counters``, named numbers the engines share (first: the version of the ad-hoc actions).

Every transaction that creates, changes or deletes an ad-hoc action bumps the ``catalog``
counter; every engine checks it before it resolves an action name that may be ad-hoc, so a
definition changed through one process applies at once in every other.
"""

from __future__ import annotations

import peewee

from mistral_core.persistence.migrations.context import MigrationContext

VERSION = 3
DESCRIPTION = "counters: the version of the ad-hoc actions, checked by every engine"


def apply(ctx: MigrationContext) -> None:
    """Create ``counters`` (name, value)."""
    ctx.create_table(
        "counters",
        {"name": ctx.text(primary_key=True), "value": peewee.BigIntegerField()},
    )
