"""Metrics of the split deployment, scraped as Prometheus does: the API under gunicorn with 2
workers answers with the sums of both workers' counters (prometheus_client's multiprocess mode),
the engine and the executor serve theirs on ``--metrics-port``, and the broker's queue depths
are read; counters move as executions run and results are pushed."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.conftest import pg_url  # noqa: F401  (a fixture, used by name)
from tests.integration.metrics_support import delta, names, scrape, total, value
from tests.integration.support import HOST, free_port
from tests.split import broker
from tests.split.test_split_deployment import Deployment, _processes

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

RUNS = 6
WORKFLOWS = """\
---
version: '2.0'
pushed:
  tasks:
    w:
      action: std.async_noop
      on-success: after
    after:
      action: std.echo output=done
"""


@pytest.fixture
def amqp_url() -> Iterator[str]:
    with broker.vhost() as url:
        yield url


def test_the_api_workers_engine_and_executor_expose_their_metrics(
    tmp_path: Path,
    pg_url: str,  # noqa: F811  (the fixture imported above)
    amqp_url: str,
) -> None:
    engine_port, executor_port = free_port(), free_port()
    with _processes(tmp_path) as processes:
        deployment = Deployment(processes, pg_url, amqp_url)
        engine = deployment.spawn("engine", "engine", "--metrics-port", str(engine_port))
        executor = deployment.spawn("executor", "executor", "--metrics-port", str(executor_port))
        api_process = deployment.spawn("api", "api", "--port", str(deployment.port), "--workers", "2")
        api_process.wait_port(deployment.port)
        engine.wait_port(engine_port)
        executor.wait_port(executor_port)
        api, api_url = deployment.api, f"http://{HOST}:{deployment.port}/metrics"
        before = scrape(api_url)
        api.create_workflows(WORKFLOWS)
        executions = [api.start("pushed")["id"] for _ in range(RUNS)]
        for ex_id in executions:
            action = api.wait_running_action(ex_id, "w")
            assert api.push(action["id"], {"state": "SUCCESS", "output": 1}).status == 200
        assert all(api.wait_finished(ex_id)["state"] == "SUCCESS" for ex_id in executions)
        scrapes = [scrape(api_url) for _ in range(6)]  # new connections: both workers answer some
        engine_side = scrape(f"http://{HOST}:{engine_port}/metrics")
        executor_side = scrape(f"http://{HOST}:{executor_port}/metrics")
    starts = {"method": "POST", "route": "/v2/executions", "status": "201"}
    requests = "mistral_core_http_request_duration_seconds_count"
    for after in scrapes:  # whichever worker answered: the sums of both
        assert delta(after, before, requests, **starts) == RUNS
        assert delta(after, before, "mistral_core_result_pushes_total", outcome="accepted") == RUNS
        assert delta(after, before, "mistral_core_workflow_executions_started_total") == RUNS
        assert value(after, "mistral_core_broker_up") == 1
        assert value(after, "mistral_core_store_up") == 1
    # Each scrape counts the ones before it, whichever worker answered them: one count, not two.
    scraped = [total(after, requests, route="/metrics") for after in scrapes]
    assert [b - a for a, b in itertools.pairwise(scraped)] == [1] * (len(scrapes) - 1)
    assert {"mistral_core_queue_depth", "mistral_core_waits"} <= names(scrapes[-1])
    assert total(scrapes[-1], "mistral_core_queue_depth", source="broker") >= 0
    # The pushes finished the waits in the API's workers; the echoes' results, in the engine.
    finished = "mistral_core_executions_finished_total"
    workflows = total(scrapes[-1], finished, kind="workflow", state="SUCCESS")
    assert workflows + total(engine_side, finished, kind="workflow", state="SUCCESS") == RUNS
    assert total(engine_side, "mistral_core_engine_transaction_duration_seconds_count") >= 1  # batched
    assert value(engine_side, "mistral_core_broker_up") == 1
    ran = "mistral_core_action_run_duration_seconds_count"
    assert value(executor_side, ran, outcome="handed-off") == RUNS
    assert value(executor_side, ran, outcome="SUCCESS") == RUNS
