#!/usr/bin/env python3
"""The execution report: what one ``GET /v2/executions/<id>/report`` costs, and what refusing one costs.

Writes executions straight into a store (SQLite file, or --database-url), then builds their reports
through the API's WSGI app (falcon's test client: no socket), and prints for each the CPU time of the
request (median of --repeat), its SQL statements (counted by a peewee hook), and the answer's size:

1. ``--tasks`` (default 5,000) tasks with one action execution each: 10,001 entries, just over the
   default cap (``report_max_entries``, 10,000), so the first is the cost of a refusal; then the
   same with ``statistics_only`` (no action executions read: 5,001 entries) and ``errors_only``;
2. a chain of ``--levels`` (default 40) nested sub-workflows of ``--tasks // 40`` tasks each;
3. ``--wide`` (default 3,000) sub-workflows of one task each, all started by the root's one task.

    .venv/bin/python benchmarks/report_bench.py [--tasks 5000] [--levels 40] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import falcon.testing

from mistral_core.actions.registry import ActionRegistry
from mistral_core.api import create_app
from mistral_core.model import ActionExecution, State, TaskExecution, WorkflowExecution
from mistral_core.persistence.sql import open_store
from mistral_core.services.engine import Engine

NOW = dt.datetime(2026, 12, 6, 12, 0, 0)


def execution(store: Any, parent_task: str | None, root: str | None, name: str) -> str:
    wf_ex_id = str(uuid.uuid4())
    store.insert(
        WorkflowExecution(
            id=wf_ex_id,
            workflow_id="wf",
            workflow_name=name,
            spec_checksum="x",
            state=State.SUCCESS,
            task_execution_id=parent_task,
            root_execution_id=root,
            created_at=NOW,
        )
    )
    return wf_ex_id


def tasks(store: Any, wf_ex_id: str, count: int, with_actions: bool = True) -> None:
    with store.atomic():
        for n in range(count):
            task_ex_id = str(uuid.uuid4())
            state = State.ERROR if n % 100 == 0 else State.SUCCESS
            store.insert(
                TaskExecution(
                    id=task_ex_id,
                    workflow_execution_id=wf_ex_id,
                    name=f"t{n}",
                    state=state,
                    workflow_name="w",
                    workflow_id="wf",
                    created_at=NOW,
                )
            )
            if with_actions:
                store.insert(
                    ActionExecution(
                        id=str(uuid.uuid4()),
                        name="std.noop",
                        state=state,
                        task_execution_id=task_ex_id,
                        workflow_execution_id=wf_ex_id,
                        created_at=NOW,
                    )
                )


def wide(store: Any, count: int) -> str:
    root = execution(store, None, None, "wide")
    call = str(uuid.uuid4())
    store.insert(
        TaskExecution(
            id=call,
            workflow_execution_id=root,
            name="each",
            state=State.SUCCESS,
            workflow_name="w",
            workflow_id="wf",
        )
    )
    with store.atomic():
        for _ in range(count):
            tasks(store, execution(store, call, root, "child"), 1, with_actions=False)
    return root


def chain(store: Any, levels: int, per_level: int) -> str:
    root = execution(store, None, None, "level0")
    current = root
    for level in range(1, levels + 1):
        tasks(store, current, per_level - 1, with_actions=False)
        call = str(uuid.uuid4())
        store.insert(
            TaskExecution(
                id=call,
                workflow_execution_id=current,
                name="call",
                type="WORKFLOW",
                state=State.SUCCESS,
                workflow_name="w",
                workflow_id="wf",
                created_at=NOW,
            )
        )
        current = execution(store, call, root, f"level{level}")
    tasks(store, current, per_level, with_actions=False)
    return root


class Statements:
    """Counts the SQL statements SQLite runs on this thread's connection (its trace callback; on
    PostgreSQL nothing is counted)."""

    def __init__(self, store: Any) -> None:
        self.count = 0
        connection = store._db.connection()  # the benchmark's own instrument, not the product's API
        if hasattr(connection, "set_trace_callback"):
            connection.set_trace_callback(self._count)

    def _count(self, statement: str) -> None:
        self.count += 1


def measure(
    client: falcon.testing.TestClient, statements: Statements, path: str, repeat: int
) -> dict[str, Any]:
    cpu: list[float] = []
    for _ in range(repeat):
        before_count = statements.count
        started = time.process_time()
        answer = client.simulate_get(path)
        cpu.append(time.process_time() - started)
        used = statements.count - before_count
    return {
        "status": answer.status_code,
        "cpu_ms": 1000 * statistics.median(cpu),
        "sql": used,
        "kib": len(answer.content) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--levels", type=int, default=40)
    parser.add_argument("--wide", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = args.database_url or f"sqlite:///{Path(directory) / 'report.db'}"
        store = open_store(url)
        store.upgrade()
        engine = Engine(store, ActionRegistry.from_classes({}))
        client = falcon.testing.TestClient(create_app(engine, public_url="http://127.0.0.1:8989"))
        flat = execution(store, None, None, "flat")
        tasks(store, flat, args.tasks)
        deep = chain(store, args.levels, max(1, args.tasks // args.levels))
        broad = wide(store, args.wide)
        statements = Statements(store)
        report = f"/v2/executions/{flat}/report"
        cases = {
            f"{args.tasks} tasks + their actions": f"/v2/executions/{flat}/report",
            "  statistics_only": f"/v2/executions/{flat}/report?statistics_only=true",
            "  errors_only": f"/v2/executions/{flat}/report?errors_only=true",
            "  max_depth=0, statistics_only": f"{report}?statistics_only=true&max_depth=0",
            f"{args.levels} nested sub-workflows": f"/v2/executions/{deep}/report",
            "  max_depth=5": f"/v2/executions/{deep}/report?max_depth=5",
            f"{args.wide} sub-workflows of one task": f"/v2/executions/{broad}/report",
        }
        print(f"{'report':40} {'status':>6} {'CPU ms':>8} {'SQL':>5} {'KiB':>8}")
        for name, path in cases.items():
            row = measure(client, statements, path, args.repeat)
            print(f"{name:40} {row['status']:>6} {row['cpu_ms']:>8.1f} {row['sql']:>5} {row['kib']:>8.1f}")
        store.close()


if __name__ == "__main__":
    main()
