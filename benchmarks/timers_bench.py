#!/usr/bin/env python3
"""Timers: how fast due timeouts fire, and what pending timers cost in memory and on disk.

Runs the real engine, store (SQLite file, or --database-url) and scheduler in this
process, without HTTP:

1. ``--due`` (default 10,000) executions of a workflow whose async task has
   ``timeout: 1``; the clock is then moved past the timeout, and the scheduler
   fires them all: time until the last one is applied (target: within 10 s).
2. ``--pending`` (default 100,000) timers pending far in the future, written into
   the database of a running ``mistral-core serve`` (started here): the growth of
   the SERVER's resident memory (target: <= 10 MiB; its scheduler keeps nothing per
   timer in memory), of the database file, and how long one scheduler round takes
   with all of them pending (an index look-up, not a scan).

    .venv/bin/python benchmarks/timers_bench.py [--due 10000] [--pending 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from mistral_core.actions.registry import ActionRegistry
from mistral_core.executor import Executor
from mistral_core.model import Timer
from mistral_core.persistence.sql import open_store
from mistral_core.scheduler import CronTab, Scheduler
from mistral_core.services.engine import Engine
from mistral_core.testing import InlineRunner, ManualClock

WORKFLOW = """
version: '2.0'
waiter:
  tasks:
    ask:
      action: std.async_noop
      timeout: 1
"""


def rss_kib(pid: int | str = "self") -> int:
    """A process's resident memory (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start_server(url: str, workdir: str) -> subprocess.Popen[bytes]:
    """``mistral-core serve`` on a free port over ``url``; returns once it answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        str(Path(sys.executable).with_name("mistral-core")),
        "serve",
        "--port",
        str(port),
        "--database-url",
        url,
        "--log-level",
        "WARNING",
    ]
    server = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2", timeout=1).read()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not start")


def db_bytes(path: Path) -> int:
    """The database file and its WAL."""
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def build(url: str, clock: ManualClock) -> tuple[Engine, InlineRunner, Scheduler]:
    store = open_store(url)
    store.upgrade()
    registry = ActionRegistry.from_entry_points()
    runner = InlineRunner(Executor(registry, "http://127.0.0.1:8989"))
    engine = Engine(store, registry, runner, clock=clock, cron=CronTab())
    runner.engine = engine
    return engine, runner, Scheduler(store, engine.timers, clock=clock, batch=500)


def due_timeouts(
    engine: Engine, runner: InlineRunner, scheduler: Scheduler, clock: ManualClock, count: int
) -> None:
    engine.definitions.create_workflows(WORKFLOW)
    started = time.perf_counter()
    for _ in range(count):
        engine.executions.start("waiter")
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


def pending_timers(url: str, workdir: str, count: int, path: Path | None) -> None:
    server = start_server(url, workdir)
    clock = ManualClock(dt.datetime.now(dt.UTC).replace(tzinfo=None))
    engine, _, scheduler = build(url, clock)
    store = engine.store
    time.sleep(3)
    before_rss, before_db = rss_kib(server.pid), db_bytes(path) if path else 0
    far = clock.now() + dt.timedelta(days=30)
    started = time.perf_counter()
    for start in range(0, count, 5000):
        with store.atomic():
            for i in range(start, min(count, start + 5000)):
                store.insert_timer(
                    Timer(
                        id=str(uuid.uuid4()),
                        due_at=far + dt.timedelta(seconds=i),
                        kind="timeout",
                        target_id=str(uuid.uuid4()),
                        created_at=clock.now(),
                    )
                )
    print(f"inserted {count} pending timers in {time.perf_counter() - started:.1f} s")
    rounds = 200
    started = time.perf_counter()
    for _ in range(rounds):
        scheduler.run_once()
        store.next_timer_due()
    per_round = (time.perf_counter() - started) / rounds * 1000
    time.sleep(3)  # several rounds of the server's own scheduler
    grown = (rss_kib(server.pid) - before_rss) / 1024
    print(
        f"one scheduler round with {store.count_timers()} pending: {per_round:.2f} ms "
        f"(claim + next due; an index look-up)"
    )
    print(
        f"server resident memory: {before_rss / 1024:.1f} MiB idle, +{grown:.1f} MiB with {count} pending "
        "timers -- target: <= 10 MiB"
    )
    if path:
        print(f"database growth: {(db_bytes(path) - before_db) / count:.0f} bytes per pending timer")
    server.send_signal(signal.SIGTERM)
    server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temp dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = None if args.database_url else Path(tmp) / "timers.db"
        url = args.database_url or f"sqlite:///{path}"
        print(f"database {url}; nproc {os.cpu_count()}; load {os.getloadavg()[0]:.2f}")
        if args.due:
            clock = ManualClock()
            engine, runner, scheduler = build(url, clock)
            due_timeouts(engine, runner, scheduler, clock, args.due)
        if args.pending:
            pending_path = Path(tmp) / "pending.db" if path else None
            pending_url = f"sqlite:///{pending_path}" if pending_path else url
            pending_timers(pending_url, tmp, args.pending, pending_path)


if __name__ == "__main__":
    main()
