"""The schema of the SQL stores: its version, the numbered steps, the upgrade (SQLite and PostgreSQL).

Schemas are compared through the database's catalog (columns, types, nullability, defaults,
collations, keys, indexes and their predicates), not through the DDL text that made them.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peewee
import pytest

from mistral_core.errors import StoreError
from mistral_core.model import Query
from mistral_core.persistence import open_serving_store, open_store, sqlschema
from mistral_core.persistence.dialects import dialect_of
from mistral_core.persistence.migrations import LATEST_VERSION, STEPS, MigrationContext, Step
from mistral_core.persistence.sqlschema import SchemaVersionError
from mistral_core.persistence.tables import build_models
from tests.contract.conftest import pg_schema
from tests.fixtures.databases import copy_v010_sqlite, load_v010_postgresql

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases of one backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
        return
    with pg_schema() as (first, _), pg_schema() as (second, _):
        yield first, second


@pytest.fixture
def url(urls: tuple[str, str]) -> str:
    """One empty database."""
    return urls[0]


@pytest.fixture
def v010_url(urls: tuple[str, str], tmp_path: Path) -> str:
    """A database written by mistral-core 0.1.0 (tests/fixtures), a copy of it."""
    if urls[0].startswith("sqlite"):
        return f"sqlite:///{copy_v010_sqlite(tmp_path)}"
    load_v010_postgresql(urls[0])
    return urls[0]


# -- reading a schema ------------------------------------------------------------------------------


def connect(url: str) -> Any:
    """A plain DB-API connection (autocommit) to ``url``."""
    if url.startswith("sqlite:///"):
        return sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """What ``sql`` selects."""
    conn = connect(url)
    try:
        cursor = conn.cursor()
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        conn.close()


def table_count(url: str) -> int:
    """How many tables the database of ``url`` has."""
    if url.startswith("sqlite"):
        return int(rows(url, "SELECT count(*) FROM sqlite_master WHERE type = 'table'")[0][0])
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
    return int(rows(url, sql)[0][0])


def catalog(url: str) -> dict[str, Any]:
    """The schema of ``url`` as its catalog describes it, independent of creation order and text."""
    return _sqlite_catalog(url) if url.startswith("sqlite") else _postgresql_catalog(url)


def _sqlite_catalog(url: str) -> dict[str, Any]:
    described: dict[str, Any] = {}
    tables = rows(url, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")
    for (table,) in tables:
        indexes = {}
        for _, name, unique, origin, partial in rows(url, f'PRAGMA index_list("{table}")'):
            columns = tuple(row[2] for row in rows(url, f'PRAGMA index_info("{name}")'))
            # Automatic indexes (primary keys, UNIQUE) are named by SQLite in creation order.
            indexes[name if origin == "c" else f"{origin} {columns}"] = (columns, unique, partial)
        described[table] = {
            "columns": sorted(row[1:] for row in rows(url, f'PRAGMA table_info("{table}")')),
            "references": sorted(row[2:5] for row in rows(url, f'PRAGMA foreign_key_list("{table}")')),
            "indexes": indexes,
        }
    described["index predicates"] = sorted(
        (name, sql.split(" WHERE ", 1)[1])
        for name, sql in rows(
            url, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
        if " WHERE " in sql
    )
    return described


def _postgresql_catalog(url: str) -> dict[str, Any]:
    (schema,) = rows(url, "SELECT current_schema()")[0]
    here = "= current_schema()"
    return {
        "columns": sorted(
            rows(
                url,
                "SELECT table_name, column_name, data_type, is_nullable, column_default, collation_name "
                f"FROM information_schema.columns WHERE table_schema {here}",
            )
        ),
        "indexes": sorted(
            (table, name, definition.replace(f"{schema}.", ""))
            for table, name, definition in rows(
                url, f"SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname {here}"
            )
        ),
        "constraints": sorted(
            rows(
                url,
                "SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid) FROM pg_constraint k "
                "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                f"WHERE n.nspname {here}",
            )
        ),
        "sequences": sorted(
            rows(
                url,
                "SELECT sequence_name, data_type FROM information_schema.sequences "
                f"WHERE sequence_schema {here}",
            )
        ),
    }


def peewee_database(url: str) -> peewee.Database:
    """A bare peewee database of ``url`` (no store around it)."""
    if url.startswith("sqlite:///"):
        return peewee.SqliteDatabase(url.removeprefix("sqlite:///"))
    return peewee.PostgresqlDatabase(url)


def step_context(database: peewee.Database) -> MigrationContext:
    """A migration context over ``database`` outside any store (statements run in autocommit)."""
    schema = None
    if isinstance(database, peewee.PostgresqlDatabase):
        schema = database.execute_sql("SELECT current_schema()").fetchone()[0]

    def execute(sql: str, params: Any) -> list[tuple[Any, ...]]:
        return list(database.execute_sql(dialect_of(database).sql(sql), params).fetchall())

    return MigrationContext(database, schema, execute)


def upgraded(url: str) -> sqlschema.Upgrade:
    store = open_store(url)
    try:
        return store.upgrade()
    finally:
        store.close()


# -- the steps -------------------------------------------------------------------------------------


def test_steps_are_numbered_from_1_and_each_says_what_it_does() -> None:
    assert [step.version for step in STEPS] == list(range(1, len(STEPS) + 1))
    assert STEPS[-1].version == LATEST_VERSION
    for step in STEPS:
        assert step.description and "\n" not in step.description


def test_step_1_makes_exactly_the_schema_of_0_1_0(v010_url: str, urls: tuple[str, str]) -> None:
    database = peewee_database(urls[1])
    STEPS[0].apply(step_context(database))
    database.close()
    old = catalog(v010_url)
    if v010_url.startswith("sqlite"):  # 0.1.0 recorded version 1 in a one-column table
        assert old["schema_version"]["columns"] == [("version", "INTEGER", 1, None, 1)]
    assert catalog(urls[1]) == old


def test_the_steps_make_the_schema_the_code_expects(urls: tuple[str, str]) -> None:
    by_steps, by_models = urls
    assert upgraded(by_steps) == sqlschema.Upgrade(0, LATEST_VERSION, STEPS)
    database = peewee_database(by_models)
    for model in build_models(database, dialect_of(database).collation):
        model.create_table(safe=False)
    database.close()

    assert catalog(by_steps) == catalog(by_models)


def test_a_0_1_0_database_upgrades_to_the_schema_of_a_new_one(v010_url: str, urls: tuple[str, str]) -> None:
    done = upgraded(v010_url)

    assert done == sqlschema.Upgrade(1, LATEST_VERSION, STEPS[1:])
    assert done.lines()[-1] == f"upgraded from schema version 1 to {LATEST_VERSION}"
    upgraded(urls[1])
    assert catalog(v010_url) == catalog(urls[1])
    history = rows(v010_url, 'SELECT "version", "description", "applied_at" FROM "schema_version" ORDER BY 1')
    assert [row[:2] for row in history] == [(step.version, step.description) for step in STEPS]
    assert history[0][2] is None  # 0.1.0 did not record when
    assert all(row[2] is not None for row in history[1:])
    store = open_store(v010_url)
    try:
        states = sorted(e.state.value for e in store.list_workflow_executions(Query()))
        assert states == ["RUNNING", "SUCCESS"]
        assert [a.name for a in store.unfinished_action_executions()] == ["std.async_noop"]
    finally:
        store.close()


# -- the upgrade -----------------------------------------------------------------------------------


def test_open_store_leaves_an_empty_database_empty(url: str) -> None:
    store = open_store(url)
    try:
        assert store.schema_version() == 0
    finally:
        store.close()
    assert table_count(url) == 0


def test_an_empty_database_gets_every_step_then_nothing_more(url: str) -> None:
    first, second = upgraded(url), upgraded(url)

    assert first.lines() == [f"created schema version {LATEST_VERSION}"]
    assert second == sqlschema.Upgrade(LATEST_VERSION, LATEST_VERSION, ())
    assert second.lines() == [f"already at schema version {LATEST_VERSION}"]
    history = rows(url, 'SELECT "version", "description", "applied_at" FROM "schema_version" ORDER BY 1')
    assert [row[:2] for row in history] == [(step.version, step.description) for step in STEPS]
    assert all(row[2] is not None for row in history)


def test_two_upgrades_at_once_create_the_schema_once(url: str) -> None:
    stores = [open_store(url), open_store(url)]
    both_open = threading.Barrier(2)
    results: list[Any] = []

    def run(store: Any) -> None:
        both_open.wait(10)
        try:
            results.append(store.upgrade().before)
        except Exception as exc:  # the assertion below shows it
            results.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=run, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(results, key=str) == [0, LATEST_VERSION]
    assert rows(url, 'SELECT count(*) FROM "schema_version"') == [(LATEST_VERSION,)]


def test_a_newer_schema_is_refused(url: str) -> None:
    upgraded(url)
    newer = LATEST_VERSION + 1
    conn = connect(url)
    conn.cursor().execute(f'INSERT INTO "schema_version" ("version") VALUES ({newer})')
    conn.close()
    message = re.escape(f"database schema version {newer} is newer than this mistral-core ({LATEST_VERSION})")

    with pytest.raises(SchemaVersionError, match=message):
        upgraded(url)
    with pytest.raises(SchemaVersionError, match=message):
        open_serving_store(url, upgrade=True)


def test_a_failing_step_changes_nothing(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    upgraded(url)

    def half_done(ctx: MigrationContext) -> None:
        ctx.migrate(ctx.migrator.add_column("timers", "extra", ctx.text(null=True)))
        ctx.execute('SELECT * FROM "no_such_table"')

    broken = Step(LATEST_VERSION + 1, "a step that fails half-way", half_done)
    monkeypatch.setattr(sqlschema, "STEPS", (*STEPS, broken))

    with pytest.raises(StoreError, match=f"Schema step {broken.version} .* nothing was changed"):
        upgraded(url)
    store = open_store(url)
    try:
        assert store.schema_version() == LATEST_VERSION
    finally:
        store.close()
    monkeypatch.setattr(sqlschema, "STEPS", STEPS)
    database = peewee_database(url)
    assert "extra" not in {column.name for column in database.get_columns("timers", _schema(url))}
    database.close()


def test_a_step_may_rebuild_a_referenced_table_on_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite alters most columns by copying the table: foreign keys must be off meanwhile."""
    url = f"sqlite:///{copy_v010_sqlite(tmp_path)}"

    def rebuild(ctx: MigrationContext) -> None:
        ctx.migrate(ctx.migrator.drop_column("workflow_executions", "description", legacy=True))

    step = Step(LATEST_VERSION + 1, "rebuild workflow_executions", rebuild)
    monkeypatch.setattr(sqlschema, "STEPS", (*STEPS, step))

    assert upgraded(url).after == step.version
    assert rows(url, 'SELECT count(*) FROM "workflow_executions"') == [(2,)]
    assert rows(url, "PRAGMA foreign_key_check") == []
    references = rows(url, 'PRAGMA foreign_key_list("task_executions")')
    assert [row[2] for row in references] == ["workflow_executions"]


def _schema(url: str) -> str | None:
    return None if url.startswith("sqlite") else rows(url, "SELECT current_schema()")[0][0]


# -- serving ---------------------------------------------------------------------------------------


def test_a_server_creates_the_schema_of_an_empty_database(url: str) -> None:
    store = open_serving_store(url)
    try:
        assert store.schema_version() == LATEST_VERSION
    finally:
        store.close()


def test_a_server_refuses_an_older_schema_unless_told_to_upgrade(v010_url: str) -> None:
    with pytest.raises(SchemaVersionError) as refused:
        open_serving_store(v010_url)
    assert str(refused.value) == (
        f"database schema version 1 is older than this mistral-core ({LATEST_VERSION}): "
        f"run: mistral-core db upgrade --database-url {v010_url} (or start with --upgrade)"
    )

    store = open_serving_store(v010_url, upgrade=True)
    try:
        assert store.schema_version() == LATEST_VERSION
    finally:
        store.close()


def test_step_10_gives_the_running_targeted_actions_their_target(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Actions waiting for their target's executors before the upgrade are waits after it."""
    monkeypatch.setattr(sqlschema, "STEPS", STEPS[:9])
    upgraded(url)
    conn: Any = sqlite3.connect(url.removeprefix("sqlite:///")) if url.startswith("sqlite") else None
    if conn is None:
        import psycopg2

        conn = psycopg2.connect(url)
    insert = (
        'INSERT INTO "action_executions" ("id", "name", "state", "is_sync", "dispatch", "params", '
        '"created_at") VALUES (%s, %s, %s, %s, 0, %s, %s)'
    )
    with conn:
        cursor = conn.cursor()
        for action_id, state, params in (
            ("queued", "RUNNING", '{"target": "zone-b"}'),
            ("done", "SUCCESS", '{"target": "zone-b"}'),
            ("anywhere", "RUNNING", "{}"),
        ):
            values = (action_id, "std.noop", state, True, params, dt.datetime(2030, 1, 1))
            cursor.execute(insert.replace("%s", "?") if url.startswith("sqlite") else insert, values)
    conn.close()
    monkeypatch.setattr(sqlschema, "STEPS", STEPS)

    upgraded(url)

    targets = rows(url, 'SELECT "id", "target" FROM "action_executions" ORDER BY "id"')
    assert targets == [("anywhere", None), ("done", None), ("queued", "zone-b")]
    store = open_store(url)
    try:
        assert [a.id for a in store.list_waits(Query())] == ["queued"]
    finally:
        store.close()
