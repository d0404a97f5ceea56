#!/usr/bin/env python3
"""What the metrics add to the hot paths, counted in machine instructions (deterministic).

N executions of a 10-task std.noop chain through the real engine over SQLite in one thread
(actions run inline, one event a transaction, wired as ``serve`` wires them: with metrics where
the code has them), then R ``GET /v2/executions/<id>`` through the Falcon app. Run it under
callgrind at two sizes and take the difference, so that start-up (imports, the schema) cancels:

    CG="valgrind --tool=callgrind --callgrind-out-file=/dev/null"
    $CG .venv/bin/python benchmarks/metrics_overhead.py 10 0      # prints "Collected : N"
    $CG .venv/bin/python benchmarks/metrics_overhead.py 40 0
    $CG .venv/bin/python benchmarks/metrics_overhead.py 10 300

instructions per transition = (Collected at 40 - at 10) / 300; per request = (at 10 300 - at
10 0) / 300. For the code before metrics, run the same from a ``git archive`` of that commit put
first on PYTHONPATH (the script finds out whether the code has metrics). Wall and CPU time on a
shared machine vary by ±20 % from run to run; instruction counts do not.
"""

from __future__ import annotations

import inspect
import sys
import tempfile
from typing import Any

from falcon.testing import TestClient
from mcbench.scenarios import chain_workflow

from mistral_core import bootstrap
from mistral_core.actions.registry import ActionRegistry
from mistral_core.auth.wiring import build_authenticators
from mistral_core.config import Settings
from mistral_core.executor import Executor
from mistral_core.notifiers.registry import NotifierRegistry
from mistral_core.persistence.sql import open_serving_store
from mistral_core.testing import InlineRunner


def main(executions: int, requests: int) -> None:
    settings = Settings(database_url=f"sqlite:///{tempfile.mkdtemp()}/overhead.db")
    store = open_serving_store(settings.database_url)
    registry, notifiers = ActionRegistry.from_entry_points(), NotifierRegistry.from_entry_points()
    auth = build_authenticators(settings, store)
    build_engine: Any = bootstrap.build_engine
    build_app: Any = bootstrap.build_app
    if "metrics" in inspect.signature(build_engine).parameters:
        from mistral_core.metrics.exposition import Metrics

        metrics = Metrics()
        engine = build_engine(settings, store, registry, None, notifiers, metrics)
        runner = InlineRunner(
            Executor(registry, settings.base_url, notifiers, on_run=metrics.instruments.action_run)
        )
        app, _ = build_app(settings, engine, auth, metrics)
    else:  # the code before metrics
        engine = build_engine(settings, store, registry, None, notifiers)
        runner = InlineRunner(Executor(registry, settings.base_url, notifiers))
        app, _ = build_app(settings, engine, auth)
    runner.engine = engine
    engine.attach_runner(runner)
    engine.definitions.create_workflows(chain_workflow("overhead", 10))
    ids = []
    for _ in range(executions):
        ids.append(engine.executions.start("overhead").id)
        runner.drain()
    client = TestClient(app, headers={"Host": "127.0.0.1:8989"})
    for i in range(requests):
        assert client.simulate_get(f"/v2/executions/{ids[i % executions]}").status_code == 200


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
