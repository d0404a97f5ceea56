#!/usr/bin/env python3
"""The cost of a scrape of ``/metrics`` over a store holding many action executions.

    .venv/bin/python benchmarks/metrics_bench.py                       # SQLite, 100,000 actions
    .venv/bin/python benchmarks/metrics_bench.py --database-url postgresql://127.0.0.1/test

Fills a fresh store (SQLite file, or a new schema of the PostgreSQL database named) in bulk:
``--actions`` action executions of 10,000 workflow executions (10 tasks each, one action a task),
of which 1 in 100 is unfinished (RUNNING; half of them asynchronous waits) and their workflows
RUNNING, the rest SUCCESS; as many timers, 1 in 100 due. Then times, wall and CPU of this process:
the store's activity statement uncached, and a whole scrape (``Metrics.render``) uncached and
cached, median of ``--repeat``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

from mistral_core.engine.ports import SystemClock
from mistral_core.metrics.collectors import ActivityCollector
from mistral_core.metrics.exposition import Metrics
from mistral_core.persistence import open_store

WORKFLOWS = 10_000


def _statements(actions: int, now: str, future: str) -> list[str]:
    series = "generate_series(1, {n}) AS n(i)"
    return [
        f"""INSERT INTO "workflow_executions" ("id", "workflow_id", "workflow_name", "spec_checksum", "state",
        "created_at") SELECT 'wf-' || i, 'wf', 'wf', 'c',
        CASE WHEN i % 100 = 0 THEN 'RUNNING' ELSE 'SUCCESS' END, {now} FROM {series.format(n=WORKFLOWS)}""",
        f"""INSERT INTO "task_executions" ("id", "workflow_execution_id", "name", "state", "workflow_name",
        "workflow_id", "created_at") SELECT 'task-' || i, 'wf-' || (1 + (i - 1) / 10), 't', CASE WHEN
        (1 + (i - 1) / 10) % 100 = 0 AND i % 10 = 0 THEN 'RUNNING' ELSE 'SUCCESS' END, 'wf', 'wf', {now}
        FROM {series.format(n=actions)}""",
        f"""INSERT INTO "action_executions" ("id", "name", "state", "is_sync", "task_execution_id",
        "dispatch", "created_at") SELECT 'action-' || i, 'std.noop', CASE WHEN i % 100 = 0 THEN 'RUNNING'
        ELSE 'SUCCESS' END, i % 200 <> 0, 'task-' || i, 0, {now} FROM {series.format(n=actions)}""",
        f"""INSERT INTO "timers" ("id", "due_at", "kind", "target_id", "payload", "created_at")
        SELECT 'timer-' || i, CASE WHEN i % 100 = 0 THEN {now} ELSE {future} END, 'timeout', 'target-' || i,
        '{{}}', {now} FROM {series.format(n=actions)}""",
        "ANALYZE",
    ]


def fill(url: str, actions: int) -> None:
    """Fill the store at ``url`` in bulk (outside the store)."""
    if url.startswith("sqlite:///"):
        import sqlite3

        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        recursive = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) "
        statements = [
            recursive.format(n=WORKFLOWS if "workflow_executions" in s.split("(")[0] else actions)
            + s.replace("FROM generate_series", "FROM n --").replace(" AS n(i)", "")
            if s != "ANALYZE"
            else s
            for s in _statements(actions, "'2024-05-01 00:00:00.000000'", "'2999-01-01 00:00:00.000000'")
        ]
    else:
        import psycopg2

        conn = psycopg2.connect(url)
        conn.autocommit = True
        statements = _statements(actions, "timestamp '2024-05-01'", "timestamp '2999-01-01'")
    try:
        for sql in statements:
            conn.cursor().execute(sql)
    finally:
        conn.close()


def measure(call: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``call``."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def _postgres(url: str, sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    conn.cursor().execute(sql)
    conn.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", help="postgresql://… (a new schema there) [a new SQLite file]")
    p.add_argument("--actions", type=int, default=100_000, help="action executions [100,000]")
    p.add_argument("--repeat", type=int, default=20, help="measurements of each figure; medians [20]")
    args = p.parse_args(argv)
    schema = f"metrics_bench_{uuid.uuid4().hex[:8]}"
    if args.database_url:
        _postgres(args.database_url, f'CREATE SCHEMA "{schema}"')
        joiner = "&" if "?" in args.database_url else "?"
        url = f"{args.database_url}{joiner}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/metrics-bench.db"
    store = open_store(url)
    store.upgrade()
    fill(url, args.actions)
    now = dt.datetime(2024, 5, 2)
    activity = store.activity(now)
    print(f"{url.split(':', 1)[0]}, {args.actions:,} action executions: {activity}")
    uncached = Metrics()
    uncached.add(ActivityCollector(store, SystemClock(), ttl=0.0))
    cached = Metrics()
    cached.add(ActivityCollector(store, SystemClock()))
    rows = [
        ("activity statement", measure(lambda: store.activity(now), args.repeat)),
        ("scrape, store read", measure(lambda: uncached.render(None), args.repeat)),
        ("scrape, cached (< 5 s)", measure(lambda: cached.render(None), args.repeat)),
    ]
    print(f"{'figure':24} | {'wall ms':>8} | {'CPU ms':>7}")
    for name, (wall, cpu) in rows:
        print(f"{name:24} | {wall:8.2f} | {cpu:7.2f}")
    store.close()
    if args.database_url:
        _postgres(args.database_url, f'DROP SCHEMA "{schema}" CASCADE')
    return 0


if __name__ == "__main__":
    sys.exit(main())
