"""The metrics' parts on their own: bounded labels, counts of finished records, reads that fail,
the cache, and JSON log lines."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from mistral_core.errors import StoreUnavailable
from mistral_core.metrics.collectors import MAX_QUEUES, ActivityCollector, QueueCollector
from mistral_core.metrics.exposition import Metrics
from mistral_core.metrics.instruments import Instruments, MeteredHooks
from mistral_core.metrics.logs import JsonFormatter, log_context
from mistral_core.model import State
from mistral_core.model.activity import Activity


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render(None)[0].decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_odd_methods_and_unmatched_paths_keep_labels_bounded() -> None:
    metrics = Metrics()
    for method in ("GET", "BREW", "X" * 500):
        metrics.instruments.request_done(method, None, 404, 0.001)
    samples = _samples(metrics)
    count = "mistral_core_http_request_duration_seconds_count"
    assert samples[(count, (("method", "GET"), ("route", "unmatched"), ("status", "404")))] == 1
    assert samples[(count, (("method", "other"), ("route", "unmatched"), ("status", "404")))] == 2


class _Relay:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        self.calls.append(hook_name)


class _Record:
    def __init__(self, state: State) -> None:
        self.state = state


def test_finished_records_are_counted_and_every_hook_still_told() -> None:
    metrics, relay = Metrics(), _Relay()
    hooks = MeteredHooks(relay, metrics.instruments)
    hooks.notify("mistral_workflow_execution_started", wf_ex=_Record(State.RUNNING))
    hooks.notify("mistral_task_execution_completed", task_ex=_Record(State.ERROR))
    hooks.notify("mistral_action_execution_completed", action_ex=_Record(State.SUCCESS))
    hooks.notify("mistral_workflow_execution_completed", wf_ex=_Record(State.ERROR))
    rejected = _Record(State.SUCCESS)
    hooks.notify("mistral_action_result_rejected", action_ex=rejected, state="ERROR", reason="x")
    samples = _samples(metrics)
    finished = "mistral_core_executions_finished_total"
    assert samples[(finished, (("kind", "task"), ("state", "ERROR")))] == 1
    assert samples[(finished, (("kind", "action"), ("state", "SUCCESS")))] == 1
    assert samples[(finished, (("kind", "workflow"), ("state", "ERROR")))] == 1
    assert samples[("mistral_core_workflow_executions_started_total", ())] == 1
    assert len(relay.calls) == 5


class _Store:
    def __init__(self) -> None:
        self.reads = 0
        self.fail = False

    def activity(self, now: dt.datetime) -> Activity:
        self.reads += 1
        if self.fail:
            raise StoreUnavailable("the database is away")
        return Activity(workflows={"RUNNING": 2}, actions={("RUNNING", False): 3}, oldest_wait=now)


class _Clock:
    def now(self) -> dt.datetime:
        return dt.datetime(2026, 1, 1)


def test_the_store_is_read_once_per_cache_period_and_a_failed_read_is_reported() -> None:
    store = _Store()
    metrics = Metrics()
    metrics.add(ActivityCollector(store, _Clock(), ttl=3600))  # type: ignore[arg-type]  # a stand-in
    first, second = _samples(metrics), _samples(metrics)
    assert store.reads == 1 and first == second
    assert first[("mistral_core_workflow_executions", (("state", "RUNNING"),))] == 2
    assert first[("mistral_core_waits", ())] == 3
    failing = _Store()
    failing.fail = True
    broken = Metrics()
    broken.add(ActivityCollector(failing, _Clock(), ttl=0))  # type: ignore[arg-type]  # a stand-in
    samples = _samples(broken)
    assert samples[("mistral_core_store_up", ())] == 0
    assert ("mistral_core_waits", ()) not in samples


def test_at_most_the_deepest_queues_are_reported_and_a_broker_away_is_said() -> None:
    depths = {f"mistral.target.t{i}": i for i in range(200)}
    metrics = Metrics()
    metrics.add(QueueCollector(lambda: depths, "broker"))
    samples = _samples(metrics)
    reported = {dict(labels)["queue"] for name, labels in samples if name == "mistral_core_queue_depth"}
    assert len(reported) == MAX_QUEUES and "mistral.target.t199" in reported
    assert samples[("mistral_core_broker_up", ())] == 1

    def away() -> dict[str, int]:
        raise TimeoutError

    down = Metrics()
    down.add(QueueCollector(away, "broker"))
    assert _samples(down)[("mistral_core_broker_up", ())] == 0


def test_instruments_may_live_in_a_registry_of_their_own() -> None:
    registry = CollectorRegistry()
    Instruments(registry).result_pushed("accepted")
    assert registry.get_sample_value("mistral_core_result_pushes_total", {"outcome": "accepted"}) == 1


def _line(message: str, **extra: Any) -> dict[str, Any]:
    record = logging.LogRecord("mistral_core.x", logging.WARNING, __file__, 1, message, (), None)
    record.__dict__.update(extra)
    return dict(json.loads(JsonFormatter().format(record)))


def test_json_lines_carry_the_ids_of_their_context_and_nothing_else() -> None:
    assert set(_line("plain")) == {"time", "level", "logger", "message"}
    with log_context(execution_id="e1", task_id="t1"):
        with log_context(action_execution_id="a1", task_id=None):
            inner = _line("inner")
        outer = _line("outer")
    assert (inner["execution_id"], inner["task_id"], inner["action_execution_id"]) == ("e1", "t1", "a1")
    assert "action_execution_id" not in outer
    assert "execution_id" not in _line("after")
    assert _line("given", execution_id="e2")["execution_id"] == "e2"


def test_a_json_line_holds_the_traceback_and_stays_one_line() -> None:
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s", ("a\nb",), sys.exc_info())
    text = JsonFormatter().format(record)
    assert "\n" not in text
    line = json.loads(text)
    assert line["message"] == "failed a\nb" and "ValueError: boom" in line["exception"]


def test_lines_written_while_a_request_is_served_carry_the_ids_of_its_path() -> None:
    import falcon
    from falcon.testing import TestClient

    from mistral_core.api.metering import RequestLogIds

    lines: list[dict[str, Any]] = []

    class Logged:
        def on_get(self, req: falcon.Request, resp: falcon.Response, action_ex_id: str) -> None:
            record = logging.LogRecord("x", logging.INFO, __file__, 1, "served", (), None)
            lines.append(json.loads(JsonFormatter().format(record)))

    app = falcon.App(middleware=[RequestLogIds()])
    app.add_route("/v2/action_executions/{action_ex_id}", Logged())
    TestClient(app).simulate_get("/v2/action_executions/a-1")
    assert lines[0]["action_execution_id"] == "a-1" and "execution_id" not in lines[0]
    assert "action_execution_id" not in _line("after the request")
