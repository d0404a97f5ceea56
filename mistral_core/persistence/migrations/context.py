"""MigrationContext: what a schema step is given to change the database with."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import peewee
from playhouse.migrate import SchemaMigrator

#: ``((column, ...), unique)``: a secondary index, named ``<table>_<column>_<column>...``.
Index = tuple[tuple[str, ...], bool]


class MigrationContext:
    """The database of an upgrade, inside its transaction.

    Attributes:
        database: the peewee database (``SqliteDatabase`` or ``PostgresqlDatabase``).
        postgresql: whether it is PostgreSQL.
        migrator: peewee's ``playhouse.migrate`` schema migrator of this database (on
            PostgreSQL, of the schema the store works in); run its operations with
            :meth:`migrate`.

    Args:
        database: the database.
        schema: PostgreSQL's current schema (``None`` on SQLite).
        execute: runs one statement written with ``?`` placeholders; returns its rows.
    """

    def __init__(
        self,
        database: peewee.Database,
        schema: str | None,
        execute: Callable[[str, Sequence[Any]], list[tuple[Any, ...]]],
    ) -> None:
        self.database = database
        self.postgresql = isinstance(database, peewee.PostgresqlDatabase)
        self.migrator = SchemaMigrator.from_database(database, schema=schema)
        self._execute = execute

    def text(self, **options: Any) -> peewee.TextField:
        """A text column as every text column of the store: on PostgreSQL it sorts by code point
        (collation ``"C"``), as SQLite and the in-memory store do."""
        return peewee.TextField(collation='"C"' if self.postgresql else None, **options)

    def migrate(self, *operations: Any) -> None:
        """Run ``playhouse.migrate`` operations (``self.migrator.add_column(...)``, ...) in order."""
        self.migrator.migrate(*operations)

    def create_table(
        self,
        name: str,
        fields: Mapping[str, peewee.Field],
        indexes: Sequence[Index] = (),
        partial_indexes: Sequence[tuple[str, str, str]] = (),
    ) -> None:
        """Create table ``name`` with its indexes (it must not exist).

        Args:
            name: the table.
            fields: its columns, in order (peewee fields; text columns from :meth:`text`).
            indexes: its secondary indexes.
            partial_indexes: ``(index name, column, predicate SQL)``: indexes of the rows the
                predicate holds for.
        """
        meta = type("Meta", (), {"database": self.database, "table_name": name, "indexes": tuple(indexes)})
        model: Any = type(name, (peewee.Model,), {**fields, "Meta": meta})
        for index_name, column, where in partial_indexes:
            model.add_index(model._meta.fields[column], where=peewee.SQL(where), name=index_name)
        model.create_table(safe=False)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders on every backend); its rows, if it returns any."""
        return self._execute(sql, params)
