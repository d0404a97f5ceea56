#!/usr/bin/env python3
"""Timers: how fast due timeouts fire, and what pending timers cost in memory and on disk.

Runs the real engine, store (SQLite file, or --database-url) and scheduler in this
process, without HTTP:

1. ``--due`` (default 10,000) executions of a workflow whose async task has
   ``timeout: 1``; the clock is then moved past the timeout, and the scheduler
   fires them all: time until the last one is applied (target: within 10 s).
2. ``--pending`` (default 100,000) timers pending far in the future: the growth of
   this process's resident memory (target: <= 10 MiB; nothing per timer is kept
   in memory) and of the database file, and how long one scheduler round takes
   with all of them pending (an index look-up, not a scan).

    .venv/bin/python benchmarks/timers_bench.py [--due 10000] [--pending 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
import uuid
from pathlib import Path

from mistral_core.actions.registry import ActionRegistry
from mistral_core.engine.engine import Engine
from mistral_core.executor import Executor
from mistral_core.model import Timer
from mistral_core.persistence.sql import open_store
from mistral_core.scheduler import CronTab, Scheduler
from mistral_core.testing import InlineRunner, ManualClock

WORKFLOW = """
version: '2.0'
waiter:
  tasks:
    ask:
      action: std.async_noop
      timeout: 1
"""


def rss_kib() -> int:
    """This process's resident memory (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def db_bytes(path: Path) -> int:
    """The database file and its WAL."""
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def build(url: str, clock: ManualClock) -> tuple[Engine, InlineRunner, Scheduler]:
    store = open_store(url)
    registry = ActionRegistry.from_entry_points()
    runner = InlineRunner(Executor(registry, "http://127.0.0.1:8989"))
    engine = Engine(store, registry, runner, clock=clock, cron=CronTab())
    runner.engine = engine
    return engine, runner, Scheduler(store, engine, clock=clock, batch=500)


def due_timeouts(engine: Engine, runner: InlineRunner, scheduler: Scheduler, clock: ManualClock, count: int) -> None:
    engine.create_workflows(WORKFLOW)
    started = time.perf_counter()
    for _ in range(count):
        engine.start_workflow("waiter")
    runner.drain()
    print(f"started {count} executions waiting with a 1 s timeout in {time.perf_counter() - started:.1f} s")
    clock.advance(2)
    started = time.perf_counter()
    fired = 0
    while True:
        batch = scheduler.run_once()
        runner.drain()
        fired += batch
        if not batch:
            break
    took = time.perf_counter() - started
    print(f"fired {fired} due timeouts in {took:.2f} s ({fired / took:.0f}/s) -- target: all within 10 s")


def pending_timers(engine: Engine, scheduler: Scheduler, clock: ManualClock, count: int, path: Path | None) -> None:
    store = engine.store
    before_rss, before_db = rss_kib(), db_bytes(path) if path else 0
    far = clock.now() + dt.timedelta(days=30)
    started = time.perf_counter()
    for start in range(0, count, 5000):
        with store.atomic():
            for i in range(start, min(count, start + 5000)):
                store.insert_timer(Timer(id=str(uuid.uuid4()), due_at=far + dt.timedelta(seconds=i),
                                         kind="timeout", target_id=str(uuid.uuid4()), created_at=clock.now()))
    print(f"inserted {count} pending timers in {time.perf_counter() - started:.1f} s")
    rounds = 200
    started = time.perf_counter()
    for _ in range(rounds):
        scheduler.run_once()
        store.next_timer_due()
    per_round = (time.perf_counter() - started) / rounds * 1000
    grown = (rss_kib() - before_rss) / 1024
    print(f"one scheduler round with {store.count_timers()} pending: {per_round:.2f} ms "
          f"(claim + next due; an index look-up)")
    print(f"resident memory growth with {count} pending timers: {grown:.1f} MiB -- target: <= 10 MiB")
    if path:
        print(f"database growth: {(db_bytes(path) - before_db) / count:.0f} bytes per pending timer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temp dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = None if args.database_url else Path(tmp) / "timers.db"
        url = args.database_url or f"sqlite:///{path}"
        print(f"database {url}; nproc {os.cpu_count()}; load {os.getloadavg()[0]:.2f}")
        clock = ManualClock()
        engine, runner, scheduler = build(url, clock)
        if args.due:
            due_timeouts(engine, runner, scheduler, clock, args.due)
        if args.pending:
            pending_timers(engine, scheduler, clock, args.pending, path)


if __name__ == "__main__":
    main()
