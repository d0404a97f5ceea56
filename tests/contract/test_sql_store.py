"""What only the SQL stores have: URLs, connections per thread (the schema: test_migrations.py)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mistral_core.errors import InputError, NotFoundError, StoreError
from mistral_core.persistence import SqlStore, open_store


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database of each SQL backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    pg_url: str = request.getfixturevalue("pg_url")
    return pg_url


@pytest.fixture
def sql_store(url: str) -> Iterator[SqlStore]:
    """An open store at ``url``, with its schema."""
    store = open_store(url)
    store.upgrade()
    yield store
    store.close()


def raw(url: str) -> Any:
    """A plain DB-API connection (autocommit) to the database of ``url``."""
    if url.startswith("sqlite:///"):
        return sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


def scalar(url: str, sql: str) -> Any:
    """The one value ``sql`` selects."""
    conn = raw(url)
    try:
        cursor = conn.cursor()
        cursor.execute(sql)
        return cursor.fetchone()[0]
    finally:
        conn.close()


def execute(url: str, sql: str) -> None:
    """Run ``sql`` outside the store."""
    conn = raw(url)
    try:
        conn.cursor().execute(sql)
    finally:
        conn.close()


def test_database_failures_are_store_errors(sql_store: SqlStore, url: str, rec: Any) -> None:
    wf_ex = rec.wf()
    sql_store.insert(wf_ex)
    execute(url, 'DROP TABLE "action_executions"')
    execute(url, 'DROP TABLE "task_executions"')
    with pytest.raises(StoreError) as caught:
        sql_store.task_executions_of(wf_ex.id)
    assert type(caught.value) is StoreError
    with pytest.raises(StoreError), sql_store.atomic():
        sql_store.lock_workflow_execution(wf_ex.id)
        sql_store.task_executions_of(wf_ex.id)
    assert sql_store.get_workflow_execution(wf_ex.id).id == wf_ex.id


def test_reads_do_not_wait_for_an_open_write(sql_store: SqlStore, rec: Any) -> None:
    existing, pending = rec.wf(), rec.wf()
    sql_store.insert(existing)
    written, read = threading.Event(), threading.Event()
    seen: list[Any] = []

    def writer() -> None:
        with sql_store.atomic():
            sql_store.insert(pending)
            written.set()
            read.wait(10)
        sql_store.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert written.wait(10)
    seen.append(sql_store.get_workflow_execution(existing.id).id)
    with pytest.raises(NotFoundError):
        sql_store.get_workflow_execution(pending.id)
    read.set()
    thread.join()
    assert seen == [existing.id]
    assert sql_store.get_workflow_execution(pending.id).id == pending.id


def test_close_inside_atomic_is_refused(sql_store: SqlStore) -> None:
    with pytest.raises(StoreError, match="atomic"), sql_store.atomic():
        sql_store.close()


@pytest.mark.postgres
def test_a_lost_postgresql_connection_is_replaced_and_the_read_answered(pg_url: str, rec: Any) -> None:
    name = f"mc_lost_{rec.new_id()[:8]}"
    store = open_store(f"{pg_url}&application_name={name}")
    store.upgrade()
    try:
        wf_ex = rec.wf()
        store.insert(wf_ex)
        execute(
            pg_url,
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{name}'",
        )
        assert store.get_workflow_execution(wf_ex.id).id == wf_ex.id  # read again on a fresh one
        execute(
            pg_url,
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{name}'",
        )
        with pytest.raises(StoreError), store.atomic():  # inside a transaction: not repeated
            store.get_workflow_execution(wf_ex.id)
        assert store.get_workflow_execution(wf_ex.id).id == wf_ex.id
    finally:
        store.close()


@pytest.mark.parametrize(
    "bad_url", ["mysql://root@localhost/db", "sqlite:///", "sqlite:///:memory:", "sqlite://relative.db", "x"]
)
def test_unsupported_urls(bad_url: str) -> None:
    with pytest.raises(InputError):
        open_store(bad_url)


def test_relative_sqlite_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///data/relative.db")
    store.upgrade()
    store.close()
    assert (tmp_path / "data" / "relative.db").is_file()
    assert scalar(f"sqlite:///{tmp_path / 'data' / 'relative.db'}", "PRAGMA journal_mode") == "wal"


def test_sqlite_file_that_cannot_be_opened(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        open_store(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")


def test_unreachable_postgresql() -> None:
    pytest.importorskip("psycopg2")
    with pytest.raises(StoreError):
        open_store("postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=2")
