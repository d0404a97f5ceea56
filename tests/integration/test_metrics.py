"""``GET /metrics`` of a real ``mistral-core serve``, scraped and parsed as Prometheus does: the
counters move when executions run and results are pushed, the gauges show a wait while it waits,
the endpoint obeys authentication; and JSON log lines carry the ids of what they are about."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.metrics_support import delta, names, scrape, total, value
from tests.integration.support import Api, ProcessGroup, ServerProcess, create_key, wait_until

pytestmark = pytest.mark.integration

WORKFLOWS = """\
---
version: '2.0'
metered_wait:
  tasks:
    w:
      action: std.async_noop
      on-success: after
    after:
      action: std.echo output=done
metered_fail:
  tasks:
    boom:
      action: std.fail
"""


@pytest.fixture(scope="module")
def metered(api: Api) -> Api:
    api.create_workflows(WORKFLOWS)
    return api


def test_counters_move_when_executions_run_and_results_are_pushed(
    server: ServerProcess, metered: Api
) -> None:
    url = server.base_url + "/metrics"
    before = scrape(url)
    ex_id = metered.start("metered_wait")["id"]
    action = metered.wait_running_action(ex_id, "w")

    def showing_the_wait() -> dict[Any, float] | None:  # the store's activity is cached for 5 s
        samples = scrape(url)
        return samples if value(samples, "mistral_core_waits") >= 1 else None

    waiting = wait_until(showing_the_wait, "the wait in the gauges")
    assert value(waiting, "mistral_core_action_executions", state="RUNNING", mode="async") >= 1
    assert value(waiting, "mistral_core_oldest_wait_age_seconds") >= 0
    assert value(waiting, "mistral_core_workflow_executions", state="RUNNING") >= 1
    assert metered.push(action["id"], {"state": "SUCCESS", "output": 1}).status == 200
    assert metered.push(action["id"], {"state": "SUCCESS", "output": 1}).status == 200
    assert metered.push(action["id"], {"state": "ERROR", "output": 2}).status == 409
    assert metered.push(str(uuid.uuid4()), {"state": "SUCCESS", "output": 1}).status == 404
    assert metered.wait_finished(ex_id)["state"] == "SUCCESS"
    after = scrape(url)
    pushes = "mistral_core_result_pushes_total"
    outcomes = ("accepted", "repeated", "rejected", "unknown")
    assert [delta(after, before, pushes, outcome=o) for o in outcomes] == [1, 1, 1, 1]
    assert delta(after, before, "mistral_core_workflow_executions_started_total") == 1
    finished = "mistral_core_executions_finished_total"
    assert delta(after, before, finished, kind="workflow", state="SUCCESS") == 1
    assert delta(after, before, finished, kind="task", state="SUCCESS") == 2
    assert delta(after, before, finished, kind="action", state="SUCCESS") == 2
    put = {"method": "PUT", "route": "/v2/action_executions/{action_ex_id}"}
    requests = "mistral_core_http_request_duration_seconds_count"
    assert delta(after, before, requests, **put, status="200") == 2
    assert delta(after, before, requests, **put, status="409") == 1
    assert delta(after, before, requests, **put, status="404") == 1
    transactions = "mistral_core_engine_transaction_duration_seconds_count"
    assert delta(after, before, transactions) >= 3  # the start, the push, the echo's result
    ran = "mistral_core_action_run_duration_seconds_count"
    assert delta(after, before, ran, outcome="handed-off") == 1
    assert delta(after, before, ran, outcome="SUCCESS") == 1
    assert {"mistral_core_queue_depth", "mistral_core_timers_due", "mistral_core_store_up"} <= names(after)
    assert value(after, "mistral_core_queue_depth", source="local", queue="events") >= 0


def test_labels_are_bounded_no_ids_and_odd_methods_counted_as_other(
    server: ServerProcess, metered: Api
) -> None:
    for _ in range(3):
        metered.call("GET", f"/v2/executions/{uuid.uuid4()}")
        metered.call("GET", f"/nowhere/{uuid.uuid4()}")
    metered.call("BREW", "/v2/executions")
    samples = scrape(server.base_url + "/metrics")
    routes = {dict(labels).get("route") for _, labels in samples}
    assert "/v2/executions/{ex_id}" in routes and "unmatched" in routes
    assert not [route for route in routes if route and route.count("-") >= 4]  # no UUID in a label
    methods = {dict(labels).get("method") for _, labels in samples} - {None}
    assert "BREW" not in methods and "other" in methods


def test_metrics_need_a_reader_when_authentication_is_on(tmp_path: Path, processes: ProcessGroup) -> None:
    database = tmp_path / "auth.db"
    server = processes.server(database, options=["--auth", "keys"])
    reader = create_key(f"sqlite:///{database}", "prometheus", "reader", tmp_path)
    anonymous = server.api.call("GET", "/metrics")
    assert anonymous.status == 401, anonymous
    assert "\n" not in anonymous.json()["faultstring"]
    assert total(scrape(server.base_url + "/metrics", token=reader), "mistral_core_store_up") == 1


def test_json_log_lines_carry_the_ids_of_what_they_are_about(tmp_path: Path, processes: ProcessGroup) -> None:
    server = processes.server(tmp_path / "logs.db", options=["--log-format", "json"])
    server.api.create_workflows(WORKFLOWS)
    ex_id = server.api.start("metered_fail")["id"]
    assert server.api.wait_finished(ex_id)["state"] == "ERROR"
    task = server.api.task(ex_id, "boom")
    action_id = server.api.action_executions(task["id"])[0]["id"]
    lines = [line for line in server.log().splitlines() if line.startswith("{")]
    assert lines, server.log()
    parsed = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in parsed)
    raised = [entry for entry in parsed if "raised" in entry["message"]]
    assert raised, parsed
    assert raised[0]["execution_id"] == ex_id
    assert raised[0]["task_id"] == task["id"]
    assert raised[0]["action_execution_id"] == action_id
    assert "Traceback" in raised[0]["exception"]
