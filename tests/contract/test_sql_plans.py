"""The scheduler, the dispatch hot path and callback tokens walk indexes, never whole tables.

The plans are the databases' own (SQLite's EXPLAIN QUERY PLAN; PostgreSQL's generic plan, the one
a prepared statement settles on), over tables filled and analysed like a busy installation.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest

from mistral_core.persistence import SqlStore, open_store

PENDING = 100_000
ACTIONS = 20_000
ORIGIN = dt.datetime(2024, 5, 1)

SQLITE_FILL = [
    f"""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {PENDING})
    INSERT INTO "timers" ("id", "due_at", "kind", "target_id", "payload", "created_at")
    SELECT 'timer-' || i, strftime('%Y-%m-%d %H:%M:%S', '2024-05-01', '+' || i || ' seconds') || '.000000',
           'timeout', 'target-' || i, '{{}}', '2024-05-01 00:00:00.000000' FROM n""",
    """INSERT INTO "workflow_executions" ("id", "workflow_id", "workflow_name", "spec_checksum", "state",
    "created_at") VALUES ('wf', 'wf', 'wf', 'c', 'RUNNING', '2024-05-01 00:00:00.000000')""",
    """INSERT INTO "task_executions" ("id", "workflow_execution_id", "name", "state", "workflow_name",
    "workflow_id", "created_at")
    VALUES ('task', 'wf', 't', 'RUNNING', 'wf', 'wf', '2024-05-01 00:00:00.000000')""",
    f"""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ACTIONS})
    INSERT INTO "action_executions" ("id", "name", "state", "task_execution_id", "dispatch", "created_at")
    SELECT 'action-' || i, 'std.noop', CASE WHEN i % 100 = 0 THEN 'RUNNING' ELSE 'SUCCESS' END, 'task', 0,
           '2024-05-01 00:00:00.000000' FROM n""",
    """UPDATE "action_executions" SET "callback_token_hash" = 'hash-' || "id" WHERE "state" = 'RUNNING'""",
    f"""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ACTIONS})
    INSERT INTO "action_history" ("action_execution_id", "outcome", "state", "by", "created_at")
    SELECT 'action-' || (i % 2000), 'rejected', 'SUCCESS', 'x', '2024-05-01 00:00:00.000000'
    FROM n""",
    "ANALYZE",
]

POSTGRES_FILL = [
    f"""INSERT INTO "timers" ("id", "due_at", "kind", "target_id", "payload", "created_at")
    SELECT 'timer-' || i, timestamp '2024-05-01' + i * interval '1 second', 'timeout', 'target-' || i, '{{}}',
           timestamp '2024-05-01' FROM generate_series(1, {PENDING}) AS n(i)""",
    """INSERT INTO "workflow_executions" ("id", "workflow_id", "workflow_name", "spec_checksum", "state",
    "created_at") VALUES ('wf', 'wf', 'wf', 'c', 'RUNNING', timestamp '2024-05-01')""",
    """INSERT INTO "task_executions" ("id", "workflow_execution_id", "name", "state", "workflow_name",
    "workflow_id", "created_at") VALUES ('task', 'wf', 't', 'RUNNING', 'wf', 'wf', timestamp '2024-05-01')""",
    f"""INSERT INTO "action_executions" ("id", "name", "state", "task_execution_id", "dispatch", "created_at")
    SELECT 'action-' || i, 'std.noop', CASE WHEN i % 100 = 0 THEN 'RUNNING' ELSE 'SUCCESS' END, 'task', 0,
           timestamp '2024-05-01' FROM generate_series(1, {ACTIONS}) AS n(i)""",
    """UPDATE "action_executions" SET "callback_token_hash" = 'hash-' || "id" WHERE "state" = 'RUNNING'""",
    f"""INSERT INTO "action_history" ("action_execution_id", "outcome", "state", "by", "created_at")
    SELECT 'action-' || (i % 2000), 'rejected', 'SUCCESS', 'x', timestamp '2024-05-01'
    FROM generate_series(1, {ACTIONS}) AS n(i)""",
    "ANALYZE",
]


def fill(url: str) -> None:
    """Fill the tables of ``url`` outside the store, in bulk, and analyse them."""
    if url.startswith("sqlite:///"):
        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        statements = SQLITE_FILL
    else:
        import psycopg2

        conn = psycopg2.connect(url)
        conn.autocommit = True
        statements = POSTGRES_FILL
    try:
        for sql in statements:
            conn.cursor().execute(sql)
    finally:
        conn.close()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def crowded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crowded]:
    """A store holding 100,000 pending timers, one a second, and 20,000 action executions."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('plans') / 'store.db'}"
    else:
        url = request.getfixturevalue("pg_module_url")
    store = open_store(url)
    store.upgrade()
    fill(url)
    try:
        yield Crowded(store, request.param)
    finally:
        store.close()


class Crowded(NamedTuple):
    """The filled store and its backend."""

    store: SqlStore
    backend: str


def at(seconds: int) -> str:
    """A time as a parameter both databases take for a timestamp."""
    return (ORIGIN + dt.timedelta(seconds=seconds)).isoformat(sep=" ", timespec="microseconds")


def assert_uses_index(plan: list[str], index: str, table: str) -> None:
    text = "\n".join(plan)
    assert index in text, text
    full_scans = [line for line in plan if re.search(rf"^\s*(->\s*)?(SCAN|Seq Scan on) {table}\b", line)]
    assert full_scans == [], text


@pytest.mark.parametrize(
    ("statement", "params", "index", "table"),
    [
        ("claim timers", (at(500), at(500), 500, "e1", at(530)), "timers_due_at_seq", "timers"),
        ("next timer due", (), "timers_due_at_seq", "timers"),
        ("delete timer", ("timer-7",), "timers_id", "timers"),
        ("delete timers of", ("target-7",), "timers_target_id", "timers"),
        ("delete timers of kind", ("target-7", "retry"), "timers_target_id", "timers"),
    ],
)
def test_timer_statements_walk_an_index(
    crowded: Crowded, statement: str, params: tuple[Any, ...], index: str, table: str
) -> None:
    assert_uses_index(crowded.store.explain(statement, params), index, table)


def test_raise_dispatch_finds_actions_by_id(crowded: Crowded) -> None:
    ids = [f"action-{i}" for i in range(100, 10_000, 100)]
    id_list = json.dumps(ids) if crowded.backend == "sqlite" else ids  # SQLite reads it with json_each
    plan = crowded.store.explain("raise dispatch", (1, id_list, 1))
    assert_uses_index(plan, "action_executions_id", "action_executions")


@pytest.mark.parametrize(
    ("statement", "params", "index", "table"),
    [
        ("action by token", ("hash-action-700",), "action_executions_callback_token", "action_executions"),
        ("history of", ("action-7",), "action_history_action_execution_id_seq", "action_history"),
        ("count history", ("action-7",), "action_history_action_execution_id_seq", "action_history"),
    ],
)
def test_callback_tokens_and_histories_are_found_through_their_indexes(
    crowded: Crowded, statement: str, params: tuple[Any, ...], index: str, table: str
) -> None:
    assert_uses_index(crowded.store.explain(statement, params), index, table)


def test_claiming_500_of_100000_pending_is_quick(crowded: Crowded) -> None:
    now = ORIGIN + dt.timedelta(seconds=50_000)
    started = time.perf_counter()
    claimed = crowded.store.claim_due_timers(now, "e1", now + dt.timedelta(seconds=30), 500)
    elapsed = time.perf_counter() - started
    assert [t.id for t in claimed] == [f"timer-{i}" for i in range(1, 501)]
    assert elapsed < 0.5, f"claimed 500 of {PENDING} in {elapsed:.3f} s"
    assert crowded.store.next_timer_due() == ORIGIN + dt.timedelta(seconds=1)


def test_whether_a_synchronous_action_runs_is_one_probe_of_the_unfinished_index(crowded: Crowded) -> None:
    # Maintenance asks it on each GET while PAUSING: it must not read the finished actions.
    plan = crowded.store.explain("sync running", (True,))
    assert_uses_index(plan, "action_executions_unfinished", "action_executions")
    assert crowded.store.sync_action_running() is False  # the crowd's RUNNING actions are not is_sync


def test_the_activity_read_for_metrics_walks_indexes(crowded: Crowded) -> None:
    plan = crowded.store.explain("activity", (at(500),))
    assert_uses_index(plan, "action_executions_unfinished", "action_executions")
    assert_uses_index(plan, "timers_due_at_seq", "timers")
