#!/usr/bin/env python3
"""Waits: the inventory query on 100,000 waits, and a 10,000-item bulk complete.

1. ``--waits`` (default 100,000) RUNNING async action executions and ``--finished`` (default
   200,000) finished ones are written straight into a new database (SQLite file, and each
   ``--database-url``), then analysed. Each query of ``GET /v2/waits`` (the default page, each
   filter, a sort by deadline, a deep page) is run through the store as the API runs it:
   the median wall time of ``--repeat`` runs, the CPU time of this process per query, and the
   database's plan of the default page (it must walk a partial index of waits).
2. ``--write-cost`` (default 20,000) sync action executions go through their life on the hot path
   (inserted RUNNING and QUEUED, started, finished: each a transaction through the store), on a
   SQLite file with the partial indexes of waits and on one without them: CPU time per action,
   the best of ``--write-repeat`` alternating runs. What the indexes cost every action.
3. ``--bulk`` (default 10,000) executions of a one-task workflow wait on an async action; one
   ``POST /v2/waits/bulk`` (falcon's test client, in this process: no socket) completes them all
   by filter. Wall and CPU time, per item.

    .venv/bin/python benchmarks/waits_bench.py [--waits 100000] [--bulk 10000] \\
        [--database-url postgresql://...]  # repeatable; a SQLite file is always measured
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import falcon.testing

from mistral_core.actions.registry import ActionRegistry
from mistral_core.api import create_app
from mistral_core.executor import Executor
from mistral_core.model import DISPATCH_STARTED, ActionExecution, Filter, Query, State
from mistral_core.persistence import sqlquery
from mistral_core.persistence.columns import ACTION_EXECUTIONS
from mistral_core.persistence.querying import make_plan
from mistral_core.persistence.sql import SqlStore, open_store
from mistral_core.persistence.tables import WAIT_INDEXES, WAITS
from mistral_core.scheduler import CronTab
from mistral_core.services.engine import Engine
from mistral_core.testing import InlineRunner, ManualClock

ORIGIN = dt.datetime(2030, 1, 1)
NOW = ORIGIN + dt.timedelta(days=30)
WORKFLOW = """
version: '2.0'
bulk_wait:
  tasks:
    wait:
      action: std.async_noop
      timeout: 86400
"""

# Waits: 20 action names (name-19 on 1 in 100), 50 workflows, created over 30 days, half with a
# deadline, half with a heartbeat. Finished rows are the bulk of a real table: the index keeps them out.
_COLUMNS = (
    '"id", "name", "state", "is_sync", "dispatch", "workflow_name", "workflow_namespace", '
    '"workflow_execution_id", "task_name", "accepted", "input", "params", "description", "project_id", '
    '"created_at", "deadline", "last_heartbeat_at"'
)
SQLITE_FILL = """WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})
INSERT INTO "action_executions" ({columns})
SELECT '{prefix}-' || i, CASE WHEN i % 100 = 0 THEN 'name-19' ELSE 'name-' || (i % 19) END, '{state}', 0,
       2, 'wf-' || (i % 50), '', 'wfx-' || i, 'wait', 0, '{{}}', '{{}}', '', '<default-project>',
       strftime('%Y-%m-%d %H:%M:%f', '2030-01-01', '+' || (i * 2592000 / {count}) || ' seconds'),
       CASE WHEN i % 2 = 0 THEN strftime('%Y-%m-%d %H:%M:%f', '2030-01-31', '+' || (i % 86400) || ' seconds')
       END,
       CASE WHEN i % 2 = 1 THEN strftime('%Y-%m-%d %H:%M:%f', '2030-01-30', '+' || (i % 86400) || ' seconds')
       END
FROM n"""
POSTGRES_FILL = """INSERT INTO "action_executions" ({columns})
SELECT '{prefix}-' || i, CASE WHEN i % 100 = 0 THEN 'name-19' ELSE 'name-' || (i % 19) END, '{state}', false,
       2, 'wf-' || (i % 50), '', 'wfx-' || i, 'wait', false, '{{}}', '{{}}', '', '<default-project>',
       timestamp '2030-01-01' + (i::bigint * 2592000 / {count}) * interval '1 second',
       CASE WHEN i % 2 = 0 THEN timestamp '2030-01-31' + (i % 86400) * interval '1 second' END,
       CASE WHEN i % 2 = 1 THEN timestamp '2030-01-30' + (i % 86400) * interval '1 second' END
FROM generate_series(1, {count}) AS n(i)"""


def fill(url: str, waits: int, finished: int) -> None:
    """Write the waits and the finished action executions outside the store, in bulk; analyse."""
    store = open_store(url)
    store.upgrade()
    store.close()
    postgres = url.startswith("postgresql")
    template = POSTGRES_FILL if postgres else SQLITE_FILL
    statements = [
        template.format(columns=_COLUMNS, prefix="wait", state="RUNNING", count=waits),
        template.format(columns=_COLUMNS, prefix="done", state="SUCCESS", count=finished),
        "ANALYZE",
    ]
    if postgres:
        import psycopg2

        conn: Any = psycopg2.connect(url)
        conn.autocommit = True
    else:
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        for sql in statements:
            conn.cursor().execute(sql)
    finally:
        conn.close()


def queries(store: SqlStore) -> dict[str, Callable[[], int]]:
    """Each query of ``GET /v2/waits``, as the API asks the store (a page of at most 100)."""

    def page(
        *filters: Filter,
        sort: tuple[tuple[str, str], ...] = (("created_at", "asc"),),
        marker: str | None = None,
    ) -> int:
        query = Query(filters=filters, sort=(*sort, ("id", "asc")), limit=100, marker=marker)
        return len(store.list_waits(query))

    deep = store.list_waits(
        Query(limit=1, filters=(Filter("created_at", "gte", ORIGIN + dt.timedelta(days=25)),))
    )
    return {
        "default page (created_at)": lambda: page(),
        "name= (a name on 1 in 100)": lambda: page(Filter("name", "eq", "name-19")),
        "workflow_name= (1 in 50)": lambda: page(Filter("workflow_name", "eq", "wf-7")),
        "older_than (half of them)": lambda: page(Filter("created_at", "lt", NOW - dt.timedelta(days=15))),
        "deadline_before, by deadline": lambda: page(
            Filter("deadline", "lt", ORIGIN + dt.timedelta(days=30, hours=1)), sort=(("deadline", "asc"),)
        ),
        "stale_for (half beat)": lambda: len(
            store.list_waits(Query(limit=100), stale_before=ORIGIN + dt.timedelta(days=29, hours=12))
        ),
        "a deep page (marker at 5/6)": lambda: page(marker=deep[0].id),
        "sort by created_at desc": lambda: page(sort=(("created_at", "desc"),)),
    }


def plan_of_default_page(store: SqlStore, url: str) -> list[str]:
    """The database's plan of the default page (the store's own SQL)."""
    plan = make_plan(ACTION_EXECUTIONS, Query(limit=100))
    # The store's dialect (a private part) renders the SQL exactly as list_waits does.
    dialect = store._dialect
    sql, params = sqlquery.select_page(
        ACTION_EXECUTIONS, plan, None, dialect.param, dialect.contains, (WAITS, [])
    )
    if url.startswith("postgresql"):
        import psycopg2

        conn: Any = psycopg2.connect(url)
        rows = _all(conn, "EXPLAIN " + dialect.sql(sql).replace("%s", "NULL"), params)
        return [row[0] for row in rows]
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    return [str(row[-1]) for row in _all(conn, "EXPLAIN QUERY PLAN " + sql, params)]


def _all(conn: Any, sql: str, params: list[Any]) -> list[Any]:
    try:
        cursor = conn.cursor()
        cursor.execute(sql, params) if params else cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        conn.close()


def api_page(store: SqlStore, repeat: int) -> None:
    """``GET /v2/waits`` whole (falcon's test client, no socket): the API's default page of 1,000."""
    registry = ActionRegistry.from_entry_points()
    engine = Engine(store, registry, clock=ManualClock(NOW), cron=CronTab())
    http = falcon.testing.TestClient(create_app(engine, public_url="http://127.0.0.1:8989"))
    for params in ("", "stale_for=86400&sort_keys=deadline"):
        http.simulate_get("/v2/waits", query_string=params)
        walls, cpus = [], []
        for _ in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            answer = http.simulate_get("/v2/waits", query_string=params)
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        assert answer.status_code == 200, answer.text
        print(
            f"  GET /v2/waits?{params}: {len(answer.json['waits'])} waits, {len(answer.content)} bytes, "
            f"median {statistics.median(walls):.1f} ms, CPU {statistics.median(cpus):.1f} ms"
        )


def inventory(url: str, waits: int, finished: int, repeat: int) -> None:
    started = time.perf_counter()
    fill(url, waits, finished)
    took = time.perf_counter() - started
    print(f"  wrote {waits} waits and {finished} finished action executions in {took:.1f} s")
    store = open_store(url)
    print("  plan of the default page: " + " | ".join(plan_of_default_page(store, url)))
    api_page(store, repeat)
    print(f"  {'query':34} {'rows':>5} {'median ms':>10} {'CPU ms':>8}")
    for name, run in queries(store).items():
        run()  # warm: the connection, the statement, the pages
        walls, cpus = [], []
        for _ in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            rows = run()
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        print(f"  {name:34} {rows:>5} {statistics.median(walls):>10.2f} {statistics.median(cpus):>8.2f}")
    store.close()


def _life(store: SqlStore, count: int, tag: str) -> float:
    """CPU seconds for ``count`` sync actions inserted, started and finished, a transaction each."""
    started = time.process_time()
    for i in range(count):
        action_ex = ActionExecution(
            id=f"{tag}-{i}", name="std.noop", state=State.RUNNING, created_at=ORIGIN, params={}
        )
        with store.atomic():
            store.insert(action_ex)
        store.raise_dispatch([action_ex.id], DISPATCH_STARTED)
        with store.atomic():
            store.update(
                dataclasses.replace(action_ex, state=State.SUCCESS, output={"result": None}),
                ("state", "output"),
            )
    return time.process_time() - started


def write_cost(tmp: str, count: int, repeat: int) -> None:
    stores = {}
    for with_indexes in (True, False):
        url = f"sqlite:///{Path(tmp) / f'life-{with_indexes}.db'}"
        store = open_store(url)
        store.upgrade()
        if not with_indexes:
            conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            for name, _ in WAIT_INDEXES:
                conn.execute(f'DROP INDEX "action_executions_{name}"')
            conn.close()
        stores[with_indexes] = store
    best = {True: float("inf"), False: float("inf")}
    for run in range(repeat):
        for with_indexes in (True, False) if run % 2 == 0 else (False, True):
            best[with_indexes] = min(best[with_indexes], _life(stores[with_indexes], count, f"r{run}"))
    for with_indexes, cpu in best.items():
        label = "with the indexes of waits" if with_indexes else "without them"
        print(f"  {label:26} {cpu / count * 1e6:7.1f} us CPU per action ({count} actions)")
    print(f"  the indexes cost {(best[True] - best[False]) / count * 1e6:+.1f} us CPU per action")
    for store in stores.values():
        store.close()


def bulk_complete(url: str, count: int) -> None:
    store = open_store(url)
    store.upgrade()
    clock = ManualClock()
    registry = ActionRegistry.from_entry_points()
    runner = InlineRunner(Executor(registry, "http://127.0.0.1:8989"))
    engine = Engine(store, registry, runner, clock=clock, cron=CronTab(), max_bulk_items=count)
    runner.engine = engine
    engine.definitions.create_workflows(WORKFLOW)
    started = time.perf_counter()
    for _ in range(count):
        engine.executions.start("bulk_wait")
    runner.drain()
    print(f"  started {count} executions waiting on an async action in {time.perf_counter() - started:.1f} s")
    http = falcon.testing.TestClient(create_app(engine, public_url="http://127.0.0.1:8989"))
    body = {"op": "complete", "filter": {"workflow_name": "bulk_wait"}, "output": {"done": True}}
    wall, cpu = time.perf_counter(), time.process_time()
    answer = http.simulate_post("/v2/waits/bulk", json=body)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    runner.drain()
    assert answer.status_code == 200, answer.text
    done = sum(item["status"] == 200 for item in answer.json["results"])
    print(
        f"  one POST /v2/waits/bulk completed {done} of {answer.json['matched']} waits in {wall:.1f} s "
        f"({wall / count * 1000:.2f} ms per wait; CPU {cpu:.1f} s, {cpu / count * 1000:.2f} ms per wait)"
    )
    left = len(store.list_waits(Query(limit=10)))
    print(f"  waits left: {left}")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--waits", type=int, default=100_000)
    parser.add_argument("--finished", type=int, default=200_000)
    parser.add_argument("--bulk", type=int, default=10_000)
    parser.add_argument("--write-cost", type=int, default=20_000)
    parser.add_argument("--write-repeat", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url", action="append", default=[], help="also measure this database")
    args = parser.parse_args()
    print(f"nproc {os.cpu_count()}; load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{Path(tmp) / 'inventory.db'}"
        for url in (sqlite_url, *args.database_url) if args.waits else ():
            print(f"inventory on {url.split('://')[0]}")
            inventory(url, args.waits, args.finished, args.repeat)
        if args.write_cost:
            print("what the indexes of waits cost the hot path (SQLite)")
            write_cost(tmp, args.write_cost, args.write_repeat)
        for i, url in enumerate((f"sqlite:///{Path(tmp) / 'bulk.db'}", *args.database_url)):
            if args.bulk:
                print(f"bulk complete on {url.split('://')[0]}")
                if i and url.startswith("postgresql"):
                    _empty_action_tables(url)
                bulk_complete(url, args.bulk)


def _empty_action_tables(url: str) -> None:
    """The inventory's rows out of the way of the bulk run (same database)."""
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        for table in (
            "action_history",
            "action_executions",
            "timers",
            "task_executions",
            "workflow_executions",
        ):
            conn.cursor().execute(f'DELETE FROM "{table}"')
    finally:
        conn.close()


if __name__ == "__main__":
    main()
