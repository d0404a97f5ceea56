"""Named definitions in SQL: workflows, cron triggers, environments, workbooks, ad-hoc actions.

One generic implementation driven by the :class:`~.definitions.DefinitionKind`
of each kind; the public methods are the port's names for it. None of this is
on the hot path, but the statements are still prepared once per connection.

A create checks the name (in its project) and the id before inserting, so that
the usual duplicate gets its own message; the unique index still decides a race
between two creators (the loser's integrity error becomes the same DuplicateError).
"""

from __future__ import annotations

from typing import Any

from mistral_core.model import Viewer
from mistral_core.persistence.columns import Row
from mistral_core.persistence.definitions import (
    DEFINITION_KINDS,
    DefinitionKind,
    DefinitionMethods,
)
from mistral_core.persistence.dialects import IntegrityFailure
from mistral_core.persistence.sqlbase import SqlBase
from mistral_core.persistence.sqlquery import quote, select_list


class SqlDefinitions(SqlBase, DefinitionMethods):
    """The definition methods of :class:`~mistral_core.persistence.sql.SqlStore`."""

    def _statement_texts(self) -> dict[str, str]:
        sql = super()._statement_texts()
        for kind in DEFINITION_KINDS:
            table = quote(kind.table.name)
            by_name = " AND ".join(f"{quote(key)} = ?" for key in kind.keys)
            by_key = " AND ".join(f"{quote(key)} = ?" for key in kind.unique)
            assignments = ", ".join(f"{quote(name)} = ?" for name in (*kind.replaced, "updated_at"))
            # Every project's definition of one name (a few rows at most), oldest first.
            sql[f"by name {kind.table.name}"] = (
                f'SELECT {select_list(kind.table)} FROM {table} WHERE {by_name} ORDER BY "seq"'
            )
            sql[f"by key {kind.table.name}"] = f"SELECT {select_list(kind.table)} FROM {table} WHERE {by_key}"
            sql[f"replace {kind.table.name}"] = f"UPDATE {table} SET {assignments} WHERE {by_key}"
        sql["catalog version"] = 'SELECT "value" FROM "counters" WHERE "name" = \'catalog\''
        sql["bump catalog version"] = (
            'INSERT INTO "counters" ("name", "value") VALUES (\'catalog\', 1) '
            'ON CONFLICT ("name") DO UPDATE SET "value" = "counters"."value" + 1'
        )
        return sql

    # -- the version of the ad-hoc actions ----------------------------------------------
    def catalog_version(self) -> int:
        """How many times the ad-hoc actions changed (0: never). One indexed row: cheap to ask."""
        row = self._one(self._sql["catalog version"], ())
        return 0 if row is None else int(row[0])

    def bump_catalog_version(self) -> None:
        """Count one more change of the ad-hoc actions (inside the transaction that made it)."""
        with self._writing():
            self._write(self._sql["bump catalog version"], ())

    # -- the generic operations ---------------------------------------------------------
    def _create_definition(self, kind: DefinitionKind, record: Any) -> None:
        table = kind.table.name
        row = self._codecs[table].insert_row(record, self._clock.now)
        with self._writing():
            if self._one(self._sql[f"by key {table}"], kind.key_of(record)) is not None:
                raise kind.duplicate(record)
            if self._one(self._sql[f"get {table}"], (record.id,)) is not None:
                raise kind.duplicate_id(record)
            try:
                self._execute(self._sql[f"insert {table}"], row)
            except IntegrityFailure as exc:
                raise kind.duplicate(record) from exc

    def _replace_definition(self, kind: DefinitionKind, record: Any) -> None:
        """Write every field but the id, the name and ``created_at`` of the record with that name."""
        table = kind.table.name
        _, values = self._codecs[table].update_values(record, kind.replaced, self._clock.now)
        with self._writing():
            if not self._write(self._sql[f"replace {table}"], (*values, *kind.key_of(record))):
                raise kind.not_found(*kind.key_of(record)[:2])

    def _definition_row(self, kind: DefinitionKind, identifier: str, namespace: str, viewer: Viewer) -> Row:
        table = kind.table.name
        # By name first: that is how executions are started (one query on the hot path). Names
        # that look like ids are refused at upload, so the order changes no answer.
        row = self._nearest(
            kind, self._all(self._sql[f"by name {table}"], kind.key(identifier, namespace)), viewer
        )
        if row is None and kind.by_id:
            row = self._one(self._sql[f"get {table}"], (identifier,))
            if row is not None and not self._sees_definition(kind, row, viewer):
                row = None
        if row is None:
            raise kind.not_found(identifier, namespace)
        return row

    def _get_definition(self, kind: DefinitionKind, identifier: str, namespace: str, viewer: Viewer) -> Any:
        return self._codecs[kind.table.name].record(self._definition_row(kind, identifier, namespace, viewer))

    def _delete_definition(
        self, kind: DefinitionKind, identifier: str, namespace: str, viewer: Viewer
    ) -> None:
        with self.atomic():
            row = self._definition_row(kind, identifier, namespace, viewer)
            if kind.shared_as is not None:
                self._delete_members_of(kind.shared_as, row[0])
            self._write(self._sql[f"delete {kind.table.name}"], (row[0],))

    # -- workflow definitions -----------------------------------------------------------
