#!/usr/bin/env python3
"""What an event trigger adds to starting an execution: CPU and wall time per message.

No broker and no HTTP: the engine over a fresh SQLite file (or PostgreSQL with ``--database-url``),
no runner (the first action is decided and committed, not run). Three runs of N each:

  start      engine.executions.start(...)             (what POST /v2/executions does)
  fire       engine.event_triggers.fire(...)          (a new message: record + start, one transaction)
  duplicate  the same N messages fired again         (found, nothing started)

    .venv/bin/python benchmarks/event_bench.py [-n 500] [--database-url postgresql://...]

CPU is this process's (time.process_time); PostgreSQL's own CPU is not counted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mistral_core.actions.registry import ActionRegistry
from mistral_core.model.event_triggers import read_notification
from mistral_core.persistence import open_store
from mistral_core.services.engine import Engine

WORKFLOW = """---
version: '2.0'
bench_wf:
  input: [x]
  tasks:
    t:
      action: std.noop
"""


def _measure(label: str, n: int, step: Callable[[int], object]) -> dict[str, Any]:
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(n):
        step(i)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    row = {"run": label, "n": n, "cpu_ms_per_msg": 1000 * cpu / n, "wall_ms_per_msg": 1000 * wall / n}
    print(
        f"{label:>10}: {row['cpu_ms_per_msg']:.2f} ms CPU, {row['wall_ms_per_msg']:.2f} ms wall per message"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        store.upgrade()
        engine = Engine(store, ActionRegistry.from_entry_points())
        (wf,) = engine.definitions.create_workflows(WORKFLOW)
        trigger = engine.event_triggers.create("b", wf.id, "bench", "notifications", "bench.event", {"x": 1})
        bodies = [
            json.dumps({"event_type": "bench.event", "message_id": f"m{i}", "payload": {"i": i}}).encode()
            for i in range(args.n)
        ]
        rows = [
            _measure("start", args.n, lambda i: engine.executions.start("bench_wf", wf_input={"x": i})),
            _measure(
                "fire", args.n, lambda i: engine.event_triggers.fire(trigger.id, read_notification(bodies[i]))
            ),
            _measure(
                "duplicate",
                args.n,
                lambda i: engine.event_triggers.fire(trigger.id, read_notification(bodies[i])),
            ),
        ]
        store.close()
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
