"""An executor takes no more commands than its threads can start soon (transport/intake.py).

Commands travel in bundles, and the broker hands an executor several messages ahead, so without a
bound one executor would hold a burst of slow actions while another one idles. Here executor a
(2 threads) is alone when 16 one-second actions are decided; executor b starts once a runs two of
them. Both must have run some: what a could not start soon went back to the queue.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from pathlib import Path

import psycopg2

from tests.contract.conftest import pg_url  # noqa: F401  (a fixture, used by name)
from tests.integration.support import wait_until
from tests.split.test_split_deployment import READY, Deployment, _processes, amqp_url  # noqa: F401

SLEEPS = """\
---
version: '2.0'
sleeps:
  input: [items]
  tasks:
    t:
      with-items: i in <% $.items %>
      action: std.sleep seconds=1
      target: slow
"""


def _runners(database_url: str) -> Counter[str]:
    """The executors that claimed action executions, and how many each (targeted ones are claimed)."""
    with contextlib.closing(psycopg2.connect(database_url)) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT runner_id FROM action_executions WHERE runner_id LIKE 'executor:%'")
        return Counter(row[0] for row in cursor.fetchall())


def test_a_burst_of_slow_actions_is_shared_by_an_executor_that_starts_later(
    tmp_path: Path,
    pg_url: str,  # noqa: F811  (the fixture imported above)
    amqp_url: str,  # noqa: F811  (the fixture imported above)
) -> None:
    with _processes(tmp_path) as processes:
        deployment = Deployment(processes, pg_url, amqp_url)
        deployment.spawn("engine", "engine")
        only = ("--target", "slow", "--targets-only", "--threads", "2")
        deployment.spawn("executor a", "executor", *only)
        api_process = deployment.spawn("api", "api", "--port", str(deployment.port), "--workers", "1")
        deployment.wait_api(api_process)
        api = deployment.api
        api.create_workflows(SLEEPS)
        execution = api.start("sleeps", {"items": list(range(16))})["id"]
        wait_until(lambda: sum(_runners(pg_url).values()) >= 2, "executor a running two", timeout=READY)
        deployment.spawn("executor b", "executor", *only)
        assert api.wait_finished(execution)["state"] == "SUCCESS"
        runners = _runners(pg_url)
        assert sum(runners.values()) == 16
        assert len(runners) == 2, f"one executor ran them all: {runners}"
