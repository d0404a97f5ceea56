"""SqlStore: the ExecutionStore over SQLite (embedded default) or PostgreSQL.

The hot path (insert, update, get, children, lock) is prepared raw SQL on the
thread's DB-API connection, with rows turned into records by the column codecs;
peewee opens the per-thread connections and creates the schema. Every database
exception becomes a :class:`~mistral_core.errors.StoreError` here.

SQLite: WAL, ``synchronous=NORMAL``, foreign keys on. A transaction starts with
``BEGIN IMMEDIATE`` while holding a process-wide lock for the database file, so
the threads of one process queue on a Python lock instead of SQLite's sleeping
busy handler. PostgreSQL: READ COMMITTED, and ``SELECT ... FOR UPDATE`` to lock
a workflow execution.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import peewee

from mistral_core.engine.ports import Clock, Record, SystemClock
from mistral_core.errors import DuplicateError, InputError, MistralError, NotFoundError, StoreError
from mistral_core.model import (
    ActionExecution,
    Query,
    TaskExecution,
    Timer,
    WorkflowDefinition,
    WorkflowExecution,
)
from mistral_core.persistence import sqlquery
from mistral_core.persistence.columns import (
    ACTION_EXECUTIONS,
    ALL_TABLES,
    EXECUTION_TABLES,
    TASK_EXECUTIONS,
    TIMERS,
    WORKFLOW_DEFINITIONS,
    WORKFLOW_EXECUTIONS,
    Row,
    TableSpec,
    dumps,
)
from mistral_core.persistence.dialects import (
    DB_ERRORS,
    SQLITE_BUSY_TIMEOUT_S,
    SQLITE_PRAGMAS,
    IntegrityFailure,
    Prepared,
    Statement,
    dialect_of,
    store_error,
)
from mistral_core.persistence.querying import make_plan
from mistral_core.persistence.sqlquery import quote, select_list
from mistral_core.persistence.tables import DISPATCHABLE, SCHEMA_VERSION, UNFINISHED_ACTIONS, build_models

_DUE_AT = TIMERS.index_of("due_at")


class SqlStore:
    """An :class:`~mistral_core.engine.ports.ExecutionStore` in SQLite or PostgreSQL.

    Usually made by :func:`open_store`. Each thread uses its own connection;
    :meth:`close` closes the calling thread's.

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
        self._models = build_models(database, self._dialect.collation)
        self._update_sql: dict[tuple[str, tuple[str, ...]], Statement] = {}
        self._update_lock = threading.Lock()
        self._sql = self._statements()
        self._encode_time = self._codecs[TIMERS.name].encoders[_DUE_AT]

    def _statements(self) -> dict[str, Statement]:
        sql: dict[str, str] = {}
        for table in ALL_TABLES:
            columns, marks = select_list(table), ", ".join("?" for _ in table.names)
            sql[f"insert {table.name}"] = f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})"
            sql[f"get {table.name}"] = f'SELECT {columns} FROM {quote(table.name)} WHERE "id" = ?'
        sql["lock"] = sql[f"get {WORKFLOW_EXECUTIONS.name}"] + self._dialect.lock_suffix
        for table, parent in (
            (TASK_EXECUTIONS, "workflow_execution_id"),
            (ACTION_EXECUTIONS, "task_execution_id"),
        ):
            sql[f"children {table.name}"] = (
                f'SELECT {select_list(table)} FROM {quote(table.name)} WHERE "{parent}" = ? '
                'ORDER BY "created_at", "seq"'
            )
        sql["unfinished"] = (
            f"SELECT {select_list(ACTION_EXECUTIONS)} FROM {quote(ACTION_EXECUTIONS.name)} "
            f'WHERE {UNFINISHED_ACTIONS} ORDER BY "created_at", "seq"'
        )
        sql.update(self._timer_statements())
        sql["raise dispatch"] = (
            f'UPDATE {quote(ACTION_EXECUTIONS.name)} SET "dispatch" = ? '
            f'WHERE {self._dialect.one_of.format(col=quote("id"))} AND "dispatch" < ? AND {DISPATCHABLE}'
        )
        sql["definition by name"] = (
            f"SELECT {select_list(WORKFLOW_DEFINITIONS)} FROM {quote(WORKFLOW_DEFINITIONS.name)} "
            'WHERE "name" = ? AND "namespace" = ?'
        )
        return {key: self._dialect.statement(f"mc_{i}", text) for i, (key, text) in enumerate(sql.items())}

    def _timer_statements(self) -> dict[str, str]:
        timers = quote(TIMERS.name)
        claimable = '"due_at" <= ? AND ("claimed_until" IS NULL OR "claimed_until" < ?)'
        return {
            "delete timer": f'DELETE FROM {timers} WHERE "id" = ?',
            "delete timers of": f'DELETE FROM {timers} WHERE "target_id" = ?',
            "delete timers of kind": f'DELETE FROM {timers} WHERE "target_id" = ? AND "kind" = ?',
            "next timer due": f'SELECT min("due_at") FROM {timers}',
            "count timers": f"SELECT count(*) FROM {timers}",
            # MATERIALIZED: the LIMIT (and, on PostgreSQL, the row locks) apply once, before
            # the UPDATE, never re-evaluated per candidate row.
            "claim timers": (
                f'WITH "due" AS MATERIALIZED (SELECT "seq" FROM {timers} WHERE {claimable} '
                f'ORDER BY "due_at", "seq" LIMIT ?{self._dialect.skip_locked}) '
                f'UPDATE {timers} SET "claimed_by" = ?, "claimed_until" = ? '
                f'WHERE "seq" IN (SELECT "seq" FROM "due") RETURNING "seq", {select_list(TIMERS)}'
            ),
        }

    # -- running SQL --------------------------------------------------------------
    def _execute(self, sql: Statement, params: Sequence[Any]) -> Any:
        connection = None
        try:
            # The stubs leave Database.connection() untyped; it returns the thread's DB-API connection.
            connection = self._db.connection()  # type: ignore[no-untyped-call]
            cursor = connection.cursor()
            if isinstance(sql, str):
                cursor.execute(sql, params)
                return cursor
            self._prepare(connection, cursor, sql)
            cursor.execute(sql.execute, params)
        except DB_ERRORS as exc:
            if getattr(connection, "closed", 0) and not getattr(self._local, "depth", 0):
                self._forget_connection()
            raise store_error(exc) from exc
        return cursor

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
        cursor = self._execute(sql, params)
        try:
            row: Row | None = cursor.fetchone()
        except DB_ERRORS as exc:
            raise store_error(exc) from exc
        return row

    def _all(self, sql: Statement, params: Sequence[Any]) -> list[Row]:
        cursor = self._execute(sql, params)
        try:
            rows: list[Row] = cursor.fetchall()
        except DB_ERRORS as exc:
            raise store_error(exc) from exc
        return rows

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

    # -- schema and connections ---------------------------------------------------
    def upgrade(self) -> None:
        """Create missing tables, columns and indexes, and record the schema version (idempotent).

        Raises:
            StoreError: the database fails, or its schema is newer than this code.
        """
        with self.atomic():
            if self._dialect.placeholder == "%s":
                # Two processes upgrading at once would race on CREATE TABLE IF NOT EXISTS.
                self._one(self._dialect.sql("SELECT pg_advisory_xact_lock(?)"), (0x6D697374,))
            try:
                for model in self._models:
                    model.create_table(safe=True)
                self._add_missing_columns()
            except DB_ERRORS as exc:
                raise store_error(exc) from exc
            self._check_version()

    def _add_missing_columns(self) -> None:
        """Add columns for record fields that are newer than the table (always nullable)."""
        present: dict[str, set[str]] = {}
        for table, column in self._all(self._dialect.catalog, ()):
            present.setdefault(table, set()).add(column)
        for model in self._models:
            for field in model._meta.sorted_fields:
                if field.column_name in present.get(model._meta.table_name, ()):
                    continue
                self._add_column(model._meta.table_name, field)

    def _add_column(self, table: str, field: peewee.Field) -> None:
        """Add one column; rows already there get the field's default, as new records would."""
        context = self._db.get_sql_context()
        # The stubs leave Context.sql() untyped; it renders the column's DDL.
        ddl = context.sql(field.ddl(context)).query()[0]  # type: ignore[no-untyped-call]
        self._execute(f"ALTER TABLE {quote(table)} ADD COLUMN {ddl}", ())
        codec = self._codecs.get(table)
        if codec is not None and field.column_name in codec.table.positions:
            default = codec.default(field.column_name)
            if default is not None:
                sql = f"UPDATE {quote(table)} SET {quote(field.column_name)} = ?"
                self._execute(self._dialect.sql(sql), (default,))

    def _check_version(self) -> None:
        row = self._one('SELECT max("version") FROM "schema_version"', ())
        version = row[0] if row else None
        if version is None:
            self._execute(
                self._dialect.sql('INSERT INTO "schema_version" ("version") VALUES (?)'), (SCHEMA_VERSION,)
            )
        elif version > SCHEMA_VERSION:
            raise StoreError(
                f"The database schema is version {version}; this mistral-core knows {SCHEMA_VERSION}"
            )

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
            self._execute(self._dialect.begin, ())
            local.depth = 1
            try:
                yield
            except BaseException:
                local.depth = 0
                self._roll_back()
                raise
            local.depth = 0
            self._commit()

    def _commit(self) -> None:
        try:
            self._execute("COMMIT", ())
        except StoreError:
            self._roll_back()
            raise

    def _roll_back(self) -> None:
        try:
            self._execute("ROLLBACK", ())
        except StoreError:
            # The connection is unusable (the server went away): the next call reconnects.
            self._forget_connection()

    def lock_workflow_execution(self, wf_ex_id: str) -> WorkflowExecution:
        """Inside :meth:`atomic`: lock one workflow execution until commit and return it fresh.

        Raises:
            StoreError: called outside :meth:`atomic`.
            NotFoundError: no such workflow execution.
        """
        if not getattr(self._local, "depth", 0):
            raise StoreError("lock_workflow_execution() needs an open atomic() block")
        record: WorkflowExecution = self._get(WORKFLOW_EXECUTIONS, wf_ex_id, self._sql["lock"])
        return record

    # -- workflow definitions -----------------------------------------------------
    def create_workflow_definition(self, wf_def: WorkflowDefinition) -> None:
        """Store a new definition.

        Raises:
            DuplicateError: a definition with that (name, namespace), or that id, exists.
        """
        duplicate = DuplicateError(
            f"Workflow '{wf_def.name}' already exists in namespace '{wf_def.namespace}'"
        )
        codec = self._codecs[WORKFLOW_DEFINITIONS.name]
        row = codec.insert_row(wf_def, self._clock.now)
        if self._one(self._sql["definition by name"], (wf_def.name, wf_def.namespace)) is not None:
            raise duplicate
        if self._one(self._sql[f"get {WORKFLOW_DEFINITIONS.name}"], (wf_def.id,)) is not None:
            raise DuplicateError(f"Workflow with id '{wf_def.id}' already exists")
        try:
            self._execute(self._sql[f"insert {WORKFLOW_DEFINITIONS.name}"], row)
        except IntegrityFailure as exc:
            raise duplicate from exc

    def update_workflow_definition(self, wf_def: WorkflowDefinition) -> None:
        """Replace the definition with the same (name, namespace); its id and created_at stay.

        Raises:
            NotFoundError: no such definition.
        """
        codec = self._codecs[WORKFLOW_DEFINITIONS.name]
        fields = [n for n in codec.names if n not in ("id", "name", "namespace", "created_at")]
        names, values = codec.update_values(wf_def, fields, self._clock.now)
        assignments = ", ".join(f"{quote(name)} = ?" for name in names)
        table = quote(WORKFLOW_DEFINITIONS.name)
        sql = f'UPDATE {table} SET {assignments} WHERE "name" = ? AND "namespace" = ?'
        if not self._write(self._dialect.sql(sql), (*values, wf_def.name, wf_def.namespace)):
            raise _definition_not_found(wf_def.name, wf_def.namespace)

    def get_workflow_definition(self, identifier: str, namespace: str = "") -> WorkflowDefinition:
        """The definition whose id, or else name (in ``namespace``), is ``identifier``.

        Raises:
            NotFoundError: no such definition.
        """
        record: WorkflowDefinition = self._codecs[WORKFLOW_DEFINITIONS.name].record(
            self._definition_row(identifier, namespace)
        )
        return record

    def delete_workflow_definition(self, identifier: str, namespace: str = "") -> None:
        """Delete by id or name.

        Raises:
            NotFoundError: no such definition.
        """
        with self.atomic():
            row = self._definition_row(identifier, namespace)
            sql = f'DELETE FROM {quote(WORKFLOW_DEFINITIONS.name)} WHERE "id" = ?'
            self._write(self._dialect.sql(sql), (row[0],))

    def list_workflow_definitions(self, query: Query) -> list[WorkflowDefinition]:
        """Definitions matching ``query``."""
        return self._list(WORKFLOW_DEFINITIONS, query)

    def _definition_row(self, identifier: str, namespace: str) -> Row:
        row = self._one(self._sql[f"get {WORKFLOW_DEFINITIONS.name}"], (identifier,))
        if row is None:
            row = self._one(self._sql["definition by name"], (identifier, namespace))
        if row is None:
            raise _definition_not_found(identifier, namespace)
        return row

    # -- spec snapshots -----------------------------------------------------------
    def save_spec(self, checksum: str, spec: dict[str, Any]) -> None:
        """Keep ``spec`` under ``checksum`` unless one is kept already (idempotent).

        Raises:
            StoreError: the spec is not JSON-able, or the database fails.
        """
        try:
            text = dumps(spec)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"Cannot store spec {checksum}: {exc}") from exc
        sql = 'INSERT INTO "specs" ("checksum", "spec") VALUES (?, ?) ON CONFLICT ("checksum") DO NOTHING'
        self._execute(self._dialect.sql(sql), (checksum, text))

    def get_spec(self, checksum: str) -> dict[str, Any]:
        """The spec saved under ``checksum``.

        Raises:
            NotFoundError: none saved.
        """
        row = self._one(self._dialect.sql('SELECT "spec" FROM "specs" WHERE "checksum" = ?'), (checksum,))
        if row is None:
            raise NotFoundError(f"Spec not found [checksum={checksum}]")
        spec: dict[str, Any] = json.loads(row[0])
        return spec

    # -- executions ---------------------------------------------------------------
    def insert(self, record: Record) -> None:
        """Insert a workflow, task or action execution (``created_at`` defaults to now).

        Raises:
            StoreError: the id exists, a referenced parent is missing, or a field is not JSON-able.
        """
        table = _table_of(record)
        row = self._codecs[table.name].insert_row(record, self._clock.now)
        self._execute(self._sql[f"insert {table.name}"], row)

    def update(self, record: Record, fields: Sequence[str]) -> None:
        """Write ``fields`` of ``record`` (matched by id) and its ``updated_at``.

        Raises:
            NotFoundError: no record with that id.
            InputError: an unknown field name.
        """
        table = _table_of(record)
        names, values = self._codecs[table.name].update_values(record, fields, self._clock.now)
        key = (table.name, names)
        sql = self._update_sql.get(key)
        if sql is None:
            sql = self._update_statement(table, names)
        values.append(record.id)
        if not self._write(sql, values):
            raise _not_found(table, record.id)

    def _update_statement(self, table: TableSpec, names: tuple[str, ...]) -> Statement:
        with self._update_lock:  # the prepared name must stay unique per statement
            sql = self._update_sql.get((table.name, names))
            if sql is None:
                assignments = ", ".join(f"{quote(name)} = ?" for name in names)
                text = f'UPDATE {quote(table.name)} SET {assignments} WHERE "id" = ?'
                sql = self._dialect.statement(f"mc_update_{len(self._update_sql)}", text)
                self._update_sql[(table.name, names)] = sql
            return sql

    def get_workflow_execution(self, wf_ex_id: str) -> WorkflowExecution:
        """One workflow execution; NotFoundError if none."""
        record: WorkflowExecution = self._get(WORKFLOW_EXECUTIONS, wf_ex_id)
        return record

    def get_task_execution(self, task_ex_id: str) -> TaskExecution:
        """One task execution; NotFoundError if none."""
        record: TaskExecution = self._get(TASK_EXECUTIONS, task_ex_id)
        return record

    def get_action_execution(self, action_ex_id: str) -> ActionExecution:
        """One action execution; NotFoundError if none."""
        record: ActionExecution = self._get(ACTION_EXECUTIONS, action_ex_id)
        return record

    def _get(self, table: TableSpec, record_id: str, sql: Statement | None = None) -> Any:
        row = self._one(sql or self._sql[f"get {table.name}"], (record_id,))
        if row is None:
            raise _not_found(table, record_id)
        return self._codecs[table.name].record(row)

    def task_executions_of(self, wf_ex_id: str) -> list[TaskExecution]:
        """Every task execution of a workflow execution, oldest first (ties: insertion order)."""
        return self._children(TASK_EXECUTIONS, wf_ex_id)

    def action_executions_of(self, task_ex_id: str) -> list[ActionExecution]:
        """Every action execution of a task execution, oldest first (ties: insertion order)."""
        return self._children(ACTION_EXECUTIONS, task_ex_id)

    def _children(self, table: TableSpec, parent_id: str) -> list[Any]:
        record = self._codecs[table.name].record
        return [record(row) for row in self._all(self._sql[f"children {table.name}"], (parent_id,))]

    def list_workflow_executions(self, query: Query) -> list[WorkflowExecution]:
        """Workflow executions matching ``query``."""
        return self._list(WORKFLOW_EXECUTIONS, query)

    def list_task_executions(self, query: Query) -> list[TaskExecution]:
        """Task executions matching ``query``."""
        return self._list(TASK_EXECUTIONS, query)

    def list_action_executions(self, query: Query) -> list[ActionExecution]:
        """Action executions matching ``query``."""
        return self._list(ACTION_EXECUTIONS, query)

    def _list(self, table: TableSpec, query: Query) -> list[Any]:
        plan = make_plan(table, query)
        marker = None
        if plan.marker is not None:
            marker = self._one(self._sql[f"get {table.name}"], (plan.marker,))
            if marker is None:
                raise _not_found(table, plan.marker)
        sql, params = sqlquery.select_page(table, plan, marker, self._dialect.param, self._dialect.contains)
        record = self._codecs[table.name].record
        return [record(row) for row in self._all(self._dialect.sql(sql), params)]

    def delete_workflow_execution(self, wf_ex_id: str) -> None:
        """Delete a workflow execution, its tasks, their action executions and sub-workflows.

        Raises:
            NotFoundError: no such workflow execution.
        """
        sql = self._dialect.sql
        tasks_of = 'SELECT "id" FROM "task_executions" WHERE "workflow_execution_id" = ?'
        children = sql(f'SELECT "id" FROM "workflow_executions" WHERE "task_execution_id" IN ({tasks_of})')
        deletes = [
            sql(f'DELETE FROM "action_executions" WHERE "task_execution_id" IN ({tasks_of})'),
            sql('DELETE FROM "task_executions" WHERE "workflow_execution_id" = ?'),
            sql('DELETE FROM "workflow_executions" WHERE "id" = ?'),
        ]
        with self.atomic():
            if self._one(self._sql[f"get {WORKFLOW_EXECUTIONS.name}"], (wf_ex_id,)) is None:
                raise _not_found(WORKFLOW_EXECUTIONS, wf_ex_id)
            tree = [wf_ex_id]
            for current in tree:  # grows while it is walked: breadth-first over sub-workflows
                tree.extend(row[0] for row in self._all(children, (current,)))
            for current in reversed(tree):
                for statement in deletes:
                    self._write(statement, (current,))

    def unfinished_action_executions(self) -> list[ActionExecution]:
        """Action executions still RUNNING or PAUSED, oldest first."""
        record = self._codecs[ACTION_EXECUTIONS.name].record
        return [record(row) for row in self._all(self._sql["unfinished"], ())]

    def raise_dispatch(self, action_ex_ids: Sequence[str], dispatch: int) -> None:
        """Raise ``dispatch`` of these unfinished action executions to ``dispatch`` (never lower it).

        One statement for all ids; ``updated_at`` is left alone. Joins an open :meth:`atomic`,
        else commits at once.
        """
        if not action_ex_ids:
            return
        with self._writing():
            self._write(
                self._sql["raise dispatch"], (dispatch, self._dialect.id_list(action_ex_ids), dispatch)
            )

    # -- timers -------------------------------------------------------------------
    def insert_timer(self, timer: Timer) -> None:
        """Add a timer (``created_at`` defaults to now); joins an open :meth:`atomic`.

        Raises:
            StoreError: a timer with that id exists, or the payload is not JSON-able.
        """
        row = self._codecs[TIMERS.name].insert_row(timer, self._clock.now)
        with self._writing():
            self._execute(self._sql[f"insert {TIMERS.name}"], row)

    def delete_timer(self, timer_id: str) -> bool:
        """Delete one timer, claimed or not; False if it was gone already."""
        with self._writing():
            return self._write(self._sql["delete timer"], (timer_id,)) > 0

    def delete_timers(self, target_id: str, kind: str | None = None) -> int:
        """Delete the timers of ``target_id`` (of every kind, or of ``kind``); how many."""
        with self._writing():
            if kind is None:
                return self._write(self._sql["delete timers of"], (target_id,))
            return self._write(self._sql["delete timers of kind"], (target_id, kind))

    def claim_due_timers(
        self, now: dt.datetime, owner: str, lease_until: dt.datetime, limit: int
    ) -> list[Timer]:
        """Claim up to ``limit`` due timers for ``owner`` until ``lease_until``, oldest due first.

        One statement, its own transaction (it joins an open :meth:`atomic`): it walks the
        (due_at, seq) index from its start and stops after ``limit`` claimable rows.
        PostgreSQL skips rows another claimer has locked; SQLite holds the write lock.
        """
        if limit <= 0:
            return []
        time = self._encode_time
        params = (time(now), time(now), limit, owner, time(lease_until))
        with self._writing():
            rows = self._all(self._sql["claim timers"], params)
        rows.sort(key=lambda row: (row[1 + _DUE_AT], row[0]))  # RETURNING has no order
        record = self._codecs[TIMERS.name].record
        return [record(row[1:]) for row in rows]

    def next_timer_due(self) -> dt.datetime | None:
        """The earliest ``due_at`` of all timers (claimed ones included), or None."""
        row = self._one(self._sql["next timer due"], ())
        value = None if row is None else row[0]
        decode = self._dialect.datetime_out
        if value is None or decode is None:
            return value
        due: dt.datetime = decode(value)
        return due

    def count_timers(self) -> int:
        """How many timers are pending (claimed ones included)."""
        row = self._one(self._sql["count timers"], ())
        return int(row[0]) if row else 0


def _table_of(record: Any) -> TableSpec:
    table = EXECUTION_TABLES.get(type(record))
    if table is None:
        raise StoreError(f"Cannot store a {type(record).__name__}")
    return table


def _not_found(table: TableSpec, record_id: str) -> NotFoundError:
    return NotFoundError(f"{table.label} not found [id={record_id}]")


def _definition_not_found(identifier: str, namespace: str) -> NotFoundError:
    return NotFoundError(f"Workflow not found [workflow_identifier={identifier}, namespace={namespace}]")


def open_store(database_url: str, clock: Clock | None = None) -> SqlStore:
    """Open (and upgrade) the store at ``database_url``.

    Args:
        database_url: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or
            ``postgresql://user@host:port/dbname`` (any libpq URI, query parameters included).
        clock: see :class:`SqlStore`.

    Raises:
        InputError: the URL is not one of those.
        StoreError: the database cannot be opened or upgraded.
    """
    if database_url.startswith("sqlite:///"):
        path = database_url.removeprefix("sqlite:///")
        if not path or path.startswith(":memory:") or path.startswith("file:"):
            raise InputError("An SQLite store needs a file: sqlite:///<path>")
        database: peewee.Database = peewee.SqliteDatabase(
            path, pragmas=SQLITE_PRAGMAS, timeout=SQLITE_BUSY_TIMEOUT_S
        )
    elif database_url.startswith(("postgresql://", "postgres://")):
        database = peewee.PostgresqlDatabase("postgresql://" + database_url.split("://", 1)[1])
    else:
        raise InputError(
            f"Unsupported database URL {database_url!r}: use sqlite:///<path> or postgresql://<user>@<host>/<db>"
        )
    store = SqlStore(database, clock)
    try:
        store.upgrade()
    except MistralError:
        with contextlib.suppress(StoreError):
            store.close()
        raise
    return store
