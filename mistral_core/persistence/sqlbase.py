"""SqlBase: what every part of the SQL store stands on.

Running SQL: prepared raw statements on the thread's DB-API connection (peewee
opens the per-thread connections), rows turned into records by the column codecs,
every database exception turned into a :class:`~mistral_core.errors.StoreError`.
Transactions and the generic record operations (get by id, update fields, list).
The schema and its upgrade are :mod:`.sqlschema`'s.

SQLite: WAL, ``synchronous=NORMAL``, foreign keys on. A transaction starts with
``BEGIN IMMEDIATE`` while holding a process-wide lock for the database file, so
the threads of one process queue on a Python lock instead of SQLite's sleeping
busy handler. PostgreSQL: READ COMMITTED.

The store's parts (:mod:`.sqltimers`, :mod:`.sqldefinitions`, :mod:`.sql`) are
subclasses that add their statements in :meth:`SqlBase._statement_texts`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import peewee

from mistral_core.engine.ports import Clock, SystemClock
from mistral_core.errors import CommitInDoubt, InputError, StoreError, StoreUnavailable
from mistral_core.model import Query
from mistral_core.persistence import sqlquery
from mistral_core.persistence.columns import ALL_TABLES, Row, TableSpec, not_found
from mistral_core.persistence.dialects import (
    DB_ERRORS,
    Prepared,
    Statement,
    dialect_of,
    store_error,
)
from mistral_core.persistence.querying import Plan, make_plan
from mistral_core.persistence.sqlquery import quote, select_list


class SqlBase:
    """Connections, transactions and generic record operations of the SQL store.

    Args:
        database: a peewee ``SqliteDatabase`` or ``PostgresqlDatabase`` (not yet connected).
        clock: gives ``created_at``/``updated_at`` when a record has none.
    """

    def __init__(self, database: peewee.Database, clock: Clock | None = None) -> None:
        self._db = database
        self._dialect = dialect_of(database)
        self._clock: Clock = clock or SystemClock()
        self._local = threading.local()
        self._codecs = {table.name: self._dialect.codec(table) for table in ALL_TABLES}
        self._update_sql: dict[tuple[str, tuple[str, ...]], Statement] = {}
        self._update_lock = threading.Lock()
        texts = self._statement_texts()
        self._sql = {
            key: self._dialect.statement(f"mc_{i}", text) for i, (key, text) in enumerate(texts.items())
        }

    def _statement_texts(self) -> dict[str, str]:
        """The store's named statements (``?`` placeholders); every part adds its own."""
        sql: dict[str, str] = {}
        for table in ALL_TABLES:
            columns, marks = select_list(table), ", ".join("?" for _ in table.names)
            sql[f"insert {table.name}"] = f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})"
            sql[f"get {table.name}"] = f'SELECT {columns} FROM {quote(table.name)} WHERE "id" = ?'
            sql[f"delete {table.name}"] = f'DELETE FROM {quote(table.name)} WHERE "id" = ?'
        return sql

    # -- running SQL --------------------------------------------------------------
    def _execute(self, sql: Statement, params: Sequence[Any]) -> Any:
        connection = None
        try:
            # The stubs leave Database.connection() untyped; it returns the thread's DB-API connection.
            connection = self._db.connection()  # type: ignore[no-untyped-call]
            cursor = connection.cursor()
            if isinstance(sql, str):
                cursor.execute(*self._begun(sql, params))
                return cursor
            self._prepare(connection, cursor, sql)
            cursor.execute(*self._begun(sql.execute, params))
        except DB_ERRORS as exc:
            error = store_error(exc)
            if getattr(connection, "closed", 0) or isinstance(error, StoreUnavailable):
                # A lost connection, or one that may stay read-only or broken: the next call opens
                # a fresh one (inside a transaction: once it is rolled back).
                if getattr(self._local, "depth", 0):
                    self._local.broken = True
                else:
                    self._forget_connection()
            raise error from exc
        return cursor

    def _begun(self, text: str, params: Sequence[Any]) -> tuple[str, Sequence[Any]]:
        """``text`` and its ``params``, after what the transaction has not sent yet: its BEGIN,
        and the writes held back by :meth:`_execute_all` (PostgreSQL: one query, one round trip;
        the result is the last statement's)."""
        local = self._local
        held: list[tuple[str, Sequence[Any]]] | None = getattr(local, "held", None)
        if not getattr(local, "begin_pending", False) and not held:
            return text, params
        texts: list[str] = []
        values: list[Any] = []
        if getattr(local, "begin_pending", False):
            local.begin_pending = False
            texts.append(self._dialect.begin)
        for held_text, held_values in held or ():
            texts.append(held_text)
            values.extend(held_values)
        local.held = []
        return ";\n".join([*texts, text]), [*values, *params]

    def _execute_all(self, statements: Sequence[tuple[Statement, Sequence[Any]]]) -> None:
        """Run these writing statements in order. PostgreSQL gets them in one round trip (one
        query of several statements; each prepared statement is prepared first, once per
        connection), and inside a transaction they are held back and go with its next statement
        (its COMMIT, usually: an error of theirs is raised there); SQLite runs them one by one
        (it has no round trips). Row counts are not checked: the caller holds the locks that
        keep the rows there."""
        if self._dialect.placeholder == "?":
            for sql, params in statements:
                self._execute(sql, params)
            return
        texts: list[str] = []
        values: list[Any] = []
        for sql, params in statements:
            if isinstance(sql, Prepared):
                self._prepare_once(sql)
                texts.append(sql.execute)
            else:
                texts.append(sql)
            values.extend(params)
        if not texts:
            return
        if getattr(self._local, "depth", 0):
            held: list[tuple[str, Sequence[Any]]] = getattr(self._local, "held", None) or []
            held.append((";\n".join(texts), values))
            self._local.held = held
            return
        self._execute(";\n".join(texts), values)

    def _prepare_once(self, sql: Prepared) -> None:
        """PREPARE ``sql`` on this thread's connection unless it is prepared there already."""
        connection = self._db.connection()  # type: ignore[no-untyped-call]  # see _execute
        prepared = self._prepared_on(connection)
        if sql.name not in prepared:
            self._execute(sql.prepare, ())
            prepared.add(sql.name)

    def _forget_connection(self) -> None:
        """Drop this thread's broken connection, so that the next call opens a new one."""
        with contextlib.suppress(*DB_ERRORS):
            self._db.close()

    def _prepare(self, connection: Any, cursor: Any, sql: Prepared) -> None:
        """PREPARE ``sql`` on ``connection`` unless it is prepared there already."""
        prepared = self._prepared_on(connection)
        if sql.name not in prepared:
            cursor.execute(sql.prepare)
            prepared.add(sql.name)

    def _prepared_on(self, connection: Any) -> set[str]:
        """Names of the statements prepared on ``connection`` (a new connection has none)."""
        local = self._local
        if getattr(local, "connection", None) is not connection:
            local.connection = connection
            local.prepared = set()
        prepared: set[str] = local.prepared
        return prepared

    def _one(self, sql: Statement, params: Sequence[Any]) -> Row | None:
        row: Row | None = self._read(sql, params, "one")
        return row

    def _all(self, sql: Statement, params: Sequence[Any]) -> list[Row]:
        rows: list[Row] = self._read(sql, params, "all")
        return rows

    def _read(self, sql: Statement, params: Sequence[Any], how: str) -> Any:
        """Run a query and fetch one row or all. Outside a transaction, a query that finds its
        connection lost is run once more on a fresh one (a read changes nothing: safe to repeat)."""
        for attempt in (1, 2):
            try:
                cursor = self._execute(sql, params)
                try:
                    return cursor.fetchone() if how == "one" else cursor.fetchall()
                except DB_ERRORS as exc:
                    raise store_error(exc) from exc
            except StoreUnavailable:
                depth: int = getattr(self._local, "depth", 0)
                if attempt == 2 or depth:
                    raise
        raise AssertionError("unreachable")

    def _write(self, sql: Statement, params: Sequence[Any]) -> int:
        count: int = self._execute(sql, params).rowcount
        return count

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Around one writing statement: inside atomic() it joins the transaction; outside, the
        statement is a transaction of its own (autocommit), taken under the SQLite write lock.

        One statement needs no BEGIN/COMMIT round trips: it is atomic and durable by itself, and
        a writing statement takes SQLite's write lock when it starts, as BEGIN IMMEDIATE would.
        """
        with self._dialect.write_lock:
            yield

    # -- connections --------------------------------------------------------------
    def close(self) -> None:
        """Close the calling thread's connection (it reopens on next use).

        Raises:
            StoreError: called inside :meth:`atomic`.
        """
        if getattr(self._local, "depth", 0):
            raise StoreError("Cannot close the connection inside atomic()")
        try:
            self._db.close()
        except DB_ERRORS as exc:
            raise store_error(exc) from exc

    def explain(self, name: str, params: Sequence[Any]) -> list[str]:
        """The query plan of one of the store's statements, one line per step (nothing is run).

        On PostgreSQL it is the generic plan, the one a prepared statement settles on after a
        few runs. For tests and operators: check that a statement walks an index.

        Args:
            name: the statement, e.g. ``"claim timers"``, ``"next timer due"``, ``"raise dispatch"``.
            params: its parameters, as the store would pass them.

        Raises:
            InputError: no statement has that name.
        """
        sql = self._sql.get(name)
        if sql is None:
            raise InputError(f"No statement named {name!r}")
        with self.atomic():
            if isinstance(sql, str):
                return [str(row[-1]) for row in self._all(f"EXPLAIN QUERY PLAN {sql}", params)]
            self._execute("SET LOCAL plan_cache_mode = force_generic_plan", ())
            connection = self._db.connection()  # type: ignore[no-untyped-call]  # see _execute
            try:
                self._prepare(connection, connection.cursor(), sql)
            except DB_ERRORS as exc:
                raise store_error(exc) from exc
            return [str(row[0]) for row in self._all(f"EXPLAIN {sql.execute}", params)]

    # -- transactions -------------------------------------------------------------
    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        """A transaction: committed when the block ends, rolled back if it raises.

        Nested calls join the outermost transaction. On SQLite it begins with
        ``BEGIN IMMEDIATE`` under the process-wide lock of the database file.
        """
        local = self._local
        if getattr(local, "depth", 0):
            local.depth += 1
            try:
                yield
            finally:
                local.depth -= 1
            return
        with self._dialect.write_lock:
            if self._dialect.begin_with_first:
                local.begin_pending = True
            else:
                self._execute(self._dialect.begin, ())
            local.depth = 1
            try:
                yield
            except BaseException:
                local.depth = 0
                self._roll_back()
                if getattr(local, "broken", False):
                    local.broken = False
                    self._forget_connection()
                raise
            local.depth = 0
            self._commit()

    def _commit(self) -> None:
        if getattr(self._local, "begin_pending", False) and not getattr(self._local, "held", None):
            self._local.begin_pending = False  # nothing was sent: nothing to commit
            return
        try:
            self._execute("COMMIT", ())
        except StoreUnavailable as exc:
            self._roll_back()
            raise CommitInDoubt(f"{exc.message} (during COMMIT: it may or may not have been kept)") from exc
        except StoreError:
            self._roll_back()
            raise

    def _roll_back(self) -> None:
        self._local.held = []  # writes held back are not sent
        if getattr(self._local, "begin_pending", False):
            self._local.begin_pending = False
            return
        try:
            self._execute("ROLLBACK", ())
        except StoreError:
            # The connection is unusable (the server went away): the next call reconnects.
            self._forget_connection()

    # -- generic record operations --------------------------------------------------
    def _get(self, table: TableSpec, record_id: str, sql: Statement | None = None) -> Any:
        row = self._one(sql or self._sql[f"get {table.name}"], (record_id,))
        if row is None:
            raise not_found(table, record_id)
        return self._codecs[table.name].record(row)

    def _update_record(self, table: TableSpec, record: Any, fields: Sequence[str]) -> None:
        """Write ``fields`` of ``record`` (matched by id) and its ``updated_at``.

        Raises:
            NotFoundError: no record with that id.
            InputError: an unknown field name.
        """
        sql, values = self._update_of(table, record, fields)
        with self._writing():
            if not self._write(sql, values):
                raise not_found(table, record.id)

    def _update_of(self, table: TableSpec, record: Any, fields: Sequence[str]) -> tuple[Statement, list[Any]]:
        """The statement and parameters that write ``fields`` of ``record`` and its ``updated_at``.

        Raises:
            InputError: an unknown field name.
        """
        names, values = self._codecs[table.name].update_values(record, fields, self._clock.now)
        sql = self._update_sql.get((table.name, names))
        if sql is None:
            sql = self._update_statement(table, names)
        values.append(record.id)
        return sql, values

    def _update_statement(self, table: TableSpec, names: tuple[str, ...]) -> Statement:
        with self._update_lock:  # the prepared name must stay unique per statement
            sql = self._update_sql.get((table.name, names))
            if sql is None:
                assignments = ", ".join(f"{quote(name)} = ?" for name in names)
                text = f'UPDATE {quote(table.name)} SET {assignments} WHERE "id" = ?'
                sql = self._dialect.statement(f"mc_update_{len(self._update_sql)}", text)
                self._update_sql[(table.name, names)] = sql
            return sql

    def _plan(self, table: TableSpec, query: Query) -> Plan:
        """``query`` checked against ``table`` (the members part adds what is shared)."""
        return make_plan(table, query)

    def _list(self, table: TableSpec, query: Query, extra: sqlquery.Sql | None = None) -> list[Any]:
        """The records of ``table`` matching ``query`` (and ``extra``, a condition in SQL)."""
        plan = self._plan(table, query)
        marker = None
        if plan.marker is not None:
            marker = self._one(self._sql[f"get {table.name}"], (plan.marker,))
            if marker is None or (plan.visibility is not None and not plan.visibility.admits(marker)):
                raise not_found(table, plan.marker)
        sql, params = sqlquery.select_page(
            table, plan, marker, self._dialect.param, self._dialect.contains, extra
        )
        codec = self._codecs[table.name]
        record = codec.record if plan.columns is None else codec.partial(plan.columns)
        return [record(row) for row in self._all(self._dialect.sql(sql), params)]
