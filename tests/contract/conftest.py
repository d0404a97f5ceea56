"""The store under test, once per backend, and helpers that build records.

PostgreSQL runs in a fresh schema per test on 127.0.0.1:5432 (database ``test``,
user ``postgres`` or ``root``, trust auth). It is skipped when the server cannot
be reached, except on CI (``CI`` set), where that is a failure.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mistral_core.engine.ports import ExecutionStore
from mistral_core.model import (
    ActionDefinition,
    ActionExecution,
    CronTrigger,
    Environment,
    State,
    TaskExecution,
    Timer,
    Workbook,
    WorkflowDefinition,
    WorkflowExecution,
)
from mistral_core.persistence import MemoryStore

PG_HOST, PG_PORT, PG_DATABASE = "127.0.0.1", 5432, "test"
PG_USERS = ("postgres", "root")


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    if _on_ci():
        pytest.fail(f"PostgreSQL is required on CI: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


def _pg_admin_connection() -> Any:
    try:
        import psycopg2
    except ImportError:
        _unavailable("psycopg2 is not installed")
    errors = []
    for user in PG_USERS:
        try:
            conn = psycopg2.connect(
                host=PG_HOST, port=PG_PORT, dbname=PG_DATABASE, user=user, connect_timeout=3
            )
        except psycopg2.Error as exc:
            errors.append(f"{user}: {exc}".strip())
            continue
        conn.autocommit = True
        return conn
    _unavailable("; ".join(errors))
    raise AssertionError("unreachable")


@contextlib.contextmanager
def pg_schema() -> Iterator[tuple[str, Any]]:
    """(URL, admin connection) of a fresh schema, dropped afterwards."""
    conn = _pg_admin_connection()
    schema = f"mc_test_{uuid.uuid4().hex[:12]}"
    user = conn.info.user
    with conn.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}?options=-csearch_path%3D{schema}", conn
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A database URL whose search_path is a schema of its own, dropped afterwards."""
    with pg_schema() as (url, _):
        yield url


@pytest.fixture(scope="module")
def pg_module_url() -> Iterator[str]:
    """Like ``pg_url``, for the tests of one module (to fill a big table once)."""
    with pg_schema() as (url, _):
        yield url


@pytest.fixture(scope="session")
def _pg_shared() -> Iterator[tuple[str, Any]]:
    # Creating the tables costs ~0.1 s; the generic suite shares one schema and empties it per test.
    with pg_schema() as shared:
        yield shared


_TABLES = (
    "action_history",
    "action_executions",
    "task_executions",
    "workflow_executions",
    "workflow_definitions",
    "specs",
    "timers",
    "cron_triggers",
    "environments",
    "workbooks",
    "action_definitions",
    "api_keys",
    "approval_responses",
    "server_secrets",
    "notification_deliveries",
    "event_triggers",
    "event_messages",
)


@pytest.fixture
def pg_empty_url(_pg_shared: tuple[str, Any]) -> str:
    """The URL of the shared schema, with every table emptied."""
    url, conn = _pg_shared
    schema = url.rsplit("%3D", 1)[1]
    with conn.cursor() as cursor:
        cursor.execute(f'SELECT to_regclass(\'"{schema}"."specs"\')')
        if cursor.fetchone()[0] is not None:
            for table in _TABLES:
                cursor.execute(f'DELETE FROM "{schema}"."{table}"')
    return url


BACKENDS = ["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of the backend under test."""
    name: str = request.param
    return name


@pytest.fixture
def store(backend: str, request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[ExecutionStore]:
    """A fresh, empty store of ``backend``."""
    if backend == "memory":
        yield MemoryStore()
        return
    from mistral_core.persistence import open_store

    url = (
        f"sqlite:///{tmp_path / 'store.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_empty_url")
    )
    sql_store = open_store(url)
    sql_store.upgrade()
    try:
        yield sql_store
    finally:
        sql_store.close()


T0 = dt.datetime(2024, 5, 1, 12, 0, 0, 123456)


class Records:
    """Builders of records with sensible defaults; keyword arguments override fields."""

    @staticmethod
    def new_id() -> str:
        """A fresh id."""
        return str(uuid.uuid4())

    @staticmethod
    def at(seconds: float) -> dt.datetime:
        """A naive UTC time ``seconds`` after a fixed origin."""
        return T0 + dt.timedelta(seconds=seconds)

    @staticmethod
    def definition(name: str = "wf", namespace: str = "", **fields: Any) -> WorkflowDefinition:
        """A workflow definition record."""
        base = WorkflowDefinition(
            id=Records.new_id(),
            name=name,
            namespace=namespace,
            definition=f"version: '2.0'\n{name}:\n  tasks: {{}}\n",
            spec={"name": name, "tasks": {}},
            checksum="c" * 32,
        )
        return dataclasses.replace(base, **fields)

    @staticmethod
    def wf(**fields: Any) -> WorkflowExecution:
        """A workflow execution record."""
        base = WorkflowExecution(
            id=Records.new_id(),
            workflow_id=Records.new_id(),
            workflow_name="wf",
            spec_checksum="c" * 32,
            state=State.RUNNING,
        )
        return dataclasses.replace(base, **fields)

    @staticmethod
    def task(wf_ex: WorkflowExecution, name: str = "t1", **fields: Any) -> TaskExecution:
        """A task execution of ``wf_ex``."""
        base = TaskExecution(
            id=Records.new_id(),
            workflow_execution_id=wf_ex.id,
            name=name,
            state=State.RUNNING,
            workflow_name=wf_ex.workflow_name,
            workflow_id=wf_ex.workflow_id,
        )
        return dataclasses.replace(base, **fields)

    @staticmethod
    def action(
        task_ex: TaskExecution | None = None, name: str = "std.noop", **fields: Any
    ) -> ActionExecution:
        """An action execution, of ``task_ex`` if given."""
        base = ActionExecution(id=Records.new_id(), name=name, state=State.RUNNING)
        if task_ex is not None:
            base = dataclasses.replace(
                base,
                task_execution_id=task_ex.id,
                workflow_execution_id=task_ex.workflow_execution_id,
                workflow_name=task_ex.workflow_name,
                task_name=task_ex.name,
            )
        return dataclasses.replace(base, **fields)

    @staticmethod
    def timer(seconds: float = 0, kind: str = "timeout", **fields: Any) -> Timer:
        """A timer due ``seconds`` after the origin."""
        base = Timer(id=Records.new_id(), due_at=Records.at(seconds), kind=kind, target_id=Records.new_id())
        return dataclasses.replace(base, **fields)

    @staticmethod
    def cron_trigger(name: str = "every-minute", **fields: Any) -> CronTrigger:
        """A cron trigger of workflow ``wf``."""
        base = CronTrigger(
            id=Records.new_id(),
            name=name,
            workflow_name="wf",
            workflow_id=Records.new_id(),
            pattern="* * * * *",
            next_execution_time=Records.at(60),
        )
        return dataclasses.replace(base, **fields)

    @staticmethod
    def environment(name: str = "env", **fields: Any) -> Environment:
        """An environment."""
        base = Environment(id=Records.new_id(), name=name, variables={"url": "http://example.com"})
        return dataclasses.replace(base, **fields)

    @staticmethod
    def workbook(name: str = "wb", **fields: Any) -> Workbook:
        """A workbook."""
        base = Workbook(id=Records.new_id(), name=name, definition=f"version: '2.0'\nname: {name}\n")
        return dataclasses.replace(base, **fields)

    @staticmethod
    def action_definition(name: str = "my.action", **fields: Any) -> ActionDefinition:
        """An ad-hoc action."""
        base = ActionDefinition(
            id=Records.new_id(),
            name=name,
            definition=f"version: '2.0'\n{name}:\n  base: std.echo\n",
            spec={"base": "std.echo", "base-input": {"output": "<% $.x %>"}},
            input="x",
        )
        return dataclasses.replace(base, **fields)


@pytest.fixture
def rec() -> type[Records]:
    """The record builders."""
    return Records
