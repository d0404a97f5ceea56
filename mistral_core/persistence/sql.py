"""SqlStore: the ExecutionStore over SQLite (embedded default) or PostgreSQL.

The store is assembled from parts, each a module of one responsibility over
:class:`~.sqlbase.SqlBase` (connections, transactions): executions and
spec snapshots here, timers in :mod:`.sqltimers`, named definitions in
:mod:`.sqldefinitions`, API keys in :mod:`.sqlkeys`, callback tokens and push history in
:mod:`.sqlcallbacks`, approval responses in :mod:`.sqlapprovals`, failed notification
deliveries in :mod:`.sqlnotifications`, the maintenance mode in :mod:`.sqlmaintenance`, the
inventory of waits in :mod:`.sqlwaits`, the schema and its upgrade in :mod:`.sqlschema`.
The hot path (insert, update, get, children, lock, raise_dispatch, timers)
is prepared raw SQL, no ORM objects. A workflow execution is locked with
``SELECT ... FOR UPDATE`` on PostgreSQL, by the database's write lock on SQLite.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import peewee

from mistral_core.engine.ports import Clock, Record, Written
from mistral_core.errors import InputError, MistralError, NotFoundError, StoreError
from mistral_core.model import (
    DISPATCH_QUEUED,
    DISPATCH_STARTED,
    ActionExecution,
    HistoryEntry,
    State,
    TaskExecution,
    WorkflowExecution,
)
from mistral_core.persistence.columns import (
    ACTION_EXECUTIONS,
    EXECUTION_TABLES,
    TASK_EXECUTIONS,
    WORKFLOW_EXECUTIONS,
    TableSpec,
    dumps,
    not_found,
)
from mistral_core.persistence.dialects import (
    DB_ERRORS,
    SQLITE_BUSY_TIMEOUT_S,
    SQLITE_PRAGMAS,
    Statement,
    store_error,
)
from mistral_core.persistence.eventtriggers import EventTriggerMethods
from mistral_core.persistence.executions import ExecutionReads
from mistral_core.persistence.migrations import LATEST_VERSION
from mistral_core.persistence.sqlactivity import SqlActivity
from mistral_core.persistence.sqlapprovals import SqlApprovals
from mistral_core.persistence.sqlcallbacks import SqlCallbacks
from mistral_core.persistence.sqldefinitions import SqlDefinitions
from mistral_core.persistence.sqlkeys import SqlKeys
from mistral_core.persistence.sqlmaintenance import SqlMaintenance
from mistral_core.persistence.sqlmembers import SqlMembers
from mistral_core.persistence.sqlnotifications import SqlNotifications
from mistral_core.persistence.sqlquery import quote, select_list
from mistral_core.persistence.sqlschema import SchemaVersionError, SqlSchema, newer_error
from mistral_core.persistence.sqltimers import SqlTimers
from mistral_core.persistence.sqlwaits import SqlWaits
from mistral_core.persistence.tables import DISPATCHABLE, UNFINISHED_ACTIONS

LOG = logging.getLogger(__name__)


class SqlStore(
    SqlWaits,
    SqlActivity,
    SqlCallbacks,
    SqlNotifications,
    SqlMembers,
    SqlMaintenance,
    SqlTimers,
    SqlDefinitions,
    SqlKeys,
    SqlApprovals,
    SqlSchema,
    ExecutionReads,
    EventTriggerMethods,
):
    """An :class:`~mistral_core.engine.ports.ExecutionStore` in SQLite or PostgreSQL.

    Usually made by :func:`open_store`. Each thread uses its own connection;
    :meth:`close` closes the calling thread's.

    Args:
        database: a peewee ``SqliteDatabase`` or ``PostgresqlDatabase`` (not yet connected).
        clock: gives ``created_at``/``updated_at`` when a record has none.
    """

    def _statement_texts(self) -> dict[str, str]:
        sql = super()._statement_texts()
        sql["lock"] = sql[f"get {WORKFLOW_EXECUTIONS.name}"] + self._dialect.lock_suffix
        # The workflow execution comes first in FROM: PostgreSQL locks its row first, in the
        # order every transaction locks the two (an action's row under its execution's lock).
        both = ", ".join(
            [
                *(f"w.{quote(n)}" for n in WORKFLOW_EXECUTIONS.names),
                *(f"a.{quote(n)}" for n in ACTION_EXECUTIONS.names),
            ]
        )
        sql["lock with action"] = (
            f"SELECT {both} FROM {quote(WORKFLOW_EXECUTIONS.name)} w "
            f'JOIN {quote(ACTION_EXECUTIONS.name)} a ON a."workflow_execution_id" = w."id" '
            f'WHERE a."id" = ?{self._dialect.lock_suffix}'
        )
        sql["lock many"] = (
            f"SELECT {select_list(WORKFLOW_EXECUTIONS)} FROM {quote(WORKFLOW_EXECUTIONS.name)} "
            f'WHERE {self._dialect.one_of.format(col=quote("id"))} ORDER BY "id"{self._dialect.lock_suffix}'
        )
        sql["lock versions"] = (
            f'SELECT "id", "version" FROM {quote(WORKFLOW_EXECUTIONS.name)} '
            f'WHERE {self._dialect.one_of.format(col=quote("id"))} ORDER BY "id"{self._dialect.lock_suffix}'
        )
        for table, parent in (
            (TASK_EXECUTIONS, "workflow_execution_id"),
            (ACTION_EXECUTIONS, "task_execution_id"),
        ):
            sql[f"children {table.name}"] = (
                f'SELECT {select_list(table)} FROM {quote(table.name)} WHERE "{parent}" = ? '
                'ORDER BY "created_at", "seq"'
            )
        sql["tasks of many"] = (
            f"SELECT {select_list(TASK_EXECUTIONS)} FROM {quote(TASK_EXECUTIONS.name)} "
            f"WHERE {self._dialect.one_of.format(col=quote('workflow_execution_id'))} "
            'ORDER BY "created_at", "seq"'
        )
        sql["actions by id"] = (
            f"SELECT {select_list(ACTION_EXECUTIONS)} FROM {quote(ACTION_EXECUTIONS.name)} "
            f"WHERE {self._dialect.one_of.format(col=quote('id'))}"
        )
        sql["unfinished"] = (
            f"SELECT {select_list(ACTION_EXECUTIONS)} FROM {quote(ACTION_EXECUTIONS.name)} "
            f'WHERE {UNFINISHED_ACTIONS} ORDER BY "created_at", "seq"'
        )
        sql["raise dispatch"] = (
            f'UPDATE {quote(ACTION_EXECUTIONS.name)} SET "dispatch" = ? '
            f'WHERE {self._dialect.one_of.format(col=quote("id"))} AND "dispatch" < ? AND {DISPATCHABLE}'
        )
        sql["claim dispatch"] = (
            f'UPDATE {quote(ACTION_EXECUTIONS.name)} SET "dispatch" = {DISPATCH_STARTED}, "runner_id" = ? '
            f"WHERE {self._dialect.one_of.format(col=quote('id'))} AND {DISPATCHABLE} AND "
            f'("dispatch" = {DISPATCH_QUEUED} OR ("dispatch" = {DISPATCH_STARTED} AND "runner_id" = ?)) '
            'RETURNING "id"'
        )
        return sql

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

    def lock_action_with_execution(
        self, action_ex_id: str
    ) -> tuple[WorkflowExecution, ActionExecution] | None:
        """Inside :meth:`atomic`: lock an action execution and its workflow execution (one
        statement) and return both fresh; None if there is no such action or it has none.

        Raises:
            StoreError: called outside :meth:`atomic`.
        """
        if not getattr(self._local, "depth", 0):
            raise StoreError("lock_action_with_execution() needs an open atomic() block")
        row = self._one(self._sql["lock with action"], (action_ex_id,))
        if row is None:
            return None
        split = len(WORKFLOW_EXECUTIONS.names)
        wf_ex: WorkflowExecution = self._codecs[WORKFLOW_EXECUTIONS.name].record(row[:split])
        action_ex: ActionExecution = self._codecs[ACTION_EXECUTIONS.name].record(row[split:])
        return wf_ex, action_ex

    def lock_workflow_executions(self, wf_ex_ids: Sequence[str]) -> list[WorkflowExecution]:
        """Inside :meth:`atomic`: lock these workflow executions (in the order of their ids, one
        statement) until commit; those that exist, fresh, in the order of their ids.

        Raises:
            StoreError: called outside :meth:`atomic`.
        """
        if not getattr(self._local, "depth", 0):
            raise StoreError("lock_workflow_executions() needs an open atomic() block")
        return self._records_of(WORKFLOW_EXECUTIONS, "lock many", wf_ex_ids)

    def lock_workflow_versions(self, wf_ex_ids: Sequence[str]) -> dict[str, int]:
        """Inside :meth:`atomic`: lock these workflow executions as :meth:`lock_workflow_executions`
        does; the version of each that exists.

        Raises:
            StoreError: called outside :meth:`atomic`.
        """
        if not getattr(self._local, "depth", 0):
            raise StoreError("lock_workflow_versions() needs an open atomic() block")
        if not wf_ex_ids:
            return {}
        rows = self._all(self._sql["lock versions"], (self._dialect.id_list(sorted(set(wf_ex_ids))),))
        return {str(wf_ex_id): int(version) for wf_ex_id, version in rows}

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

    # -- event triggers (the primitives of EventTriggerMethods) ---------------------
    def _insert_event_record(self, table: TableSpec, record: Any) -> None:
        row = self._codecs[table.name].insert_row(record, self._clock.now)
        with self._writing():
            self._execute(self._sql[f"insert {table.name}"], row)

    def _delete_event_records(self, table: TableSpec, column: str, value: Any, before: bool = False) -> int:
        op = "<" if before else "="
        param = self._dialect.param(table.columns[table.index_of(column)], value)
        with self._writing():
            cursor = self._execute(
                self._dialect.sql(f"DELETE FROM {quote(table.name)} WHERE {quote(column)} {op} ?"), (param,)
            )
        return int(cursor.rowcount or 0)

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
        self._update_record(_table_of(record), record, fields)

    def write(self, changes: Sequence[tuple[Written, Sequence[str] | None]]) -> None:
        """Inside :meth:`atomic`: insert (fields None) or update (those fields and ``updated_at``)
        each record, in this order; on PostgreSQL in one round trip. An update of a record that
        does not exist is not reported: the caller holds the lock of its workflow execution.

        Raises:
            StoreError: an id exists, a referenced parent is missing, a field is not JSON-able.
            InputError: an unknown field name.
        """
        statements: list[tuple[Statement, Sequence[Any]]] = []
        for record, fields in changes:
            if isinstance(record, HistoryEntry):
                statements.append(
                    (self._sql["add history"], self._history_codec.insert_row(record, self._clock.now))
                )
                continue
            table = _table_of(record)
            if fields is None:
                row = self._codecs[table.name].insert_row(record, self._clock.now)
                statements.append((self._sql[f"insert {table.name}"], row))
            else:
                statements.append(self._update_of(table, record, fields))
        with self._writing():
            self._execute_all(statements)

    def task_executions_of(self, wf_ex_id: str) -> list[TaskExecution]:
        """Every task execution of a workflow execution, oldest first (ties: insertion order)."""
        return self._children(TASK_EXECUTIONS, wf_ex_id)

    def action_executions_of(self, task_ex_id: str) -> list[ActionExecution]:
        """Every action execution of a task execution, oldest first (ties: insertion order)."""
        return self._children(ACTION_EXECUTIONS, task_ex_id)

    def task_executions_of_many(self, wf_ex_ids: Sequence[str]) -> list[TaskExecution]:
        """Every task execution of these workflow executions, oldest first (one statement)."""
        return self._records_of(TASK_EXECUTIONS, "tasks of many", wf_ex_ids)

    def action_executions_by_id(self, action_ex_ids: Sequence[str]) -> list[ActionExecution]:
        """Those of these action executions that exist, in no particular order (one statement)."""
        return self._records_of(ACTION_EXECUTIONS, "actions by id", action_ex_ids)

    def count_task_states(self, wf_ex_ids: Sequence[str]) -> dict[State, int]:
        """How many task executions of these workflow executions are in each state (one grouped
        count over the index of ``workflow_execution_id``; no task is read)."""
        ids = list(dict.fromkeys(wf_ex_ids))
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        sql = self._dialect.sql(
            f'SELECT "state", COUNT(*) FROM "task_executions" WHERE "workflow_execution_id" IN ({marks}) '
            'GROUP BY "state"'
        )
        return {State(state): int(count) for state, count in self._all(sql, ids)}

    def _records_of(self, table: TableSpec, statement: str, ids: Sequence[str]) -> list[Any]:
        """The records of ``table`` that the named statement finds for these ids (one parameter:
        the ids, distinct and sorted, so that rows are locked in the order of their ids)."""
        if not ids:
            return []
        record = self._codecs[table.name].record
        rows = self._all(self._sql[statement], (self._dialect.id_list(sorted(set(ids))),))
        return [record(row) for row in rows]

    def _children(self, table: TableSpec, parent_id: str) -> list[Any]:
        record = self._codecs[table.name].record
        return [record(row) for row in self._all(self._sql[f"children {table.name}"], (parent_id,))]

    def delete_workflow_execution(self, wf_ex_id: str) -> None:
        """Delete a workflow execution, its tasks, their action executions (and their histories),
        its failed notification deliveries, and sub-workflows.

        Raises:
            NotFoundError: no such workflow execution.
        """
        sql = self._dialect.sql
        tasks_of = 'SELECT "id" FROM "task_executions" WHERE "workflow_execution_id" = ?'
        children = sql(f'SELECT "id" FROM "workflow_executions" WHERE "task_execution_id" IN ({tasks_of})')
        actions_of = f'SELECT "id" FROM "action_executions" WHERE "task_execution_id" IN ({tasks_of})'
        deletes = [
            sql('DELETE FROM "notification_deliveries" WHERE "workflow_execution_id" = ?'),
            sql(f'DELETE FROM "action_history" WHERE "action_execution_id" IN ({actions_of})'),
            sql(f'DELETE FROM "action_executions" WHERE "task_execution_id" IN ({tasks_of})'),
            sql('DELETE FROM "task_executions" WHERE "workflow_execution_id" = ?'),
            sql('DELETE FROM "workflow_executions" WHERE "id" = ?'),
        ]
        with self.atomic():
            if self._one(self._sql[f"get {WORKFLOW_EXECUTIONS.name}"], (wf_ex_id,)) is None:
                raise not_found(WORKFLOW_EXECUTIONS, wf_ex_id)
            tree = [wf_ex_id]
            for current in tree:  # grows while it is walked: breadth-first over sub-workflows
                tree.extend(row[0] for row in self._all(children, (current,)))
            for current in reversed(tree):
                for statement in deletes:
                    self._write(statement, (current,))

    def delete_action_execution(self, action_ex_id: str) -> None:
        """Delete an action execution and its history.

        Raises:
            NotFoundError: no such action execution.
        """
        sql = self._dialect.sql
        with self.atomic():
            if self._one(self._sql[f"get {ACTION_EXECUTIONS.name}"], (action_ex_id,)) is None:
                raise not_found(ACTION_EXECUTIONS, action_ex_id)
            self._write(sql('DELETE FROM "action_history" WHERE "action_execution_id" = ?'), (action_ex_id,))
            self._write(sql('DELETE FROM "action_executions" WHERE "id" = ?'), (action_ex_id,))

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

    def claim_dispatch(self, action_ex_ids: Sequence[str], runner_id: str) -> list[str]:
        """Mark these action executions STARTED by ``runner_id`` where they are still QUEUED (or
        were so marked by ``runner_id`` already); the ids marked. One statement; joins an open
        :meth:`atomic`, else commits at once."""
        if not action_ex_ids:
            return []
        with self._writing():
            cursor = self._execute(
                self._sql["claim dispatch"], (runner_id, self._dialect.id_list(action_ex_ids), runner_id)
            )
            try:
                return [str(row[0]) for row in cursor.fetchall()]
            except DB_ERRORS as exc:
                raise store_error(exc) from exc


def _table_of(record: Any) -> TableSpec:
    table = EXECUTION_TABLES.get(type(record))
    if table is None:
        raise StoreError(f"Cannot store a {type(record).__name__}")
    return table


#: What to do when a PostgreSQL URL is given and its driver is not installed.
POSTGRESQL_DRIVER_MISSING = (
    "PostgreSQL needs its driver, psycopg2, which is not installed: install the extra "
    "'postgresql' (in a checkout: .venv/bin/pip install -e '.[postgresql]'; "
    "elsewhere: pip install 'mistral-core[postgresql]')"
)


def open_store(database_url: str, clock: Clock | None = None) -> SqlStore:
    """Open the store at ``database_url`` as it is: its schema is neither created nor upgraded
    (see :meth:`SqlStore.upgrade` and :func:`open_serving_store`).

    Args:
        database_url: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or
            ``postgresql://user@host:port/dbname`` (any libpq URI, query parameters included).
        clock: see :class:`SqlStore`.

    Raises:
        InputError: the URL is not one of those, or the PostgreSQL driver is not installed.
        StoreError: the database cannot be opened.
    """
    if database_url.startswith("sqlite:///"):
        path = database_url.removeprefix("sqlite:///")
        if not path or path.startswith(":memory:") or path.startswith("file:"):
            raise InputError("An SQLite store needs a file: sqlite:///<path>")
        database: peewee.Database = peewee.SqliteDatabase(
            path, pragmas=SQLITE_PRAGMAS, timeout=SQLITE_BUSY_TIMEOUT_S
        )
    elif database_url.startswith(("postgresql://", "postgres://")):
        try:
            importlib.import_module("psycopg2")
        except ImportError:
            raise InputError(POSTGRESQL_DRIVER_MISSING) from None
        database = peewee.PostgresqlDatabase("postgresql://" + database_url.split("://", 1)[1])
    else:
        raise InputError(
            f"Unsupported database URL {database_url!r}: use sqlite:///<path> or postgresql://<user>@<host>/<db>"
        )
    store = SqlStore(database, clock)
    try:
        store.schema_version()  # connects: a database that cannot be opened fails here
    except MistralError:
        with contextlib.suppress(StoreError):
            store.close()
        raise
    return store


def open_serving_store(database_url: str, upgrade: bool = False, clock: Clock | None = None) -> SqlStore:
    """Open the store a server runs on, once its schema is the one this code works with.

    An empty database gets the schema (a fresh install's first start); an older one is
    upgraded only with ``upgrade``; a newer one is refused.

    Raises:
        SchemaVersionError: older without ``upgrade`` (the message names ``db upgrade``), or newer.
        InputError, StoreError: see :func:`open_store` and :meth:`SqlStore.upgrade`.
    """
    store = open_store(database_url, clock)
    try:
        version = store.schema_version()
        if version > LATEST_VERSION:
            raise newer_error(version)
        if 0 < version < LATEST_VERSION and not upgrade:
            raise SchemaVersionError(
                f"database schema version {version} is older than this mistral-core ({LATEST_VERSION}): "
                f"run: mistral-core db upgrade --database-url {display_url(database_url)} "
                "(or start with --upgrade)"
            )
        if version < LATEST_VERSION:
            done = store.upgrade()  # another process may have done it meanwhile: then it says so
            level = logging.WARNING if done.before and done.applied else logging.INFO
            for line in done.lines():
                LOG.log(level, "%s: %s", display_url(database_url), line)
    except MistralError:
        with contextlib.suppress(StoreError):
            store.close()
        raise
    return store


def display_url(database_url: str) -> str:
    """``database_url`` with its password, if any, replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(database_url)
    if not parts.password:
        return database_url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"{parts.username}:***@{host}", parts.path, parts.query, parts.fragment))
