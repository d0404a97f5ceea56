"""SqlSchema: the schema version of an SQL store, and its upgrade by the steps of :mod:`.migrations`.

A database's schema version is the largest ``version`` of its ``schema_version`` table; an
empty database (no such table) is at version 0. :meth:`SqlSchema.upgrade` applies every step
past it in one transaction: on PostgreSQL the transaction first takes an advisory lock (the
key 0.1.0 used), so concurrent upgrades run one after the other and the later ones find
nothing to do; on SQLite ``BEGIN IMMEDIATE`` does the same. Foreign keys are off on SQLite for
the upgrade (table rebuilds of ``playhouse.migrate`` need it) and checked before commit.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

from mistral_core.errors import StoreError
from mistral_core.persistence.columns import naive_utc
from mistral_core.persistence.dialects import DB_ERRORS, store_error
from mistral_core.persistence.migrations import LATEST_VERSION, STEPS, MigrationContext, Step
from mistral_core.persistence.sqlbase import SqlBase

#: pg_advisory_xact_lock's key for schema changes ("mist"), the same as 0.1.0's.
UPGRADE_LOCK_KEY = 0x6D697374


class SchemaVersionError(StoreError):
    """The database's schema is not the one this code works with (older or newer)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Upgrade:
    """What :meth:`SqlSchema.upgrade` did.

    Attributes:
        before: the schema version found (0: an empty database).
        after: the schema version now.
        applied: the steps applied, in order (none: the schema was current).
    """

    before: int
    after: int
    applied: tuple[Step, ...]

    def lines(self) -> list[str]:
        """What was done, for a person: one line, or one per step and a last one."""
        if not self.applied:
            return [f"already at schema version {self.after}"]
        if not self.before:
            return [f"created schema version {self.after}"]
        steps = [f"applied step {step.version}: {step.description}" for step in self.applied]
        return [*steps, f"upgraded from schema version {self.before} to {self.after}"]


class SqlSchema(SqlBase):
    """The schema part of the SQL store: its version and its upgrade."""

    def schema_version(self) -> int:
        """The database's schema version; 0 for an empty database.

        Raises:
            StoreError: the database fails, or has a ``schema_version`` table with no row.
        """
        exists = self._one(self._dialect.sql(self._dialect.table_exists), ("schema_version",))
        if not exists or not exists[0]:
            return 0
        row = self._one('SELECT max("version") FROM "schema_version"', ())
        if row is None or row[0] is None:
            raise StoreError("The database's schema_version table is empty: not a mistral-core database?")
        return int(row[0])

    def upgrade(self) -> Upgrade:
        """Apply the steps the database lacks (all of them to an empty one), in one transaction.

        Safe to repeat (a database already at :data:`~.migrations.LATEST_VERSION` is left
        alone), and concurrent upgrades wait for each other. Servers of the older version
        should be stopped first: they do not expect the new schema.

        Raises:
            SchemaVersionError: the database's schema is newer than this code.
            StoreError: the database fails, or a step does; then nothing was changed.
        """
        with self._foreign_keys_off(), self.atomic():
            if self._dialect.placeholder == "%s":
                self._one(self._dialect.sql("SELECT pg_advisory_xact_lock(?)"), (UPGRADE_LOCK_KEY,))
            before = self.schema_version()
            if before > LATEST_VERSION:
                raise newer_error(before)
            pending = tuple(step for step in STEPS if step.version > before)
            if pending:
                context = MigrationContext(self._db, self._current_schema(), self._rows)
                for step in pending:
                    self._apply(step, context)
                self._record(pending)
                self._check_foreign_keys()
        return Upgrade(before, pending[-1].version if pending else before, pending)

    def _apply(self, step: Step, context: MigrationContext) -> None:
        failed = f"Schema step {step.version} ({step.description}) failed, nothing was changed"
        try:
            step.apply(context)
        except StoreError as exc:
            raise StoreError(f"{failed}: {exc}") from exc
        except DB_ERRORS as exc:
            raise StoreError(f"{failed}: {store_error(exc)}") from exc

    def _record(self, steps: Sequence[Step]) -> None:
        now: Any = naive_utc(self._clock.now())
        if self._dialect.datetime_in is not None:
            now = self._dialect.datetime_in(now)
        sql = 'INSERT INTO "schema_version" ("version", "description", "applied_at") VALUES (?, ?, ?)'
        for step in steps:
            self._execute(self._dialect.sql(sql), (step.version, step.description, now))

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Run a step's statement; its rows (none for a statement that returns none)."""
        cursor = self._execute(self._dialect.sql(sql), params)
        if cursor.description is None:
            return []
        try:
            return list(cursor.fetchall())
        except DB_ERRORS as exc:
            raise store_error(exc) from exc

    def _current_schema(self) -> str | None:
        """PostgreSQL's schema the store's tables live in (``None`` on SQLite)."""
        if self._dialect.placeholder == "?":
            return None
        row = self._one("SELECT current_schema()", ())
        return None if row is None else str(row[0])

    @contextlib.contextmanager
    def _foreign_keys_off(self) -> Iterator[None]:
        """On SQLite, foreign keys off for this connection meanwhile (only outside a transaction)."""
        if self._dialect.placeholder != "?":
            yield
            return
        self._execute("PRAGMA foreign_keys = OFF", ())
        try:
            yield
        finally:
            self._execute("PRAGMA foreign_keys = ON", ())

    def _check_foreign_keys(self) -> None:
        if self._dialect.placeholder != "?":
            return  # PostgreSQL checks every statement
        broken = self._all("PRAGMA foreign_key_check", ())
        if broken:
            raise StoreError(
                f"The schema upgrade left rows pointing at missing rows, nothing was changed: {broken[:3]}"
            )


def newer_error(version: int) -> SchemaVersionError:
    """The refusal of a database whose schema is newer than this code."""
    return SchemaVersionError(
        f"database schema version {version} is newer than this mistral-core ({LATEST_VERSION}): "
        "upgrade mistral-core"
    )
