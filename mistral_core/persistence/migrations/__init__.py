"""The steps of the SQL schema, numbered; a database's schema version is the last step it has.

Every database reaches its schema by these steps, in order: an empty one from step 1, a
database of 0.1.0 (schema version 1) from step 2. ``mistral-core db upgrade`` applies the
pending steps in one transaction (on PostgreSQL under an advisory lock, so two upgrades never
race) and prints one line per step: its ``DESCRIPTION``.

Adding a step (a new table, column, index, or a change of data):

1. Copy the latest ``vNNN_*.py`` here to ``v<next>_<what>.py``; set ``VERSION`` (the next
   number), ``DESCRIPTION`` (one line, what an operator reads) and write ``apply(ctx)`` with the
   :class:`~.context.MigrationContext` it is given: ``ctx.create_table(...)`` for a new table,
   ``ctx.migrate(ctx.migrator.add_column(...))`` and the other operations of peewee's
   ``playhouse.migrate`` for the rest, ``ctx.execute(sql, params)`` for data.
2. Add the module to :data:`STEPS` below.
3. Make the records and the store agree: a new record field needs its column in the step,
   a new table its :class:`~mistral_core.persistence.columns.TableSpec`.
   ``tests/contract/test_migrations.py`` fails while the schema the steps make differs from
   the one the code expects (:func:`mistral_core.persistence.tables.build_models`).

A step is frozen once released: it spells its columns out and imports nothing that may change
(no record class, no ``TableSpec``), so it makes the same schema forever. Never edit or
renumber a released step; fix a mistake with a new one. Two branches that both add a step
conflict on :data:`STEPS`: the one merged second takes the next number.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import ModuleType

from mistral_core.persistence.migrations import (
    v001_initial,
    v002_upgrade_history,
    v003_counters,
    v004_heartbeats,
    v005_api_keys,
    v006_projects,
    v007_callback_tokens,
    v008_approvals,
    v009_notification_deliveries,
    v010_resource_members,
    v011_maintenance,
    v012_dynamic_actions,
    v013_waits,
    v014_event_triggers,
)
from mistral_core.persistence.migrations.context import MigrationContext


@dataclasses.dataclass(frozen=True, slots=True)
class Step:
    """One numbered change of the schema.

    Attributes:
        version: the schema version a database has once the step is applied.
        description: one line saying what the step does (printed by ``db upgrade``).
        apply: makes the change, inside the upgrade's transaction.
    """

    version: int
    description: str
    apply: Callable[[MigrationContext], None]


def _steps(*modules: ModuleType) -> tuple[Step, ...]:
    """The steps of ``modules``, checked to be numbered 1, 2, 3... in order."""
    steps = tuple(Step(module.VERSION, module.DESCRIPTION, module.apply) for module in modules)
    for position, step in enumerate(steps, 1):
        if step.version != position:
            raise RuntimeError(f"schema step {step.version} is listed at position {position}")
    return steps


#: Every step, in order. Append new ones.
STEPS = _steps(
    v001_initial,
    v002_upgrade_history,
    v003_counters,
    v004_heartbeats,
    v005_api_keys,
    v006_projects,
    v007_callback_tokens,
    v008_approvals,
    v009_notification_deliveries,
    v010_resource_members,
    v011_maintenance,
    v012_dynamic_actions,
    v013_waits,
    v014_event_triggers,
)

#: The schema version this code works with: the last step's.
LATEST_VERSION = STEPS[-1].version

__all__ = ["LATEST_VERSION", "STEPS", "MigrationContext", "Step"]
