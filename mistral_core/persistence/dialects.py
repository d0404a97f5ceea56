"""What differs between the SQL backends, and the translation of their errors.

Only :mod:`mistral_core.persistence.sql` uses this module.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import importlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any

import peewee

from mistral_core.errors import InputError, StoreError, StoreUnavailable, TransientStoreError
from mistral_core.persistence.columns import Codec, Column, Kind, TableSpec


def _driver_errors() -> tuple[
    tuple[type[BaseException], ...], tuple[type[BaseException], ...], tuple[type[BaseException], ...]
]:
    """(every database error, the integrity errors, the lost-connection errors) of the drivers
    that are installed."""
    errors: list[type[BaseException]] = [peewee.PeeweeException, sqlite3.Error, ValueError]
    integrity: list[type[BaseException]] = [peewee.IntegrityError, sqlite3.IntegrityError]
    lost: list[type[BaseException]] = [peewee.OperationalError, peewee.InterfaceError]
    try:
        psycopg2 = importlib.import_module("psycopg2")
    except ImportError:
        pass
    else:
        errors.append(psycopg2.Error)
        integrity.append(psycopg2.IntegrityError)
        lost += [psycopg2.OperationalError, psycopg2.InterfaceError]
    return tuple(errors), tuple(integrity), tuple(lost)


# ValueError is included because drivers raise it for values they cannot send (a NUL in a string).
DB_ERRORS, INTEGRITY_ERRORS, LOST_CONNECTION_ERRORS = _driver_errors()

#: PostgreSQL's SQLSTATE classes of a server that cannot serve now: connection exceptions (08),
#: insufficient resources (53: disk full, out of memory, too many connections), shutdown (57P).
PG_UNAVAILABLE = ("08", "53", "57P")
#: SQLite's result codes (names, Python >= 3.11) of a database that cannot be written right now.
SQLITE_UNAVAILABLE = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN")


class IntegrityFailure(StoreError):
    """A constraint failed (duplicate id, missing referenced row)."""


#: PostgreSQL's SQLSTATEs for "try the transaction again": deadlock, serialization failure.
TRANSIENT_PGCODES = frozenset({"40P01", "40001"})


def store_error(exc: BaseException) -> StoreError:
    """The store's error for a driver's: integrity, "try again", "unavailable now", or other."""
    text = " ".join(str(exc).split())
    if isinstance(exc, INTEGRITY_ERRORS):
        return IntegrityFailure(f"Database integrity error: {text}")
    if getattr(exc, "pgcode", None) in TRANSIENT_PGCODES or (
        isinstance(exc, sqlite3.OperationalError) and "locked" in text
    ):
        return TransientStoreError(f"Database busy, try again: {text}")
    if _unavailable(exc):
        return StoreUnavailable(f"Database unavailable: {text}")
    return StoreError(f"Database error: {text}")


def _unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached or written now (not: the SQL is wrong)."""
    name = getattr(exc, "sqlite_errorname", None)
    if isinstance(name, str):
        return name.startswith(SQLITE_UNAVAILABLE)
    code = getattr(exc, "pgcode", None)
    if code:
        return str(code).startswith(PG_UNAVAILABLE)
    return isinstance(exc, LOST_CONNECTION_ERRORS)


@dataclasses.dataclass(frozen=True, slots=True)
class Prepared:
    """A PostgreSQL statement planned once per connection (PREPARE), then run with EXECUTE."""

    name: str
    prepare: str
    execute: str


Statement = str | Prepared


@dataclasses.dataclass(frozen=True)
class Dialect:
    """What differs between SQLite and PostgreSQL."""

    begin: str
    #: Counts the tables called ``?`` where the store's tables live.
    table_exists: str
    lock_suffix: str
    contains: str
    placeholder: str
    collation: str | None
    write_lock: contextlib.AbstractContextManager[Any]
    #: ``{col}`` is one of the values of a list passed as ONE parameter (so one statement
    #: text, prepared once, serves lists of any length); ``id_list`` makes that parameter.
    one_of: str
    id_list: Callable[[Sequence[str]], Any]
    #: Appended to the SELECT of due timers: what keeps two engines from claiming one timer.
    skip_locked: str
    datetime_in: Callable[[Any], Any] | None = None
    datetime_out: Callable[[Any], Any] | None = None
    #: BEGIN goes with the transaction's first statement (one round trip less), not alone.
    begin_with_first: bool = False

    def sql(self, text: str) -> str:
        """``text`` with this backend's placeholders (``?`` is written everywhere)."""
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def statement(self, name: str, text: str) -> Statement:
        """A statement run often: PostgreSQL plans it once per connection (SQLite's driver caches it)."""
        if self.placeholder == "?":
            return text
        parts = text.split("?")
        numbered = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))
        marks = ", ".join("%s" for _ in parts[1:])
        return Prepared(
            name, f"PREPARE {name} AS {numbered}", f"EXECUTE {name} ({marks})" if marks else f"EXECUTE {name}"
        )

    def codec(self, table: TableSpec) -> Codec:
        """The record/row codec of ``table`` on this backend."""
        if self.datetime_in is None or self.datetime_out is None:
            return Codec(table)
        return Codec(table, self.datetime_in, self.datetime_out)

    def param(self, column: Column, value: Any) -> Any:
        """A neutral filter value as a parameter of this backend."""
        if column.kind is Kind.DATETIME and self.datetime_in is not None and value is not None:
            return self.datetime_in(value)
        return value


_FILE_LOCKS: dict[str, threading.RLock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def _file_lock(path: str) -> threading.RLock:
    """The one write lock of a database file in this process."""
    key = os.path.realpath(path)
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(key, threading.RLock())


def sqlite_datetime_in(value: dt.datetime) -> str:
    # Fixed-width text keeps the lexical order of the column equal to time order.
    return value.isoformat(sep=" ", timespec="microseconds")


def _json_list(values: Sequence[str]) -> str:
    return json.dumps(list(values), separators=(",", ":"))


def dialect_of(database: peewee.Database) -> Dialect:
    if isinstance(database, peewee.SqliteDatabase):
        return Dialect(
            begin="BEGIN IMMEDIATE",
            table_exists="SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
            lock_suffix="",
            contains="instr({col}, ?) > 0",
            placeholder="?",
            collation=None,
            write_lock=_file_lock(database.database),
            one_of='{col} IN (SELECT "value" FROM json_each(?))',
            id_list=_json_list,
            # BEGIN IMMEDIATE already holds the only write lock of the database.
            skip_locked="",
            datetime_in=sqlite_datetime_in,
            datetime_out=dt.datetime.fromisoformat,
        )
    if isinstance(database, peewee.PostgresqlDatabase):
        return Dialect(
            begin="BEGIN ISOLATION LEVEL READ COMMITTED",
            table_exists="SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name = ?",
            lock_suffix=" FOR UPDATE",
            contains="strpos({col}, ?) > 0",
            placeholder="%s",
            collation='"C"',
            write_lock=contextlib.nullcontext(),
            one_of="{col} = ANY(?)",
            id_list=list,
            skip_locked=" FOR UPDATE SKIP LOCKED",
            begin_with_first=True,
        )
    raise InputError(f"Unsupported database: {type(database).__name__}")


SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    # A checkpoint costs two fsyncs; every 10,000 pages instead of 1,000 makes a
    # write transaction ~1.5x faster on average, for a WAL file of up to ~40 MB.
    "wal_autocheckpoint": 10000,
    # 1 MiB of page cache per connection (one connection per thread that uses the store):
    # the OS caches the file anyway, and a larger cache per connection made the server's
    # memory grow with the database and the thread count (32 MiB x 32 threads).
    "cache_size": -1024,
}
SQLITE_BUSY_TIMEOUT_S = 30.0
